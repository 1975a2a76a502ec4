"""Precomputed figures for the director's dashboard (a summary table and its refresh job).

At 200,000 deals and 10,000,000 interactions, summing deals or counting contacts per
request takes far longer than the dashboard's 100 ms budget on SQLite, so the sums are
kept here, one row per (metric, day, team, user, product line, key):

  contacts  Monday of the week the contact happened (local dates), user = who logged
            it, team = that user's team, key = outcome ("" for none); count
  won       closing day, deal team and owner, product line; count, amount (元), days
            (sum of created → closed days: the sales cycle)
  lost      closing day, …; count, amount
  open      the refresh day (a snapshot of open deals), key = stage id; count, amount,
            weighted (amount × win probability)
  cohort    creation day, key = "<highest stage order reached>:<status>"; count — the
            stage conversion rates of deals created in a period
  cohort_m  the same per month (day = the 1st): whole months of a period are read
            from these, only the days at its edges from `cohort`
  idle      one row per open deal: day = its last activity (the later of its last stage
            change and its customer's last contact), key = the deal id — the
            candidates of the stale-deal list, which re-checks them live

How fresh: deal metrics are rebuilt from scratch by the refresh job (every
REFRESH_EVERY, by the scheduler; a few seconds at 200k deals), so they may be that
old; the page says "as of". Contacts are added incrementally by interaction id (new
rows since the last run), and the page adds the rows logged since then live, so new
contacts are exact; edits and deletions of older interactions are picked up by the
full rebuild of contacts once a day (FULL_CONTACTS_EVERY).

Deals of customers in the recycle bin are left out (as `visible_to` does for every
role that sees all customers); the dashboard scopes rows by team for managers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, F, Func, Max, OuterRef, Subquery, Value
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.core import scheduler, site_settings
from guanxi.core.jobs import job_body, start_job
from guanxi.core.models import Job

log = logging.getLogger(__name__)

STATE_KEY = "sales.dashboard_rollup"
JOB_KIND = "dashboard_rollup"
REFRESH_EVERY = dt.timedelta(minutes=10)
FULL_CONTACTS_EVERY = dt.timedelta(hours=24)
BATCH = 2000


class RollupMetric(models.TextChoices):
    CONTACTS = "contacts", "contacts"
    WON = "won", "won"
    LOST = "lost", "lost"
    OPEN = "open", "open"
    COHORT = "cohort", "cohort"
    COHORT_MONTH = "cohort_m", "cohort by month"
    IDLE = "idle", "open deal's last activity"


DEAL_METRICS = (RollupMetric.WON, RollupMetric.LOST, RollupMetric.OPEN, RollupMetric.COHORT,
                RollupMetric.COHORT_MONTH, RollupMetric.IDLE)


class DashboardRollup(models.Model):
    """One precomputed sum of the dashboard (see the module docstring)."""

    metric = models.CharField(max_length=10, choices=RollupMetric.choices)
    day = models.DateField()
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", db_constraint=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+", db_constraint=False)
    product_line = models.ForeignKey("sales.ProductLine", null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+",
                                     db_constraint=False)
    key = models.CharField(max_length=24, blank=True, default="")
    count = models.PositiveIntegerField(default=0)
    amount = models.FloatField(default=0)
    weighted = models.FloatField(default=0)
    days = models.FloatField(default=0)

    class Meta:
        # Every column: the dashboard's sums are read from the index alone.
        indexes = [models.Index(  # noqa: RUF012
            fields=["metric", "day", "team", "user", "product_line", "key", "count", "amount",
                    "weighted", "days"], name="sales_rollup_covering")]

    def __str__(self) -> str:
        return f"{self.metric} {self.day} {self.key} {self.count}"


# --- State ----------------------------------------------------------------------------------


def state() -> dict[str, Any]:
    return dict(site_settings.get(STATE_KEY) or {})


def _put_state(**changes: Any) -> None:
    value = state()
    value.update(changes)
    site_settings.put(STATE_KEY, value)


def as_of() -> dt.datetime | None:
    at = state().get("deals_at")
    return dt.datetime.fromisoformat(at) if at else None


def contacts_watermark() -> int:
    """Interactions with an id above this are not in the roll-up yet (read live)."""
    return int(state().get("contacts_max_id") or 0)


# --- Deals ----------------------------------------------------------------------------------


def _deals():
    from .models import Opportunity

    return Opportunity.objects.exclude(customer__in=_customers_in_bin())


def rebuild_deals(today: dt.date | None = None) -> int:
    """Recompute every deal metric from the deals (one transaction). Returns rows written."""
    from .models import Stage, StageChange, StageKind

    today = today or timezone.localdate()
    amount = F("amount") * F("exchange_rate")
    rows: list[DashboardRollup] = []
    dims = ("team_id", "owner_id", "product_line_id")

    def add(metric: str, day: dt.date, r: dict, key: str = "", **sums: float) -> None:
        rows.append(DashboardRollup(metric=metric, day=day, team_id=r["team_id"],
                                    user_id=r["owner_id"], product_line_id=r["product_line_id"],
                                    key=key, count=r["n"], **sums))

    closed = (_deals().filter(status__in=(StageKind.WON, StageKind.LOST),
                              closed_on__isnull=False)
              .values("status", "closed_on", "created_at", *dims)
              .annotate(n=Count("id"), a=models.Sum(amount)))
    # Cycle days need the creation date per deal: sum them in Python over closed deals.
    cycle: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0])
    for r in closed.iterator(chunk_size=BATCH):
        created = timezone.localdate(r["created_at"])
        k = (r["status"], r["closed_on"], r["team_id"], r["owner_id"], r["product_line_id"])
        acc = cycle[k]
        acc[0] += r["n"]
        acc[1] += float(r["a"] or 0)
        acc[2] += max(0, (r["closed_on"] - created).days) * r["n"]
    for (status, day, team, owner, pl), (n, a, days) in cycle.items():
        add(status, day, {"team_id": team, "owner_id": owner, "product_line_id": pl, "n": n},
            amount=a, days=days if status == StageKind.WON else 0)

    probabilities = dict(Stage.objects.values_list("pk", "probability"))
    open_rows: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0])
    for r in (_deals().filter(status=StageKind.OPEN)
              .values("stage_id", "probability", *dims)
              .annotate(n=Count("id"), a=models.Sum(amount)).iterator(chunk_size=BATCH)):
        p = r["probability"] if r["probability"] is not None else probabilities.get(
            r["stage_id"], 0)
        acc = open_rows[(r["stage_id"], r["team_id"], r["owner_id"], r["product_line_id"])]
        acc[0] += r["n"]
        acc[1] += float(r["a"] or 0)
        acc[2] += float(r["a"] or 0) * p / 100
    for (stage, team, owner, pl), (n, a, w) in open_rows.items():
        add(RollupMetric.OPEN, today,
            {"team_id": team, "owner_id": owner, "product_line_id": pl, "n": n},
            key=str(stage), amount=a, weighted=w)

    for r in (_deals().filter(status=StageKind.OPEN)
              .values("pk", "stage_entered_at", "customer__last_contact_at", *dims)
              .iterator(chunk_size=BATCH)):
        last = max(x for x in (r["stage_entered_at"], r["customer__last_contact_at"]) if x)
        add(RollupMetric.IDLE, timezone.localdate(last), {**r, "n": 1}, key=str(r["pk"]))

    reached = (StageChange.objects.filter(opportunity=OuterRef("pk"))
               .exclude(to_stage__kind=StageKind.LOST)
               .values("opportunity").annotate(m=Max("to_stage__order")).values("m"))
    cohorts: dict[tuple, int] = defaultdict(int)
    for r in (_deals().annotate(top=Subquery(reached))
              .values("created_at", "status", "top", *dims).iterator(chunk_size=BATCH)):
        k = (timezone.localdate(r["created_at"]), f"{r['top'] or 0}:{r['status']}",
             r["team_id"], r["owner_id"], r["product_line_id"])
        cohorts[k] += 1
    months: dict[tuple, int] = defaultdict(int)
    for (day, key, team, owner, pl), n in cohorts.items():
        add(RollupMetric.COHORT, day,
            {"team_id": team, "owner_id": owner, "product_line_id": pl, "n": n}, key=key)
        months[(day.replace(day=1), key, team, owner, pl)] += n
    for (day, key, team, owner, pl), n in months.items():
        add(RollupMetric.COHORT_MONTH, day,
            {"team_id": team, "owner_id": owner, "product_line_id": pl, "n": n}, key=key)

    with transaction.atomic():
        DashboardRollup.objects.filter(metric__in=DEAL_METRICS).delete()
        DashboardRollup.objects.bulk_create(rows, batch_size=BATCH)
    _put_state(deals_at=timezone.now().isoformat(), deals_rows=len(rows))
    return len(rows)


# --- Contacts -------------------------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week of `day`."""
    return day - dt.timedelta(days=day.weekday())


def _fixed_offset_minutes() -> int | None:
    """The time zone's UTC offset in minutes when it has no daylight saving time."""
    zone = ZoneInfo(settings.TIME_ZONE)
    year = timezone.now().year
    offsets = {dt.datetime(y, m, 1, tzinfo=zone).utcoffset()
               for y in (year - 3, year - 1, year) for m in (1, 7)}
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds() // 60)


def _local_week(field: str):
    """Monday of the local week of a datetime column, computed by the database.

    SQLite has no time zones: with a fixed offset (e.g. Asia/Shanghai) its date() does
    it in C; otherwise Django's TruncWeek (a Python function per row on SQLite: slow at
    millions of rows, native on PostgreSQL)."""
    offset = _fixed_offset_minutes() if connection.vendor == "sqlite" else None
    if offset is not None:
        return Func(F(field), Value(f"{offset:+d} minutes"), Value("weekday 0"),
                    Value("-6 days"), function="date", output_field=models.DateField())
    return TruncWeek(field)


def _contact_counts(qs) -> dict[tuple, int]:
    """{(Monday of the local week, user id, outcome): count} of the interactions in `qs`."""
    out: dict[tuple, int] = defaultdict(int)
    grouped = (qs.filter(created_by__isnull=False)
               .annotate(week=_local_week("occurred_at"))
               .values("week", "created_by_id", "outcome").annotate(n=Count("id")).order_by())
    for r in grouped.iterator(chunk_size=BATCH):
        week = r["week"]
        if isinstance(week, dt.datetime):
            week = timezone.localtime(week).date() if timezone.is_aware(week) else week.date()
        out[(week, r["created_by_id"], r["outcome"] or "")] += r["n"]
    return out


def _customers_in_bin():
    from guanxi.parties.models import Customer

    return Customer.all_objects.filter(deleted_at__isnull=False).values("pk")


def _contacts_qs():
    """Interactions whose customer is not in the recycle bin (a NOT IN over the few
    deleted customers: no join per row over millions of rows)."""
    from guanxi.activities.models import Interaction

    return Interaction.objects.exclude(customer__in=_customers_in_bin())


def live_contact_counts(after_id: int):
    """Interactions logged since the roll-up's watermark, not yet in it."""
    return _contacts_qs().filter(pk__gt=after_id)


def rebuild_contacts(full: bool = False) -> int:
    """Full: recount every interaction. Otherwise add the interactions with an id above
    the watermark to the existing rows. Returns the number of interactions counted."""
    from guanxi.accounts.models import User
    from guanxi.activities.models import Interaction

    teams = dict(User.objects.values_list("pk", "team_id"))
    top = Interaction.all_objects.aggregate(m=Max("pk"))["m"] or 0
    watermark = 0 if full else contacts_watermark()
    counts = _contact_counts(_contacts_qs().filter(pk__gt=watermark, pk__lte=top))
    with transaction.atomic():
        if full:
            DashboardRollup.objects.filter(metric=RollupMetric.CONTACTS).delete()
            existing: dict[tuple, DashboardRollup] = {}
        else:
            days = {k[0] for k in counts}
            existing = {(r.day, r.user_id, r.key): r for r in DashboardRollup.objects.filter(
                metric=RollupMetric.CONTACTS, day__in=days)}
        new, changed = [], []
        for (day, user, outcome), n in counts.items():
            row = existing.get((day, user, outcome))
            if row is None:
                new.append(DashboardRollup(metric=RollupMetric.CONTACTS, day=day, user_id=user,
                                           team_id=teams.get(user), key=outcome, count=n))
            else:
                row.count += n
                changed.append(row)
        DashboardRollup.objects.bulk_create(new, batch_size=BATCH)
        DashboardRollup.objects.bulk_update(changed, ["count"], batch_size=BATCH)
    changes: dict[str, Any] = {"contacts_max_id": top}
    if full:
        changes["contacts_full_at"] = timezone.now().isoformat()
    _put_state(**changes)
    return sum(counts.values())


def refresh(now: dt.datetime | None = None, full_contacts: bool | None = None) -> dict:
    """What the job does: deals from scratch, contacts incrementally (fully once a day)."""
    now = now or timezone.now()
    if full_contacts is None:
        last = state().get("contacts_full_at")
        full_contacts = not last or dt.datetime.fromisoformat(last) + FULL_CONTACTS_EVERY <= now
    contacts = rebuild_contacts(full=full_contacts)
    deals = rebuild_deals(timezone.localdate(now))
    return {"deal_rows": deals, "contacts": contacts, "full_contacts": full_contacts}


@task()
@job_body
def refresh_job(job: Job, full_contacts: bool | None = None) -> dict[str, Any]:
    """Background job: refresh the dashboard figures."""
    return refresh(full_contacts=full_contacts)


def start_refresh(*, actor=None, full_contacts: bool | None = None) -> Job:
    params = {} if full_contacts is None else {"full_contacts": full_contacts}
    return start_job(actor=actor, kind=JOB_KIND,
                     title=gettext_noop("Refresh the sales dashboard figures"),
                     task=refresh_job, params=params)


scheduler.register("sales.dashboard_rollups", REFRESH_EVERY, lambda: start_refresh(),
                   gettext_noop("Refresh the sales dashboard figures"))
