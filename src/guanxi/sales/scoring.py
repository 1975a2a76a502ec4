"""Win-probability scoring learned from the company's own closed deals.

The model
---------
A naive-Bayes model over categorical features of a deal — the furthest stage reached,
source channel, industry, region, customer tier and product line — with additive
(Laplace) smoothing, on top of a **per-team prior**: the team's own win rate shrunk
toward the global win rate with a pseudo-count. In log-odds:

    log-odds = b + w_prior · logit(team prior) + Σ_f w_f · log(P(v_f | won) / P(v_f | lost))

Plain naive Bayes is b = 0 and every w = 1. The weights (and b) are then fitted by a
small L2-regularised logistic regression (pulled toward the plain model) on
out-of-fold naive-Bayes terms; this corrects the double counting of correlated
features. An empty or never-seen value adds nothing (the score is the prior).

Training uses every open stage a closed deal passed through (from its StageChange
history), one example each, labelled with the deal's outcome; scoring an open deal
uses its current stage. The metrics of
a trained model are measured on a time-based hold-out (the most recently closed
20 %): log-loss of the model, of plain naive Bayes, and of the baseline that reads
the stage's probability (Stage.probability / 100).

Leads
-----
A lead model uses source, industry, region and product line, with the team prior of
the lead's team; its target is "the lead became a deal that was won" (finished
leads: converted with the deal won or lost, or unqualified). While there are too few
finished leads for a lead model, leads are scored by the deal model on those four
features (no stage), i.e. "how often deals like this are won".

Hand overrides (Opportunity.probability, Lead.score_override) are never touched here.

The model itself (pure Python) is in scoring_model.py; this module reads the
database, trains, stores and scores.

Public API (other modules call these)
-------------------------------------
- `score(opportunity) -> (p: float, reasons: list[dict])`
- `score_lead(lead) -> (p: float | None, reasons: list[dict])`
- `reason_texts(reasons) -> list[str]` — the reasons as sentences in the active language
- `train(kind="deal", *, now=None) -> ScoringModel` (inactive unless enough history)
- `retrain(*, now=None) -> dict` — train both, activate, rescore open deals and leads
- `start_retrain(*, actor=None) -> Job` — the background job (`retrain_job`)
- `active_model(kind) -> ScoringModel | None`
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.accounts.models import Team, TeamKind
from guanxi.core.jobs import job_body, job_progress, start_job
from guanxi.core.models import Job
from guanxi.parties.models import Industry

from .models import (
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    ProductLine,
    ScoringModel,
    Stage,
    StageChange,
    StageKind,
)
from .scoring_model import (  # noqa: F401  (re-exported: the public API of scoring)
    DEAL_FEATURES,
    EPS,
    FOLDS,
    HOLDOUT,
    LEAD_FEATURES,
    Example,
    NaiveBayes,
    evaluate,
    fit,
    log_loss,
    reason_text,
    reason_texts,
    reasons_for,
)

MIN_CLOSED = 30  # fewer closed deals (finished leads) than this: the model stays inactive
BATCH_SIZE = 500
RETRAIN = "scoring_retrain"


# --- Features from the database ----------------------------------------------------------


def region_map() -> dict[int, int]:
    """team id → the id of the region team at or above it (teams without one are left out)."""
    teams = {pk: (kind, path) for pk, kind, path in Team.objects.values_list("id", "kind", "path")}
    out: dict[int, int] = {}
    for pk, (_kind, path) in teams.items():
        for anc in reversed([int(x) for x in path.strip("/").split("/") if x]):
            if teams.get(anc, ("", ""))[0] == TeamKind.REGION:
                out[pk] = anc
                break
    return out


def _s(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


DEAL_VALUES = ["id", "stage_id", "pipeline_id", "source", "customer__industry_id",
               "customer__tier", "team_id", "product_line_id", "status", "closed_on",
               "stage__probability"]


def _deal_example(row: dict[str, Any], regions: dict[int, int], stage: int | None,
                  baseline: float) -> Example:
    team = row["team_id"]
    return Example(
        features={"stage": _s(stage), "source": _s(row["source"]),
                  "industry": _s(row["customer__industry_id"]),
                  "region": _s(regions.get(team)) if team else None,
                  "tier": _s(row["customer__tier"]), "product_line": _s(row["product_line_id"])},
        team=_s(team), won=row["status"] == OpportunityStatus.WON, baseline=baseline,
        closed=row.get("closed_on"), deal=row.get("id"))


def closed_deal_examples() -> list[Example]:
    """One example per open stage each closed deal (not in the recycle bin) passed
    through, labelled with how the deal ended: "a deal at this stage, with these
    features, was won or lost". That is what scoring an open deal at its current stage
    asks. (Training on the furthest stage reached alone would leak the outcome: lost
    deals stop early, so an open deal in an early stage would look lost.)"""
    rows = list(Opportunity.objects.exclude(status=OpportunityStatus.OPEN).values(*DEAL_VALUES))
    passed: dict[int, set[int]] = {}
    for opp_id, stage_id in StageChange.objects.filter(
            opportunity__deleted_at__isnull=True, to_stage__kind=StageKind.OPEN,
            opportunity__status__in=[OpportunityStatus.WON, OpportunityStatus.LOST],
    ).values_list("opportunity_id", "to_stage_id").distinct():
        passed.setdefault(opp_id, set()).add(stage_id)
    stages = {s.pk: s for s in Stage.objects.filter(kind=StageKind.OPEN)}
    first: dict[int, Stage] = {}
    for s in sorted(stages.values(), key=lambda s: s.order, reverse=True):
        first[s.pipeline_id] = s
    regions = region_map()
    out = []
    for row in rows:
        seen = [stages[pk] for pk in passed.get(row["id"], ()) if pk in stages]
        if not seen and row["pipeline_id"] in first:
            seen = [first[row["pipeline_id"]]]
        for stage in sorted(seen, key=lambda s: s.order):
            out.append(_deal_example(row, regions, stage.pk, stage.probability / 100))
        if not seen:
            out.append(_deal_example(row, regions, None, 0.5))
    return out


LEAD_VALUES = ["id", "source", "industry_id", "team_id", "product_line_id", "status",
               "converted_opportunity__status", "converted_opportunity__closed_on", "updated_at"]


def _lead_example(row: dict[str, Any], regions: dict[int, int]) -> Example:
    team = row["team_id"]
    won = row.get("converted_opportunity__status") == OpportunityStatus.WON
    closed = row.get("converted_opportunity__closed_on") or (
        row["updated_at"].date() if row.get("updated_at") else None)
    return Example(features={"source": _s(row["source"]), "industry": _s(row["industry_id"]),
                             "region": _s(regions.get(team)) if team else None,
                             "product_line": _s(row["product_line_id"])},
                   team=_s(team), won=won, baseline=0.5, closed=closed)


def finished_lead_examples() -> list[Example]:
    """Leads whose outcome is known: unqualified (not won), or converted into a deal
    that has been won or lost."""
    qs = Lead.objects.filter(status=LeadStatus.UNQUALIFIED) | Lead.objects.filter(
        status=LeadStatus.CONVERTED,
        converted_opportunity__status__in=[OpportunityStatus.WON, OpportunityStatus.LOST])
    regions = region_map()
    return [_lead_example(row, regions) for row in qs.values(*LEAD_VALUES)]


def _labels() -> dict[str, dict[str, str]]:
    """Display names of data values (stages, industries, regions, teams, product lines)."""
    teams = {str(pk): name for pk, name in Team.objects.values_list("id", "name")}
    return {"stage": {str(pk): n for pk, n in Stage.objects.values_list("id", "name")},
            "industry": {str(pk): n for pk, n in Industry.objects.values_list("id", "name")},
            "product_line": {str(pk): n for pk, n in ProductLine.objects.values_list("id", "name")},
            "region": teams, "team": teams}


# --- Training and activation ------------------------------------------------------------


def train(kind: str = "deal", *, now: dt.datetime | None = None,
          examples: list[Example] | None = None) -> ScoringModel:
    """Fit a model on all closed deals (finished leads), measure it on a time-based
    hold-out, and store it. It is made active (and older ones of the kind inactive)
    only with at least MIN_CLOSED examples, both outcomes present."""
    features = DEAL_FEATURES if kind == "deal" else LEAD_FEATURES
    if examples is None:
        examples = closed_deal_examples() if kind == "deal" else finished_lead_examples()
    ordered = sorted(examples, key=lambda e: (e.closed or dt.date.min, e.deal or 0))
    metrics = evaluate(ordered, features) if len(ordered) >= 10 else {"held_out": 0}
    model = fit(ordered, features)
    model.labels = _labels()
    # Deals count once however many stage examples they gave.
    outcomes = {(e.deal if e.deal is not None else -i): e.won for i, e in enumerate(ordered)}
    closed, wins = len(outcomes), sum(outcomes.values())
    usable = closed >= MIN_CLOSED and 0 < wins < closed
    metrics.update({"examples": len(ordered), "closed": closed, "won": wins,
                    "win_rate": round(wins / closed, 4) if closed else None})
    with transaction.atomic():
        if usable:
            ScoringModel.objects.filter(kind=kind, active=True).update(active=False)
        return ScoringModel.objects.create(kind=kind, created_at=now or timezone.now(),
                                           trained_on=closed, params=model.to_params(),
                                           metrics=metrics, active=usable)


def active_model(kind: str = "deal") -> ScoringModel | None:
    return (ScoringModel.objects.filter(kind=kind, active=True)
            .order_by("-created_at", "-id").first())


def _loaded(kind: str) -> NaiveBayes | None:
    row = active_model(kind)
    return NaiveBayes.from_params(row.params) if row is not None else None


# --- Scoring ------------------------------------------------------------------------------


def _opportunity_example(opp: Opportunity, regions: dict[int, int]) -> Example:
    row = {"stage_id": opp.stage_id, "source": opp.source, "team_id": opp.team_id,
           "customer__industry_id": opp.customer.industry_id, "customer__tier": opp.customer.tier,
           "product_line_id": opp.product_line_id, "status": opp.status, "closed_on": None}
    return _deal_example(row, regions, opp.stage_id, opp.stage.probability / 100)


def score(opportunity: Opportunity, *, model: NaiveBayes | None = None) -> tuple[float, list[dict]]:
    """The learned win probability (0–1) of a deal in its current stage and the 2–3
    reasons that move it most. Without an active model: the stage's probability and no
    reasons. Closed deals score 1 (won) or 0 (lost)."""
    if opportunity.status != OpportunityStatus.OPEN:
        return (1.0 if opportunity.status == OpportunityStatus.WON else 0.0), []
    model = model or _loaded("deal")
    if model is None:
        return opportunity.stage.probability / 100, []
    ex = _opportunity_example(opportunity, region_map())
    return model.predict(ex), reasons_for(model, ex)


def _lead_row(lead: Lead) -> dict[str, Any]:
    return {"source": lead.source, "industry_id": lead.industry_id, "team_id": lead.team_id,
            "product_line_id": lead.product_line_id, "status": lead.status}


def _lead_model() -> NaiveBayes | None:
    """The lead model, else the deal model restricted to the lead's features."""
    model = _loaded("lead")
    if model is None:
        model = _loaded("deal")
        if model is not None:
            model.features = [f for f in model.features if f in LEAD_FEATURES]
    return model


def score_lead(lead: Lead, *, model: NaiveBayes | None = None) -> tuple[float | None, list[dict]]:
    """The learned probability that the lead ends as a won deal, and its reasons; None
    when no model has been trained yet."""
    model = model or _lead_model()
    if model is None:
        return None, []
    ex = _lead_example(_lead_row(lead), region_map())
    return model.predict(ex), reasons_for(model, ex)


def rescore_open_deals(model: NaiveBayes, *, now: dt.datetime | None = None,
                       batch_size: int = BATCH_SIZE,
                       progress: Callable[[int, int], Any] | None = None) -> int:
    """Write score, score_reasons and scored_at of every open deal, in batches (the
    hand-set `probability` is left alone; versions are not bumped: machine data)."""
    now = now or timezone.now()
    regions = region_map()
    stage_p = dict(Stage.objects.values_list("id", "probability"))
    ids = list(Opportunity.objects.filter(status=OpportunityStatus.OPEN)
               .order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        rows = Opportunity.objects.filter(pk__in=ids[start:start + batch_size]).values(*DEAL_VALUES)
        objs = []
        for row in rows:
            ex = _deal_example(row, regions, row["stage_id"], stage_p.get(row["stage_id"], 0) / 100)
            objs.append(Opportunity(pk=row["id"], score=round(model.predict(ex), 4),
                                    score_reasons=reasons_for(model, ex), scored_at=now))
        Opportunity.objects.bulk_update(objs, ["score", "score_reasons", "scored_at"])
        if progress is not None:
            progress(min(start + batch_size, len(ids)), len(ids))
    return len(ids)


def rescore_open_leads(model: NaiveBayes, *, batch_size: int = BATCH_SIZE) -> int:
    """Write score and score_reasons of every lead still being worked (the hand-set
    score_override is left alone)."""
    regions = region_map()
    open_statuses = [LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED]
    ids = list(Lead.objects.filter(status__in=open_statuses).order_by("pk")
               .values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        rows = Lead.objects.filter(pk__in=ids[start:start + batch_size]).values(
            "id", "source", "industry_id", "team_id", "product_line_id", "status", "updated_at")
        objs = []
        for row in rows:
            ex = _lead_example(row, regions)
            objs.append(Lead(pk=row["id"], score=round(model.predict(ex), 4),
                             score_reasons=reasons_for(model, ex)))
        Lead.objects.bulk_update(objs, ["score", "score_reasons"])
    return len(ids)


def retrain(*, now: dt.datetime | None = None,
            progress: Callable[[int, int], Any] | None = None) -> dict[str, Any]:
    """Train the deal and lead models; with an active deal model, rescore open deals and
    leads. Returns what happened (the job's result)."""
    deal = train("deal", now=now)
    lead = train("lead", now=now)
    result: dict[str, Any] = {"deal_model": deal.pk, "deal_active": deal.active,
                              "lead_model": lead.pk, "lead_active": lead.active,
                              "metrics": deal.metrics, "deals_scored": 0, "leads_scored": 0}
    deal_model = _loaded("deal")
    if deal_model is not None:
        result["deals_scored"] = rescore_open_deals(deal_model, now=now, progress=progress)
        lead_model = _lead_model()
        if lead_model is not None:
            result["leads_scored"] = rescore_open_leads(lead_model)
    return result


@task()
@job_body
def retrain_job(job: Job) -> dict[str, Any]:
    """Background job: retrain the scoring models and rescore open deals and leads."""
    return retrain(progress=lambda done, total: job_progress(job.pk, done, total))


def start_retrain(*, actor=None) -> Job:
    """Start the retrain job (the scheduler, e.g. nightly, or an administrator)."""
    return start_job(actor=actor, kind=RETRAIN,
                     title=gettext_noop("Retrain win-probability scoring"), task=retrain_job)
