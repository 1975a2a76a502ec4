"""The director's dashboard: selectors for every section.

Who sees what: administrators and directors see the whole company, managers their
team subtree; everyone else is refused (`can_view_dashboard`). National sums,
stages, conversion, sales cycle and contacts per week come from the precomputed
summary table (sales/rollups.py), filtered by team for managers; the rows that name
deals or customers (the customer level of the drill-down and the stale deals) are
read live through `Opportunity.objects.visible_to(user)`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.activities.models import Outcome

from .models import Opportunity, ProductLine, Stage, StageKind
from .rollups import (
    DashboardRollup,
    RollupMetric,
    contacts_watermark,
    live_contact_counts,
    week_start,
)

PERIODS = {
    "month": gettext_lazy("This month"),
    "quarter": gettext_lazy("This quarter"),
    "year": gettext_lazy("This year"),
    "12m": gettext_lazy("Last 12 months"),
    "custom": gettext_lazy("Custom"),
}
DEFAULT_PERIOD = "quarter"
STALE_CHOICES = (7, 14, 30, 60, 90)
DEFAULT_STALE_DAYS = 14
WEEKS = 12
STALE_LIMIT = 50
CUSTOMER_ROWS = 50


def can_view_dashboard(user) -> bool:
    """Administrators, directors and managers (their team subtree)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    return user.is_admin or user.role == Role.DIRECTOR or (
        user.role == Role.MANAGER and bool(user.team_id))


def team_scope(user) -> list[int] | None:
    """Team ids a user's dashboard covers; None means the whole company."""
    if user.is_admin or user.role == Role.DIRECTOR:
        return None
    return user.team_subtree_ids()


# --- Filters --------------------------------------------------------------------------------


@dataclass
class Filters:
    period: str
    start: dt.date
    end: dt.date  # inclusive
    product_line: ProductLine | None = None
    region: Team | None = None
    office: Team | None = None
    rep: User | None = None
    stale_days: int = DEFAULT_STALE_DAYS
    today: dt.date = field(default_factory=timezone.localdate)

    @property
    def level(self) -> str:
        """What the drill-down rows are: regions, offices, reps or customers."""
        if self.rep is not None:
            return "customer"
        if self.office is not None:
            return "rep"
        if self.region is not None:
            return "office"
        return "region"

    def query(self, **changes: Any) -> str:
        """The query string of these filters with `changes` (None drops a key)."""
        from urllib.parse import urlencode

        params: dict[str, Any] = {"period": self.period, "days": self.stale_days}
        if self.period == "custom":
            params["start"], params["end"] = self.start.isoformat(), self.end.isoformat()
        for key, obj in (("product_line", self.product_line), ("region", self.region),
                         ("office", self.office), ("rep", self.rep)):
            if obj is not None:
                params[key] = obj.pk
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return urlencode(params)


def period_bounds(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if period == "month":
        return today.replace(day=1), today
    if period == "quarter":
        return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if period == "year":
        return dt.date(today.year, 1, 1), today
    # last 12 months: the same day a year ago (the day after), up to today
    try:
        start = today.replace(year=today.year - 1) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28) + dt.timedelta(days=1)
    return start, today


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def parse_filters(params, today: dt.date | None = None) -> Filters:
    """Filters from a query string; anything invalid falls back to the default."""
    today = today or timezone.localdate()
    period = params.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    if period == "custom":
        start, end = _date(params.get("start")), _date(params.get("end"))
        if start is None or end is None or start > end:
            period = DEFAULT_PERIOD
    if period != "custom":
        start, end = period_bounds(period, today)
    days = _int(params.get("days"))
    if days is None or days < 1:
        days = DEFAULT_STALE_DAYS
    f = Filters(period=period, start=start, end=end, stale_days=min(days, 3650),
                today=today)
    if pl := _int(params.get("product_line")):
        f.product_line = ProductLine.objects.filter(pk=pl).first()
    if rid := _int(params.get("region")):
        f.region = Team.objects.filter(pk=rid).first()
    if oid := _int(params.get("office")):
        f.office = Team.objects.filter(pk=oid).first()
    if uid := _int(params.get("rep")):
        f.rep = User.objects.filter(pk=uid).select_related("team").first()
    return f


# --- The team tree --------------------------------------------------------------------------


class Tree:
    """All teams (a few dozen rows) with the region and office each belongs to."""

    def __init__(self) -> None:
        self.teams = {t.pk: t for t in Team.objects.all()}

    def _ancestor(self, team_id: int | None, kind: str) -> Team | None:
        team = self.teams.get(team_id) if team_id else None
        if team is None:
            return None
        for pk in (int(x) for x in team.path.strip("/").split("/") if x):
            t = self.teams.get(pk)
            if t is not None and t.kind == kind:
                return t
        return None

    def region(self, team_id: int | None) -> Team | None:
        return self._ancestor(team_id, TeamKind.REGION)

    def office(self, team_id: int | None) -> Team | None:
        return self._ancestor(team_id, TeamKind.OFFICE) or self.teams.get(team_id or 0)

    def subtree(self, team: Team) -> list[int]:
        return [pk for pk, t in self.teams.items() if t.path.startswith(team.path)]


def _rollup(user, f: Filters, metric: str) -> QuerySet[DashboardRollup]:
    """Summary rows of one metric in the user's scope and the drill-down filters."""
    qs = DashboardRollup.objects.filter(metric=metric)
    scope = team_scope(user)
    if scope is not None:
        qs = qs.filter(team_id__in=scope)
    if f.product_line is not None and metric != RollupMetric.CONTACTS:
        qs = qs.filter(product_line=f.product_line)
    tree_team = f.office or f.region
    if tree_team is not None:
        qs = qs.filter(team_id__in=[tree_team.pk] + list(
            Team.objects.filter(path__startswith=tree_team.path).values_list("pk", flat=True)))
    if f.rep is not None:
        qs = qs.filter(user=f.rep)
    return qs


def scoped_deals(user, f: Filters) -> QuerySet[Opportunity]:
    """Deals the user may read, within their team scope and the filters.

    Whole-company users: what `Opportunity.objects.visible_to(user)` gives them (every
    deal whose customer is not in the recycle bin), as a NOT IN over the bin. Managers: the same rule written as a correlated EXISTS over
    `Customer.objects.visible_to(user)`, so the database checks only the deals it
    reads instead of first listing every customer the manager may see (a million-row
    scan); the test suite checks both give the same deals."""
    scope = team_scope(user)
    if scope is None:
        from .rollups import _customers_in_bin

        # = visible_to() for users who see every customer (tested): the few customers
        # in the recycle bin as a NOT IN list instead of a join per deal.
        qs = Opportunity.objects.exclude(customer__in=_customers_in_bin())
    else:
        from guanxi.parties.models import Customer

        visible = Customer.objects.visible_to(user).filter(pk=OuterRef("customer_id"))
        qs = Opportunity.objects.filter(Exists(visible), team_id__in=scope)
    if f.product_line is not None:
        qs = qs.filter(product_line=f.product_line)
    if f.rep is not None:
        qs = qs.filter(owner=f.rep)
    elif (tree_team := f.office or f.region) is not None:
        qs = qs.filter(team__path__startswith=tree_team.path)
    return qs


# --- (a) National sales drill-down ----------------------------------------------------------


@dataclass
class DrillRow:
    key: Any
    label: str
    query: str | None  # the query string one level down (None at the last level)
    won: float = 0.0
    won_count: int = 0
    pipeline: float = 0.0
    weighted: float = 0.0
    open_count: int = 0
    url: str | None = None  # customer page at the last level


def drill_down(user, f: Filters, tree: Tree) -> list[DrillRow]:
    if f.level == "customer":
        return _drill_customers(user, f)
    rows: dict[Any, DrillRow] = {}
    won = list(_rollup(user, f, RollupMetric.WON).filter(day__gte=f.start, day__lte=f.end)
               .values("team_id", "user_id").annotate(n=Sum("count"), a=Sum("amount"))
               .order_by())
    pipe = list(_rollup(user, f, RollupMetric.OPEN).values("team_id", "user_id")
                .annotate(n=Sum("count"), a=Sum("amount"), w=Sum("weighted")).order_by())
    users = {}
    if f.level == "rep":
        ids = {r["user_id"] for r in won + pipe if r["user_id"]}
        users = {u.pk: u for u in User.objects.filter(pk__in=ids)}

    def row_for(team_id: int | None, user_id: int | None) -> DrillRow:
        if f.level == "region":
            t = tree.region(team_id)
            key, label = (t.pk, t.name) if t else (None, _("(no region)"))
            query = f.query(region=t.pk) if t else None
        elif f.level == "office":
            t = tree.office(team_id)
            key, label = (t.pk, t.name) if t else (None, _("(no office)"))
            query = f.query(office=t.pk) if t else None
        else:
            u = users.get(user_id) if user_id else None
            key, label = (u.pk, str(u)) if u else (None, _("(no owner)"))
            query = f.query(rep=u.pk) if u else None
        if key not in rows:
            rows[key] = DrillRow(key=key, label=label, query=query)
        return rows[key]

    for r in won:
        row = row_for(r["team_id"], r["user_id"])
        row.won += r["a"] or 0
        row.won_count += r["n"] or 0
    for r in pipe:
        row = row_for(r["team_id"], r["user_id"])
        row.pipeline += r["a"] or 0
        row.weighted += r["w"] or 0
        row.open_count += r["n"] or 0
    return sorted(rows.values(), key=lambda r: (-r.won, -r.pipeline, r.label))


def _drill_customers(user, f: Filters) -> list[DrillRow]:
    """A rep's top customers: won in the period and open pipeline (live, scoped), ranked
    and cut to CUSTOMER_ROWS by the database."""
    from django.urls import NoReverseMatch, reverse

    from guanxi.parties.models import Customer

    money = ExpressionWrapper(F("amount") * F("exchange_rate"), output_field=FloatField())
    prob = Coalesce(F("probability"), F("stage__probability"))
    won_q = Q(status=StageKind.WON, closed_on__gte=f.start, closed_on__lte=f.end)
    open_q = Q(status=StageKind.OPEN)
    ranked = (scoped_deals(user, f).filter(won_q | open_q).values("customer_id")
              .annotate(won=Sum(money, filter=won_q), won_n=Count("id", filter=won_q),
                        pipe=Sum(money, filter=open_q), open_n=Count("id", filter=open_q),
                        weighted=Sum(ExpressionWrapper(money * prob / 100.0,
                                                       output_field=FloatField()),
                                     filter=open_q))
              .order_by(F("won").desc(nulls_last=True), F("pipe").desc(nulls_last=True))
              [:CUSTOMER_ROWS])
    rows = list(ranked)
    # The deals above are scoped already; all_objects keeps SQLite on the primary key
    # (with the recycle-bin filter it may walk the deleted_at index over every row).
    names = dict(Customer.all_objects.filter(pk__in=[r["customer_id"] for r in rows])
                 .values_list("pk", "name"))
    out = []
    for r in rows:
        try:
            url = reverse("parties:customer_detail", args=[r["customer_id"]])
        except NoReverseMatch:
            url = None
        out.append(DrillRow(key=r["customer_id"], label=names.get(r["customer_id"], ""),
                            query=None, won=r["won"] or 0.0, won_count=r["won_n"],
                            pipeline=r["pipe"] or 0.0, weighted=r["weighted"] or 0.0,
                            open_count=r["open_n"], url=url))
    return out


def breadcrumbs(f: Filters) -> list[tuple[str, str | None]]:
    """(label, query string or None for the current level)."""
    crumbs: list[tuple[str, str | None]] = [(_("National"), f.query(region=None, office=None,
                                                                   rep=None))]
    if f.region is not None:
        crumbs.append((f.region.name, f.query(office=None, rep=None)))
    if f.office is not None:
        crumbs.append((f.office.name, f.query(rep=None)))
    if f.rep is not None:
        crumbs.append((str(f.rep), f.query()))
    last = crumbs[-1]
    crumbs[-1] = (last[0], None)
    return crumbs


# --- (b) Pipeline by stage ------------------------------------------------------------------


@dataclass
class StageRow:
    stage: Stage
    count: int = 0
    amount: float = 0.0
    weighted: float = 0.0


def pipeline_by_stage(user, f: Filters) -> dict[str, Any]:
    stages = {s.pk: s for s in Stage.objects.select_related("pipeline")}
    rows: dict[int, StageRow] = {}
    for r in (_rollup(user, f, RollupMetric.OPEN).values("key")
              .annotate(n=Sum("count"), a=Sum("amount"), w=Sum("weighted")).order_by()):
        stage = stages.get(_int(r["key"]) or 0)
        if stage is None:
            continue
        rows[stage.pk] = StageRow(stage, r["n"] or 0, r["a"] or 0, r["w"] or 0)
    closed = {}
    for metric in (RollupMetric.WON, RollupMetric.LOST):
        r = (_rollup(user, f, metric).filter(day__gte=f.start, day__lte=f.end)
             .aggregate(n=Sum("count"), a=Sum("amount")))
        closed[metric] = (r["n"] or 0, r["a"] or 0)
    ordered = sorted(rows.values(), key=lambda r: (r.stage.pipeline.name, r.stage.order))
    return {"open": ordered, "won": closed.get(RollupMetric.WON, (0, 0)),
            "lost": closed.get(RollupMetric.LOST, (0, 0)),
            "several_pipelines": len({r.stage.pipeline_id for r in ordered}) > 1}


# --- (c) Contacts per rep per week ----------------------------------------------------------


def contacts_per_week(user, f: Filters, weeks: int = WEEKS) -> dict[str, Any]:
    """Interactions per logging user per ISO week (the last `weeks`), by outcome."""
    last = week_start(f.today)
    starts = [last - dt.timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    first = starts[0]
    counts: dict[tuple[int, dt.date, str], int] = defaultdict(int)
    rollup = (_rollup(user, f, RollupMetric.CONTACTS).filter(day__gte=first, day__lte=f.today)
              .values("user_id", "day", "key").annotate(n=Sum("count")).order_by())
    for r in rollup:  # rows are per week already (day = Monday)
        counts[(r["user_id"], r["day"], r["key"])] += r["n"]
    # Logged since the last refresh: counted live (few rows, by primary key).
    live = live_contact_counts(contacts_watermark()).filter(
        occurred_at__date__gte=first, created_by__isnull=False)
    scope = team_scope(user)
    if scope is not None:
        live = live.filter(created_by__team_id__in=scope)
    if (tree_team := f.office or f.region) is not None:
        live = live.filter(created_by__team__path__startswith=tree_team.path)
    if f.rep is not None:
        live = live.filter(created_by=f.rep)
    for uid, occurred, outcome in live.values_list("created_by_id", "occurred_at", "outcome"):
        day = timezone.localdate(occurred)
        if day <= f.today:
            counts[(uid, week_start(day), outcome or "")] += 1
    users = {u.pk: u for u in User.objects.filter(pk__in={k[0] for k in counts})}
    labels = dict(Outcome.choices)
    outcomes = sorted({k[2] for k in counts}, key=lambda o: (o == "", o))
    per_user: dict[int, dict] = {}
    for (uid, week, outcome), n in counts.items():
        entry = per_user.setdefault(uid, {"weeks": defaultdict(int), "outcomes": defaultdict(int)})
        entry["weeks"][week] += n
        entry["outcomes"][outcome] += n
    table = []
    for uid, entry in per_user.items():
        table.append({
            "user": users.get(uid), "weeks": [entry["weeks"].get(w, 0) for w in starts],
            "outcomes": [entry["outcomes"].get(o, 0) for o in outcomes],
            "total": sum(entry["weeks"].values()),
        })
    table.sort(key=lambda r: (-r["total"], str(r["user"])))
    week_outcome: dict[tuple[dt.date, str], int] = defaultdict(int)
    for (_uid, week, outcome), n in counts.items():
        week_outcome[(week, outcome)] += n
    by_outcome = [(labels.get(o, o) if o else _("(no outcome)"),
                   [week_outcome.get((s, o), 0) for s in starts]) for o in outcomes]
    return {"weeks": starts, "outcomes": [labels.get(o, o) if o else _("(no outcome)")
                                          for o in outcomes],
            "rows": table, "by_outcome": by_outcome}


# --- (d) Conversion between stages ----------------------------------------------------------


def _cohort_rows(user, f: Filters) -> list[dict]:
    """Cohort counts by key for deals created in the period: whole months from the
    monthly rows, the days before the first and after the last whole month from the
    daily ones (a year is ~12 monthly rows per group instead of ~365 daily ones)."""
    first = f.start if f.start.day == 1 else _next_month(f.start)
    after_end = f.end + dt.timedelta(days=1)
    last = after_end if after_end.day == 1 else f.end.replace(day=1)  # exclusive
    if first >= last:  # no whole month inside
        parts = [_rollup(user, f, RollupMetric.COHORT).filter(day__gte=f.start, day__lte=f.end)]
    else:
        parts = [
            _rollup(user, f, RollupMetric.COHORT_MONTH).filter(day__gte=first, day__lt=last),
            _rollup(user, f, RollupMetric.COHORT).filter(
                Q(day__gte=f.start, day__lt=first) | Q(day__gte=last, day__lte=f.end)),
        ]
    rows: list[dict] = []
    for qs in parts:
        rows.extend(qs.values("key").annotate(n=Sum("count")).order_by())
    return rows


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def conversion(user, f: Filters) -> dict[str, Any]:
    """Of the deals created in the period that reached stage k, the share that reached
    stage k+1 (any later stage counts: deals may skip one); won rate = won / closed."""
    from .services import default_pipeline

    pipeline = default_pipeline(f.product_line)
    stages = list(pipeline.stages.order_by("order")) if pipeline else []
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won_stage = next((s for s in stages if s.kind == StageKind.WON), None)
    tops: dict[int, int] = defaultdict(int)
    status_n: dict[str, int] = defaultdict(int)
    for r in _cohort_rows(user, f):
        top, _sep, status = r["key"].partition(":")
        tops[_int(top) or 0] += r["n"]
        status_n[status] += r["n"]

    def reached(order: int) -> int:
        return sum(n for top, n in tops.items() if top >= order)

    steps = []
    chain = open_stages + ([won_stage] if won_stage else [])
    for a, b in pairwise(chain):
        ra, rb = reached(a.order), reached(b.order)
        steps.append({"from": a, "to": b, "reached": ra, "advanced": rb,
                      "rate": rb / ra if ra else None})
    won, lost = status_n.get(StageKind.WON, 0), status_n.get(StageKind.LOST, 0)
    return {"steps": steps, "created": sum(tops.values()), "won": won, "lost": lost,
            "open": status_n.get(StageKind.OPEN, 0),
            "won_rate": won / (won + lost) if won + lost else None,
            "funnel": [(s.name, reached(s.order)) for s in chain]}


# --- (e) Average sales cycle ----------------------------------------------------------------


def sales_cycle(user, f: Filters, tree: Tree) -> dict[str, Any]:
    """Average days from creation to winning, of deals won in the period, per region and
    per office."""
    regions: dict[Any, list] = defaultdict(lambda: [None, 0, 0.0])
    offices: dict[Any, list] = defaultdict(lambda: [None, 0, 0.0])
    total = [0, 0.0]
    for r in (_rollup(user, f, RollupMetric.WON).filter(day__gte=f.start, day__lte=f.end)
              .values("team_id").annotate(n=Sum("count"), d=Sum("days")).order_by()):
        n, d = r["n"] or 0, r["d"] or 0
        total[0] += n
        total[1] += d
        for bucket, team in ((regions, tree.region(r["team_id"])),
                             (offices, tree.office(r["team_id"]))):
            acc = bucket[team.pk if team else None]
            acc[0] = team
            acc[1] += n
            acc[2] += d

    def rows(bucket):
        out = [{"team": t, "won": n, "days": d / n if n else None}
               for t, n, d in bucket.values()]
        return sorted(out, key=lambda r: str(r["team"] or ""))

    return {"regions": rows(regions), "offices": rows(offices), "won": total[0],
            "days": total[1] / total[0] if total[0] else None}


# --- (f) Stale deals ------------------------------------------------------------------------


def stale_deals(user, f: Filters, now: dt.datetime | None = None) -> dict[str, Any]:
    """Open deals without a stage change and without any interaction on the deal or its
    customer for `f.stale_days` days (the customer's last contact covers both: every
    interaction is logged on a customer). Oldest first.

    Candidates and the count come from the summary (one row per open deal with its last
    activity day, as of the last refresh); the deals shown are re-read live through the
    user's scope and re-checked, so a deal touched since the refresh drops out."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=f.stale_days)
    idle = (_rollup(user, f, RollupMetric.IDLE)
            .filter(day__lt=timezone.localdate(cutoff)).order_by("day", "key"))
    count = idle.count()
    ids = [int(k) for k in idle.values_list("key", flat=True)[:STALE_LIMIT * 2]]
    live = (scoped_deals(user, f).filter(pk__in=ids, status=StageKind.OPEN,
                                         stage_entered_at__lt=cutoff)
            .filter(Q(customer__last_contact_at__lt=cutoff)
                    | Q(customer__last_contact_at__isnull=True)))
    deals = sorted(live.select_related("customer", "owner", "stage"),
                   key=lambda d: (max(x for x in (d.stage_entered_at,
                                                  d.customer.last_contact_at) if x), d.pk))
    deals = deals[:STALE_LIMIT]
    for d in deals:
        last = max([x for x in (d.stage_entered_at, d.customer.last_contact_at) if x])
        d.idle_days = (now - last).days
    return {"deals": deals, "count": count, "more": False, "cutoff": cutoff}
