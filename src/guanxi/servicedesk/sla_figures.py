"""SLA figures per queue for a period, over the tickets a user can see.

For each queue (and a total row):
- opened: tickets created in the period;
- resolved: tickets resolved in the period;
- first response within target (%): of the tickets first answered in the period, the
  share not breached;
- resolved within target (%): of the tickets resolved in the period, the share not
  breached;
- average and 90th percentile of the first response time, in business hours (tickets
  first answered in the period);
- open breached now: open tickets past a due time (flagged or not yet flagged);
- at risk now: open tickets warned (see sla_services) and not breached;
- CSAT: the average score of the satisfaction surveys of the queue answered in the
  period (1–5).

The period is [start, end] in local dates. Everything is a handful of aggregate
queries; only the response times of the period's answered tickets are read as rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from . import calendar as bcal
from .models import OPEN_TICKET_STATUSES, Queue, Survey, SurveyKind, Ticket


@dataclass
class QueueFigures:
    queue: Queue | None  # None: the total row
    opened: int = 0
    resolved: int = 0
    responded: int = 0
    responded_in_time: int = 0
    resolved_in_time: int = 0
    response_hours: list[float] = field(default_factory=list)
    breached_now: int = 0
    at_risk_now: int = 0
    csat_sum: int = 0
    csat_count: int = 0

    @property
    def response_within_pct(self) -> float | None:
        return _pct(self.responded_in_time, self.responded)

    @property
    def resolution_within_pct(self) -> float | None:
        return _pct(self.resolved_in_time, self.resolved)

    @property
    def avg_response_hours(self) -> float | None:
        hours = self.response_hours
        return sum(hours) / len(hours) if hours else None

    @property
    def p90_response_hours(self) -> float | None:
        return percentile(self.response_hours, 90)

    @property
    def csat(self) -> float | None:
        return self.csat_sum / self.csat_count if self.csat_count else None

    def as_dict(self) -> dict:
        q = self.queue
        return {
            "queue": q.pk if q else None, "queue_code": q.code if q else "",
            "queue_name": q.name if q else "", "opened": self.opened,
            "resolved": self.resolved, "responded": self.responded,
            "response_within_pct": _round(self.response_within_pct),
            "resolution_within_pct": _round(self.resolution_within_pct),
            "avg_response_hours": _round(self.avg_response_hours),
            "p90_response_hours": _round(self.p90_response_hours),
            "breached_now": self.breached_now, "at_risk_now": self.at_risk_now,
            "csat": _round(self.csat), "csat_count": self.csat_count,
        }


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least pct % at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) as aware local datetimes."""
    tz = timezone.get_default_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def breached_now_q(now: dt.datetime) -> Q:
    return (Q(response_breached=True, first_responded_at__isnull=True)
            | Q(resolution_breached=True)
            | Q(first_responded_at__isnull=True, first_response_due_at__lte=now)
            | Q(resolution_due_at__lte=now))


def at_risk_now_q(now: dt.datetime) -> Q:
    warned = (Q(response_warned_at__isnull=False, first_responded_at__isnull=True)
              | Q(resolution_warned_at__isnull=False))
    return warned & ~breached_now_q(now)


def queue_figures(user, start: dt.date, end: dt.date, *, queue: Queue | None = None,
                  now: dt.datetime | None = None) -> tuple[list[QueueFigures], QueueFigures]:
    """Rows per queue (every active queue, plus any queue with tickets) and the total."""
    now = now or timezone.now()
    lo, hi = period_bounds(start, end)
    tickets: QuerySet[Ticket] = Ticket.objects.visible_to(user)
    queues = Queue.objects.all()
    if queue is not None:
        tickets, queues = tickets.filter(queue=queue), queues.filter(pk=queue.pk)
    rows: dict[int, QueueFigures] = {}
    for q in queues.order_by("order", "name"):
        rows[q.pk] = QueueFigures(q)

    in_period = {"__gte": lo, "__lt": hi}
    counts = tickets.values("queue").annotate(
        opened=Count("pk", filter=Q(**{f"created_at{k}": v for k, v in in_period.items()})),
        resolved=Count("pk", filter=Q(**{f"resolved_at{k}": v for k, v in in_period.items()})),
        resolved_in_time=Count("pk", filter=Q(
            resolution_breached=False, **{f"resolved_at{k}": v for k, v in in_period.items()})),
        breached_now=Count("pk", filter=Q(status__in=OPEN_TICKET_STATUSES)
                           & breached_now_q(now)),
        at_risk_now=Count("pk", filter=Q(status__in=OPEN_TICKET_STATUSES) & at_risk_now_q(now)),
    ).order_by()
    for c in counts:
        if c["queue"] not in rows:
            continue
        r = rows[c["queue"]]
        r.opened, r.resolved, r.resolved_in_time = c["opened"], c["resolved"], \
            c["resolved_in_time"]
        r.breached_now, r.at_risk_now = c["breached_now"], c["at_risk_now"]

    answered = list(tickets.filter(first_responded_at__gte=lo, first_responded_at__lt=hi)
                    .values_list("queue", "created_at", "first_responded_at",
                                 "response_breached"))
    if answered:
        first = min(timezone.localtime(a[1]).date() for a in answered)
        cal = bcal.load(first, end)
        for queue_id, created, responded, breached in answered:
            if queue_id not in rows:
                continue
            r = rows[queue_id]
            r.responded += 1
            r.responded_in_time += not breached
            r.response_hours.append(max(0.0, bcal.business_hours_between(created, responded,
                                                                         cal)))

    surveys = (Survey.objects.visible_to(user)
               .filter(kind=SurveyKind.CSAT, queue__in=list(rows), score__isnull=False,
                       answered_at__gte=lo, answered_at__lt=hi)
               .values("queue").annotate(n=Count("pk"), total=Sum("score")).order_by())
    for s in surveys:
        r = rows[s["queue"]]
        r.csat_count = s["n"]
        r.csat_sum = s["total"] or 0

    result = list(rows.values())
    if queue is None:
        result = [r for r in result if r.queue.active or r.opened or r.resolved
                  or r.responded or r.breached_now or r.at_risk_now]
    total = QueueFigures(None)
    for r in result:
        for name in ("opened", "resolved", "responded", "responded_in_time",
                     "resolved_in_time", "breached_now", "at_risk_now", "csat_sum",
                     "csat_count"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.response_hours += r.response_hours
    return result, total
