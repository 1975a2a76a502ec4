"""Reads of field service and installed equipment: technicians, overlaps, the dispatch
board, a technician's visit list and an asset's service history.

User-facing reads start from `.visible_to(user)`. A technician's load counts every
visit they have (load is about their day, not about who looks), but a visit of a
customer the viewer may not see is shown as "busy" without details.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from guanxi.accounts.models import Role, Team, User
from guanxi.core import site_settings
from guanxi.core.models import AuditEntry

from .models import (
    OPEN_TICKET_STATUSES,
    Asset,
    FieldVisit,
    Priority,
    Queue,
    Ticket,
    VisitStatus,
)

WORKDAY_MINUTES = 8 * 60
BOARD_FROM = dt.time(7, 0)  # the board's time axis: 07:00–21:00 local
BOARD_TO = dt.time(21, 0)
BOARD_TICKETS = 50
MY_VISITS_DAYS = 7
# Site setting: queue codes whose open tickets wait for a visit (None: every queue that
# has technicians, i.e. active members).
DISPATCH_QUEUES_SETTING = "servicedesk.dispatch_queues"
BUSY_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.DONE)


# ---------------------------------------------------------------- time helpers


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local day as an aware [start, end) interval."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1),
                                                          dt.time.min))


def _minutes(a: dt.datetime, b: dt.datetime) -> int:
    return max(int((b - a).total_seconds() // 60), 0)


# ---------------------------------------------------------------- technicians


def technicians(queue: Queue | None = None) -> QuerySet:
    """Active users who go on site: members of `queue` (of any active queue when None)
    and service agents. Read-only users never do."""
    cond = Q(role=Role.SERVICE)
    if queue is not None:
        cond |= Q(service_queues=queue)
    else:
        cond |= Q(service_queues__active=True)
    ids = User.objects.filter(cond, is_active=True).exclude(role=Role.READONLY).values("pk")
    return User.objects.filter(pk__in=ids).select_related("team").order_by("team__name",
                                                                         "display_name",
                                                                         "username")


def is_technician_for(user, ticket: Ticket) -> bool:
    return technicians(ticket.queue).filter(pk=user.pk).exists()


def find_overlaps(technician, start: dt.datetime, end: dt.datetime,
                  exclude_pk: int | None = None) -> list[FieldVisit]:
    """The technician's other visits (scheduled or done) that overlap [start, end)."""
    qs = (FieldVisit.objects.filter(technician=technician, status__in=BUSY_STATUSES,
                                    scheduled_start__lt=end, scheduled_end__gt=start)
          .select_related("customer", "ticket").order_by("scheduled_start"))
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs)


# ---------------------------------------------------------------- the dispatch board


@dataclass
class Block:
    visit: FieldVisit
    visible: bool  # False: a customer the viewer may not see ("busy")
    left: float  # % of the board's time axis
    width: float
    clash: bool = False  # overlaps another visit of the same technician


@dataclass
class BoardRow:
    technician: Any
    region: str
    blocks: list[Block] = field(default_factory=list)
    count: int = 0
    minutes: int = 0

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(Decimal("0.1"))

    @property
    def load_percent(self) -> int:
        return round(self.minutes * 100 / WORKDAY_MINUTES)

    @property
    def bar_percent(self) -> int:
        return min(self.load_percent, 100)

    @property
    def overbooked(self) -> bool:
        return self.minutes > WORKDAY_MINUTES

    def option_label(self) -> str:
        from django.utils.translation import gettext as _

        return _("%(name)s · %(region)s · %(n)s visits, %(h)s h") % {
            "name": self.technician, "region": self.region or "—", "n": self.count,
            "h": self.hours}


def axis_position(start: dt.datetime, end: dt.datetime, day: dt.date) -> tuple[float, float]:
    axis_from = timezone.make_aware(dt.datetime.combine(day, BOARD_FROM))
    axis_to = timezone.make_aware(dt.datetime.combine(day, BOARD_TO))
    total = (axis_to - axis_from).total_seconds()
    a = min(max(start, axis_from), axis_to)
    b = min(max(end, axis_from), axis_to)
    left = (a - axis_from).total_seconds() * 100 / total
    width = max((b - a).total_seconds() * 100 / total, 1.5)
    return round(left, 2), round(min(width, 100 - left), 2)


def region_teams() -> list[Team]:
    """Teams to filter the board by (regions first, then offices)."""
    return list(Team.objects.exclude(kind="company").order_by("path"))


def board_rows(user, day: dt.date, region: Team | None = None) -> list[BoardRow]:
    """One row per technician: their visits that day as blocks, and their load."""
    techs = technicians()
    if region is not None:
        techs = techs.filter(team_id__in=region.subtree_ids())
    rows = {t.pk: BoardRow(technician=t, region=t.team.name if t.team_id else "")
            for t in techs}
    start, end = day_bounds(day)
    visits = list(FieldVisit.objects.filter(
        technician_id__in=list(rows), status__in=BUSY_STATUSES, scheduled_start__lt=end,
        scheduled_end__gt=start).select_related("customer", "ticket")
        .order_by("scheduled_start"))
    visible = set(FieldVisit.objects.visible_to(user).filter(
        pk__in=[v.pk for v in visits]).values_list("pk", flat=True))
    for v in visits:
        row = rows[v.technician_id]
        row.count += 1
        row.minutes += _minutes(max(v.scheduled_start, start), min(v.scheduled_end, end))
        left, width = axis_position(v.scheduled_start, v.scheduled_end, day)
        row.blocks.append(Block(visit=v, visible=v.pk in visible, left=left, width=width))
    for row in rows.values():
        for i, a in enumerate(row.blocks):
            for b in row.blocks[i + 1:]:
                if (b.visit.scheduled_start < a.visit.scheduled_end
                        and a.visit.scheduled_start < b.visit.scheduled_end):
                    a.clash = b.clash = True
    return list(rows.values())


def axis_hours() -> list[dict[str, Any]]:
    """Hour marks of the board's time axis with their position (%)."""
    span = BOARD_TO.hour - BOARD_FROM.hour
    return [{"hour": h, "left": round((h - BOARD_FROM.hour) * 100 / span, 2)}
            for h in range(BOARD_FROM.hour, BOARD_TO.hour + 1, 2)]


def dispatch_queues() -> QuerySet:
    """Queues whose open tickets may need a visit."""
    codes = site_settings.get(DISPATCH_QUEUES_SETTING)
    qs = Queue.objects.filter(active=True)
    if codes:
        return qs.filter(code__in=codes)
    return qs.filter(members__is_active=True).distinct()


def tickets_needing_visit(user, region: Team | None = None) -> list[Ticket]:
    """Open tickets of dispatch queues without a scheduled visit, most urgent first."""
    rank = Case(When(priority=Priority.URGENT, then=Value(0)),
                When(priority=Priority.HIGH, then=Value(1)),
                When(priority=Priority.NORMAL, then=Value(2)), default=Value(3),
                output_field=IntegerField())
    qs = (Ticket.objects.visible_to(user)
          .filter(status__in=OPEN_TICKET_STATUSES,
                  queue__in=dispatch_queues().values("pk"))
          .exclude(visits__status=VisitStatus.SCHEDULED)
          .select_related("customer", "type", "queue", "asset")
          .annotate(rank=rank, done_visits=Count("visits", filter=Q(
              visits__status=VisitStatus.DONE)))
          .order_by("rank", "created_at", "id"))
    if region is not None:
        qs = qs.filter(customer__team_id__in=region.subtree_ids())
    return list(qs[:BOARD_TICKETS])


def attach_candidates(tickets: list[Ticket], rows: list[BoardRow]) -> None:
    """Give each ticket `.candidates`: the board rows of technicians who may take it
    (members of its queue, and service agents)."""
    members: dict[int, set[int]] = defaultdict(set)
    through = Queue.members.through.objects.filter(
        queue_id__in={t.queue_id for t in tickets}).values_list("queue_id", "user_id")
    for queue_id, user_id in through:
        members[queue_id].add(user_id)
    for t in tickets:
        t.candidates = [r for r in rows if r.technician.role == Role.SERVICE
                        or r.technician.pk in members[t.queue_id]]


# ---------------------------------------------------------------- my visits


def my_visits(user, today: dt.date, days: int = MY_VISITS_DAYS) -> dict[str, Any]:
    """The technician's visits: still to report from earlier days, then today and the
    next days grouped by day (today's done visits stay listed)."""
    start, _ = day_bounds(today)
    _, end = day_bounds(today + dt.timedelta(days=days - 1))
    base = (FieldVisit.objects.visible_to(user).filter(technician=user)
            .select_related("customer", "ticket", "ticket__contact", "ticket__asset",
                            "ticket__type"))
    overdue = list(base.filter(status=VisitStatus.SCHEDULED, scheduled_start__lt=start)
                   .order_by("scheduled_start"))
    upcoming = base.filter(scheduled_start__gte=start, scheduled_start__lt=end).filter(
        Q(status=VisitStatus.SCHEDULED)
        | Q(status=VisitStatus.DONE, scheduled_start__lt=day_bounds(today)[1]))
    by_day: dict[dt.date, list[FieldVisit]] = defaultdict(list)
    for v in upcoming.order_by("scheduled_start", "id"):
        by_day[timezone.localtime(v.scheduled_start).date()].append(v)
    return {"overdue": overdue,
            "days": [{"date": d, "visits": by_day[d], "today": d == today}
                     for d in sorted(by_day)]}


# ---------------------------------------------------------------- asset history


def parts_total(visits) -> list[dict[str, Any]]:
    """Parts used over `visits` (done ones), summed per part name."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for v in visits:
        if v.status != VisitStatus.DONE:
            continue
        for row in v.parts_used or []:
            try:
                totals[str(row.get("part", ""))] += Decimal(str(row.get("quantity", 0)))
            except (ArithmeticError, ValueError, AttributeError):
                continue
    return [{"part": p, "quantity": q.normalize() if q != q.to_integral() else int(q)}
            for p, q in sorted(totals.items()) if p]


def asset_history(user, asset: Asset) -> dict[str, Any]:
    """The asset's service history: its tickets, the field visits for them with their
    reports, parts used in total, and the changes made to the asset record."""
    tickets = list(Ticket.objects.visible_to(user).filter(asset=asset)
                   .select_related("type", "queue", "assignee").order_by("-created_at", "-id"))
    visits = list(FieldVisit.objects.visible_to(user).filter(ticket__asset=asset)
                  .select_related("technician", "ticket").order_by("-scheduled_start", "-id"))
    changes = list(AuditEntry.objects.filter(model=asset._meta.label_lower, object_id=asset.pk)
                   .select_related("actor").order_by("-at", "-id"))
    return {"tickets": tickets, "visits": visits, "parts": parts_total(visits),
            "changes": changes}
