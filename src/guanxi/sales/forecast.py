"""Forecast: open pipeline by expected close month/quarter — total, weighted, committed —
won revenue, targets and attainment, grouped by rep, team (office), region or product
line. Everything starts from `Opportunity.objects.visible_to(user)` and is aggregated
in the database (GROUP BY period and group key); only the handful of result rows are
touched in Python (e.g. folding offices into their region).

Money is in 元: amount × exchange_rate. The **effective probability** of an open deal
is the hand override (`probability` %), else the learned `score`, else the stage's
probability. A deal is **committed** when its effective probability reaches the commit
threshold (SiteSetting "forecast.commit_threshold", default 70 %).

Public API (other modules call these)
-------------------------------------
- `commit_threshold() -> int`
- `effective_probability(opportunity) -> float` (percent, 0–100)
- `periods(kind, start=None, count=None, *, today=None) -> list[Period]`
- `period_of(kind, day) -> Period`
- `pipeline(user, *, kind, start, end, group_by=None) -> dict[(date, key), Totals]`
- `won(user, *, kind, start, end, group_by=None) -> dict[(date, key), Decimal]`
- `won_trend(user, *, months=12, today=None) -> list[tuple[date, Decimal]]`
- `forecast(user, *, kind="month", start=None, count=None, group_by="rep", today=None) -> Forecast`
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, FloatField, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, TruncMonth, TruncQuarter
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core import site_settings

from .models import Opportunity, OpportunityStatus, PeriodKind

COMMIT_KEY = "forecast.commit_threshold"
DEFAULT_COMMIT = 70
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

GROUPS = {
    "rep": gettext_lazy("Sales rep"),
    "team": gettext_lazy("Team"),
    "region": gettext_lazy("Region"),
    "product_line": gettext_lazy("Product line"),
}
# The column each grouping reads; "region" groups by team in SQL, then folds offices
# into their region (the team tree is small).
GROUP_FIELD = {"rep": "owner_id", "team": "team_id", "region": "team_id",
               "product_line": "product_line_id"}
PERIOD_COUNTS = {PeriodKind.MONTH: 6, PeriodKind.QUARTER: 4}


def commit_threshold() -> int:
    """The effective probability (%) from which an open deal counts as committed."""
    try:
        value = int(site_settings.get(COMMIT_KEY) or DEFAULT_COMMIT)
    except (TypeError, ValueError):
        return DEFAULT_COMMIT
    return min(max(value, 0), 100)


def effective_probability(opportunity: Opportunity) -> float:
    """Percent: the hand override, else the learned score, else the stage's probability."""
    if opportunity.probability is not None:
        return float(opportunity.probability)
    if opportunity.score is not None:
        return opportunity.score * 100
    return float(opportunity.stage.probability)


# --- Periods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date  # exclusive

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.year}-{self.start.month:02d}"


def add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def period_start(kind: str, day: dt.date) -> dt.date:
    if kind == PeriodKind.YEAR:
        return dt.date(day.year, 1, 1)
    if kind == PeriodKind.QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, day.month, 1)


def _step(kind: str) -> int:
    return {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[kind]


def period_of(kind: str, day: dt.date) -> Period:
    start = period_start(kind, day)
    return Period(kind, start, add_months(start, _step(kind)))


def periods(kind: str = PeriodKind.MONTH, start: dt.date | None = None, count: int | None = None,
            *, today: dt.date | None = None) -> list[Period]:
    """`count` consecutive periods from the one containing `start` (default: today);
    6 months or 4 quarters unless told."""
    first = period_start(kind, start or today or timezone.localdate())
    n = count or PERIOD_COUNTS.get(kind, 4)
    step = _step(kind)
    return [Period(kind, add_months(first, i * step), add_months(first, (i + 1) * step))
            for i in range(n)]


# --- Aggregates in the database ------------------------------------------------------------


@dataclass
class Totals:
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    committed: Decimal = ZERO
    count: int = 0

    def add(self, other: Totals) -> None:
        self.pipeline += other.pipeline
        self.weighted += other.weighted
        self.committed += other.committed
        self.count += other.count


def _money(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(CENT)


def _cny():
    return Cast(F("amount"), FloatField()) * Cast(F("exchange_rate"), FloatField())


def _probability_pct():
    return Coalesce(Cast(F("probability"), FloatField()), F("score") * 100.0,
                    Cast(F("stage__probability"), FloatField()), output_field=FloatField())


def _trunc(kind: str, field_name: str):
    if kind == PeriodKind.QUARTER:
        return TruncQuarter(field_name)
    if kind == PeriodKind.MONTH:
        return TruncMonth(field_name)
    raise ValueError(kind)


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _group_values(group_by: str | None) -> list[str]:
    if group_by is None:
        return ["period"]
    if group_by not in GROUP_FIELD:
        raise ValueError(group_by)
    return ["period", GROUP_FIELD[group_by]]


def _fold_regions(rows: dict[tuple[dt.date, Any], Any], group_by: str | None,
                  merge) -> dict[tuple[dt.date, Any], Any]:
    if group_by != "region":
        return rows
    from .scoring import region_map

    regions = region_map()
    out: dict[tuple[dt.date, Any], Any] = {}
    for (period, team_id), value in rows.items():
        key = (period, regions.get(team_id) if team_id else None)
        out[key] = merge(out[key], value) if key in out else value
    return out


def open_deals(user) -> QuerySet[Opportunity]:
    return Opportunity.objects.visible_to(user).filter(status=OpportunityStatus.OPEN)


def pipeline(user, *, kind: str, start: dt.date, end: dt.date,
             group_by: str | None = None) -> dict[tuple[dt.date, Any], Totals]:
    """Open deals expected to close in [start, end): per (period start, group key) the
    pipeline total, weighted and committed amounts (元) and the number of deals."""
    threshold = float(commit_threshold())
    prob = _probability_pct()
    qs = (open_deals(user).filter(expected_close__gte=start, expected_close__lt=end)
          .annotate(period=_trunc(kind, "expected_close")))
    keys = _group_values(group_by)
    rows = qs.annotate(p=prob).values(*keys).annotate(
        total=Sum(_cny(), output_field=FloatField()),
        weighted=Sum(_cny() * F("p") / 100.0, output_field=FloatField()),
        committed=Sum(Case(When(p__gte=threshold - 1e-9, then=_cny()), default=Value(0.0),
                           output_field=FloatField())),
        n=Count("id"),
    ).order_by()
    out: dict[tuple[dt.date, Any], Totals] = {}
    for row in rows:
        key = (_as_date(row["period"]), row[keys[1]] if group_by else None)
        out[key] = Totals(_money(row["total"]), _money(row["weighted"]),
                          _money(row["committed"]), row["n"])

    def merge(a: Totals, b: Totals) -> Totals:
        a.add(b)
        return a

    return _fold_regions(out, group_by, merge)


def won(user, *, kind: str, start: dt.date, end: dt.date,
        group_by: str | None = None) -> dict[tuple[dt.date, Any], Decimal]:
    """Won revenue (元) by (period start of closed_on, group key) in [start, end)."""
    qs = (Opportunity.objects.visible_to(user)
          .filter(status=OpportunityStatus.WON, closed_on__gte=start, closed_on__lt=end)
          .annotate(period=_trunc(kind, "closed_on")))
    keys = _group_values(group_by)
    rows = qs.values(*keys).annotate(total=Sum(_cny(), output_field=FloatField())).order_by()
    out = {(_as_date(r["period"]), r[keys[1]] if group_by else None): _money(r["total"])
           for r in rows}
    return _fold_regions(out, group_by, lambda a, b: a + b)


def won_trend(user, *, months: int = 12,
              today: dt.date | None = None) -> list[tuple[dt.date, Decimal]]:
    """Won revenue per month for the last `months` months including the current one."""
    current = period_start(PeriodKind.MONTH, today or timezone.localdate())
    first = add_months(current, -(months - 1))
    totals = won(user, kind=PeriodKind.MONTH, start=first, end=add_months(current, 1))
    return [(m, totals.get((m, None), ZERO))
            for m in (add_months(first, i) for i in range(months))]


# --- The forecast table ------------------------------------------------------------------


@dataclass
class Row:
    key: Any
    label: str
    totals: Totals = field(default_factory=Totals)
    won: Decimal = ZERO
    target: Decimal | None = None

    @property
    def attainment(self) -> float | None:
        """Won ÷ target in percent (None without a target)."""
        if not self.target:
            return None
        return float(self.won / self.target * 100)

    def add(self, other: Row) -> None:
        self.totals.add(other.totals)
        self.won += other.won
        if other.target is not None:
            self.target = (self.target or ZERO) + other.target


@dataclass
class Forecast:
    kind: str
    group_by: str
    threshold: int
    periods: list[Period]
    by_period: list[Row]
    by_group: list[Row]
    total: Row


def forecast(user, *, kind: str = PeriodKind.MONTH, start: dt.date | None = None,
             count: int | None = None, group_by: str = "rep",
             today: dt.date | None = None) -> Forecast:
    """The forecast over `count` periods from `start`: one row per period and one per
    group (summed over the whole range), with won revenue, targets and attainment."""
    from .targets import target_totals

    spans = periods(kind, start, count, today=today)
    lo, hi = spans[0].start, spans[-1].end
    pipe = pipeline(user, kind=kind, start=lo, end=hi, group_by=group_by)
    wins = won(user, kind=kind, start=lo, end=hi, group_by=group_by)
    targets = target_totals(user, kind=kind, start=lo, end=hi, group_by=group_by)
    by_period = {p.start: Row(p.start, p.label) for p in spans}
    by_group: dict[Any, Row] = {}
    keys = set(pipe) | set(wins) | set(targets)
    for period, key in keys:
        cell = Row(key, "", pipe.get((period, key), Totals()), wins.get((period, key), ZERO),
                   targets.get((period, key)))
        if period in by_period:
            by_period[period].add(cell)
        by_group.setdefault(key, Row(key, ""))
        by_group[key].add(cell)
    labels = group_labels(group_by, list(by_group))
    groups = sorted(by_group.values(), key=lambda r: (-r.totals.pipeline, -r.won, str(r.key)))
    for row in groups:
        row.label = labels.get(row.key, "")
    total = Row(None, _("Total"))
    for row in by_period.values():
        total.add(row)
    return Forecast(kind, group_by, commit_threshold(), spans, list(by_period.values()),
                    groups, total)


def group_labels(group_by: str, keys: list[Any]) -> dict[Any, str]:
    """Display names of group keys (None: "not set")."""
    from guanxi.accounts.models import Team, User

    from .models import ProductLine

    ids = [k for k in keys if k is not None]
    labels: dict[Any, str] = {None: _("(not set)")}
    if group_by == "rep":
        labels.update({u.pk: str(u) for u in User.objects.filter(pk__in=ids)})
    elif group_by in ("team", "region"):
        labels.update(dict(Team.objects.filter(pk__in=ids).values_list("pk", "name")))
        if group_by == "region":
            labels[None] = _("(no region)")
    elif group_by == "product_line":
        labels.update(dict(ProductLine.objects.filter(pk__in=ids).values_list("pk", "name")))
    return labels


def by_month_totals(user, *, months: int = 6, today: dt.date | None = None) -> dict[str, Any]:
    """Small summary for dashboards: this month's and this quarter's pipeline totals."""
    day = today or timezone.localdate()
    out: dict[str, Any] = {}
    for kind in (PeriodKind.MONTH, PeriodKind.QUARTER):
        p = period_of(kind, day)
        t = pipeline(user, kind=kind, start=p.start, end=p.end).get((p.start, None), Totals())
        out[kind] = {"period": p.label, "pipeline": t.pipeline, "weighted": t.weighted,
                     "committed": t.committed, "count": t.count}
    return out


__all__ = ["GROUPS", "Forecast", "Period", "Row", "Totals", "by_month_totals",
           "commit_threshold", "effective_probability", "forecast", "group_labels", "period_of",
           "periods", "pipeline", "won", "won_trend"]
