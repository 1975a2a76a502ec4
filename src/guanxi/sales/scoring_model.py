"""The win-probability model behind sales/scoring.py, in pure Python (no database).

Naive Bayes over categorical features with additive (Laplace) smoothing, on top of a
per-team prior (the team's win rate shrunk toward the global rate by a pseudo-count),
optionally calibrated: a small L2-regularised logistic regression on out-of-fold
naive-Bayes terms fits one weight per term and an intercept, pulled toward the plain
model (all weights 1). The calibration is kept only when, fitted on the older 80 % of
the training set, it beats plain naive Bayes on the newest 20 %.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.parties.models import SourceChannel

DEAL_FEATURES = ["stage", "source", "industry", "region", "tier", "product_line"]
LEAD_FEATURES = ["source", "industry", "region", "product_line"]
ALPHA = 1.0  # additive smoothing
TEAM_PSEUDO = 20.0  # pseudo-count pulling a team's win rate toward the global rate
L2 = 2.0  # pull of the calibration weights toward the plain model
FOLDS = 5
HOLDOUT = 0.2
EPS = 1e-4

FEATURE_LABELS = {
    "stage": gettext_lazy("Stage"),
    "source": gettext_lazy("Source"),
    "industry": gettext_lazy("Industry"),
    "region": gettext_lazy("Region"),
    "tier": gettext_lazy("Tier"),
    "product_line": gettext_lazy("Product line"),
    "team": gettext_lazy("Team"),
}


@dataclass
class Example:
    """One deal (or lead): its feature values (None = unknown), team, outcome, the
    baseline probability and when it closed (for the time-based split)."""

    features: dict[str, str | None]
    team: str | None = None
    won: bool = False
    baseline: float = 0.5
    closed: dt.date | None = None
    deal: int | None = None  # the deal several stage examples come from


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def log_loss(probs: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Mean negative log-likelihood (natural log), probabilities clipped to [ε, 1-ε]."""
    if not probs:
        return float("nan")
    total = 0.0
    for p, y in zip(probs, outcomes, strict=True):
        p = min(max(p, EPS), 1 - EPS)
        total -= math.log(p if y else 1 - p)
    return total / len(probs)


@dataclass
class NaiveBayes:
    """Naive Bayes with additive smoothing, a per-team prior and optional weights."""

    features: list[str]
    alpha: float = ALPHA
    team_pseudo: float = TEAM_PSEUDO
    won: int = 0
    lost: int = 0
    teams: dict[str, list[int]] = field(default_factory=dict)  # team → [wins, total]
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # f → v → [w, l]
    weights: dict[str, float] = field(default_factory=dict)  # "prior" and each feature
    bias: float = 0.0
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # names for reasons
    _llr: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    # fitting ------------------------------------------------------------------------

    def fit(self, examples: Iterable[Example]) -> NaiveBayes:
        self.won = self.lost = 0
        self.teams, self.counts = {}, {f: {} for f in self.features}
        for ex in examples:
            self.won += ex.won
            self.lost += not ex.won
            if ex.team is not None:
                t = self.teams.setdefault(ex.team, [0, 0])
                t[0] += ex.won
                t[1] += 1
            for f in self.features:
                v = ex.features.get(f)
                if v not in (None, ""):
                    c = self.counts[f].setdefault(str(v), [0, 0])
                    c[0 if ex.won else 1] += 1
        self._llr = {}
        return self

    @property
    def n(self) -> int:
        return self.won + self.lost

    @property
    def global_rate(self) -> float:
        return (self.won + 1) / (self.n + 2)  # a smoothed rate: never exactly 0 or 1

    def team_rate(self, team: str | None) -> float:
        g = self.global_rate
        if team is None or team not in self.teams:
            return g
        wins, total = self.teams[team]
        return (wins + self.team_pseudo * g) / (total + self.team_pseudo)

    def llr(self, feature: str, value: str | None) -> float:
        """log P(value | won) − log P(value | lost); 0 for empty or unseen values."""
        if value in (None, ""):
            return 0.0
        table = self._llr.get(feature)
        if table is None:
            table = self._llr[feature] = self._llr_table(feature)
        return table.get(str(value), 0.0)

    def _llr_table(self, feature: str) -> dict[str, float]:
        values = self.counts.get(feature, {})
        k = len(values) + 1  # one slot for values never seen
        dw, dl = self.won + self.alpha * k, self.lost + self.alpha * k
        return {v: math.log((w + self.alpha) / dw) - math.log((lo + self.alpha) / dl)
                for v, (w, lo) in values.items()}

    def terms(self, ex: Example) -> dict[str, float]:
        """The unweighted log-odds terms: "prior" and one per feature."""
        out = {"prior": _logit(self.team_rate(ex.team))}
        for f in self.features:
            out[f] = self.llr(f, ex.features.get(f))
        return out

    def log_odds(self, ex: Example) -> float:
        terms = self.terms(ex)
        return self.bias + sum(self.weights.get(k, 1.0) * v for k, v in terms.items())

    def predict(self, ex: Example) -> float:
        return _sigmoid(self.log_odds(ex))

    # calibration --------------------------------------------------------------------

    def calibrate(self, examples: Sequence[Example], folds: int = FOLDS,
                  l2: float | None = None) -> None:
        """Fit the weights and bias on out-of-fold terms (each example's terms come from
        a model that did not see it), regularised toward the plain model."""
        if len(examples) < 2 * folds:
            return
        rows: list[list[float]] = []
        keys = ["prior", *self.features]
        for k in range(folds):
            part = NaiveBayes(self.features, self.alpha, self.team_pseudo).fit(
                ex for i, ex in enumerate(examples) if i % folds != k)
            for i in range(k, len(examples), folds):
                t = part.terms(examples[i])
                rows.append([t[key] for key in keys])
        ys = [float(examples[i].won) for k in range(folds)
              for i in range(k, len(examples), folds)]
        theta = _fit_logistic(rows, ys, prior=[1.0] * len(keys), l2=L2 if l2 is None else l2)
        self.bias = theta[0]
        self.weights = dict(zip(keys, theta[1:], strict=True))

    # persistence --------------------------------------------------------------------

    def to_params(self) -> dict[str, Any]:
        return {"version": 1, "features": self.features, "alpha": self.alpha,
                "team_pseudo": self.team_pseudo, "won": self.won, "lost": self.lost,
                "teams": self.teams, "counts": self.counts, "weights": self.weights,
                "bias": self.bias, "labels": self.labels}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> NaiveBayes:
        return cls(features=list(params.get("features", DEAL_FEATURES)),
                   alpha=float(params.get("alpha", ALPHA)),
                   team_pseudo=float(params.get("team_pseudo", TEAM_PSEUDO)),
                   won=int(params.get("won", 0)), lost=int(params.get("lost", 0)),
                   teams=params.get("teams", {}), counts=params.get("counts", {}),
                   weights=params.get("weights", {}), bias=float(params.get("bias", 0.0)),
                   labels=params.get("labels", {}))


def _fit_logistic(rows: list[list[float]], ys: list[float], *, prior: list[float],
                  l2: float, iterations: int = 25) -> list[float]:
    """Newton's method for logistic regression with an intercept and a penalty
    l2 · Σ (w − prior)² on the weights (the intercept is pulled toward 0)."""
    d = len(prior) + 1
    target = [0.0, *prior]
    theta = list(target)
    for _i in range(iterations):
        grad = [l2 * (theta[j] - target[j]) for j in range(d)]
        hess = [[l2 if i == j else 0.0 for j in range(d)] for i in range(d)]
        for row, y in zip(rows, ys, strict=True):
            x = [1.0, *row]
            p = _sigmoid(sum(a * b for a, b in zip(theta, x, strict=True)))
            g, h = p - y, p * (1 - p)
            for i in range(d):
                grad[i] += g * x[i]
                hi = hess[i]
                for j in range(i, d):
                    hi[j] += h * x[i] * x[j]
        for i in range(d):
            for j in range(i):
                hess[i][j] = hess[j][i]
        step = _solve(hess, grad)
        theta = [t - s for t, s in zip(theta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-7:
            break
    return theta


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a·x = b by Gaussian elimination with partial pivoting (a is small)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-12:
            continue
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def fit(examples: Sequence[Example], features: list[str], *, calibrated: bool = True) -> NaiveBayes:
    """Naive Bayes on `examples` (time-ordered), calibrated when that helps: the
    calibration is kept only if, fitted on the older 80 %, it beats plain naive Bayes
    on the newest 20 % — so the model is never worse than plain naive Bayes there."""
    model = NaiveBayes(list(features)).fit(examples)
    if calibrated and _calibration_helps(examples, features):
        model.calibrate(examples)
    return model


def _calibration_helps(examples: Sequence[Example], features: list[str]) -> bool:
    cut = int(len(examples) * (1 - HOLDOUT))
    inner, check = examples[:cut], examples[cut:]
    if len(inner) < 10 * FOLDS or len(check) < 20:
        return False
    plain = NaiveBayes(list(features)).fit(inner)
    tuned = NaiveBayes(list(features)).fit(inner)
    tuned.calibrate(inner)
    ys = [e.won for e in check]
    return (log_loss([tuned.predict(e) for e in check], ys)
            < log_loss([plain.predict(e) for e in check], ys))


def evaluate(examples: Sequence[Example], features: list[str],
             holdout: float = HOLDOUT) -> dict[str, Any]:
    """Time-based split (oldest 1 − holdout to train, newest to test): log-loss of the
    calibrated model, of plain naive Bayes and of the stage-probability baseline."""
    ordered = sorted(examples, key=lambda e: (e.closed or dt.date.min))
    cut = int(len(ordered) * (1 - holdout))
    train_set, test_set = ordered[:cut], ordered[cut:]
    if not train_set or not test_set:
        return {"held_out": 0}
    ys = [e.won for e in test_set]
    model = fit(train_set, features)
    plain = NaiveBayes(list(features)).fit(train_set)
    return {
        "held_out": len(test_set),
        "trained_on": len(train_set),
        "log_loss": round(log_loss([model.predict(e) for e in test_set], ys), 4),
        "log_loss_plain_nb": round(log_loss([plain.predict(e) for e in test_set], ys), 4),
        "log_loss_baseline": round(log_loss([e.baseline for e in test_set], ys), 4),
    }


# --- Reasons ----------------------------------------------------------------------------


def reasons_for(model: NaiveBayes, ex: Example, limit: int = 3,
                min_factor: float = 1.1) -> list[dict[str, Any]]:
    """The features that move the odds most away from the global prior, as dicts
    {feature, value, name, factor, text}; `factor` is the odds ratio (>1 helps)."""
    terms = model.terms(ex)
    moves: list[tuple[str, str | None, float]] = []
    team_move = model.weights.get("prior", 1.0) * (terms["prior"] - _logit(model.global_rate))
    if ex.team is not None:
        moves.append(("team", ex.team, team_move))
    for f in model.features:
        moves.append((f, ex.features.get(f), model.weights.get(f, 1.0) * terms[f]))
    moves = [m for m in moves if m[1] not in (None, "") and abs(m[2]) >= math.log(min_factor)]
    moves.sort(key=lambda m: -abs(m[2]))
    out = []
    for feature, value, move in moves[:limit]:
        reason = {"feature": feature, "value": str(value),
                  "name": model.labels.get(feature, {}).get(str(value), ""),
                  "factor": round(math.exp(move), 2)}
        reason["text"] = reason_text(reason)
        out.append(reason)
    return out


def _value_label(feature: str, value: str, name: str) -> str:
    if feature == "source":
        return str(dict(SourceChannel.choices).get(value, name or value))
    return name or value


def reason_text(reason: dict[str, Any]) -> str:
    """One reason as a sentence in the active language."""
    feature = str(reason.get("feature", ""))
    params = {"feature": FEATURE_LABELS.get(feature, feature),
              "value": _value_label(feature, str(reason.get("value", "")),
                                    str(reason.get("name", "")))}
    factor = float(reason.get("factor") or 1.0)
    if factor >= 1:
        params["ratio"] = f"{factor:.1f}"
        return _("%(feature)s “%(value)s”: wins %(ratio)s× as often") % params
    params["ratio"] = f"{1 / max(factor, 1e-6):.1f}"
    return _("%(feature)s “%(value)s”: wins %(ratio)s× less often") % params


def reason_texts(reasons: Iterable[dict[str, Any]] | None) -> list[str]:
    """Stored score_reasons as sentences in the active language (for templates, API)."""
    return [reason_text(r) for r in reasons or [] if isinstance(r, dict)]
