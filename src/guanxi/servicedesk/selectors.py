"""Reads of the ticket pages and API: the visible tickets, list filters, queue counts
and the SLA state of a ticket. Everything starts from `Ticket.objects.visible_to(user)`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from .models import OPEN_TICKET_STATUSES, Priority, Queue, Ticket, TicketStatus

# Status filter values besides the statuses themselves.
STATUS_OPEN = "open_all"  # new, open and waiting: the default of the list
STATUS_ANY = "any"
SLA_BREACHED = "breached"
SLA_AT_RISK = "at_risk"
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "due": ("resolution_due_at", "id"),
    "priority": ("priority_rank", "-created_at", "-id"),
    "-updated": ("-updated_at", "-id"),
}
REFERENCE = re.compile(r"^\s*[Tt]?0*(\d{1,12})\s*$")


def tickets(user) -> QuerySet:
    """The tickets `user` may read (not in the recycle bin), with what lists show."""
    return (Ticket.objects.visible_to(user)
            .select_related("customer", "contact", "type", "queue", "assignee"))


def reference_pk(text: str) -> int | None:
    """T000123, t123 or 123 → 123."""
    m = REFERENCE.match(text or "")
    return int(m.group(1)) if m else None


def breached_q(now: dt.datetime) -> Q:
    """Open tickets past a target (flagged by the SLA job, or already overdue)."""
    overdue = (Q(first_responded_at__isnull=True, first_response_due_at__lt=now)
               | Q(resolution_due_at__lt=now))
    return Q(status__in=OPEN_TICKET_STATUSES) & (
        Q(response_breached=True, first_responded_at__isnull=True)
        | Q(resolution_breached=True) | overdue)


def at_risk_q(now: dt.datetime) -> Q:
    """Open tickets the SLA job warned about that are not breached yet."""
    warned = (Q(response_warned_at__isnull=False, first_responded_at__isnull=True)
              | Q(resolution_warned_at__isnull=False))
    return Q(status__in=OPEN_TICKET_STATUSES) & warned & ~breached_q(now)


def filter_tickets(qs: QuerySet, data: dict[str, Any], user,
                   now: dt.datetime | None = None) -> QuerySet:
    """Apply the list filters (cleaned values of TicketFilterForm or the API's)."""
    now = now or timezone.now()
    status = data.get("status") or STATUS_OPEN
    if status == STATUS_OPEN:
        qs = qs.filter(status__in=OPEN_TICKET_STATUSES)
    elif status != STATUS_ANY:
        qs = qs.filter(status=status)
    for name in ("queue", "type", "customer"):
        value = data.get(name)
        if value:
            qs = qs.filter(**{f"{name}_id": getattr(value, "pk", value)})
    if data.get("priority"):
        qs = qs.filter(priority=data["priority"])
    assignee = data.get("assignee")
    if assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee not in (None, "", "any"):
        qs = qs.filter(assignee_id=int(assignee))
    sla_state = data.get("sla")
    if sla_state == SLA_BREACHED:
        qs = qs.filter(breached_q(now))
    elif sla_state == SLA_AT_RISK:
        qs = qs.filter(at_risk_q(now))
    text = (data.get("q") or "").strip()
    if text:
        cond = Q(subject__icontains=text) | Q(customer__name__icontains=text)
        pk = reference_pk(text)
        if pk is not None:
            cond |= Q(pk=pk)
        qs = qs.filter(cond)
    return qs


def ordered(qs: QuerySet, sort: str | None) -> tuple[str, QuerySet]:
    key = sort if sort in SORTS else "-created"
    if key == "priority":
        qs = qs.annotate(priority_rank=Case(
            *[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
            default=Value(9), output_field=IntegerField()))
    return key, qs.order_by(*SORTS[key])


def queue_counts(user) -> list[dict[str, Any]]:
    """Active queues with the number of open tickets the user sees in each."""
    counts = dict(Ticket.objects.visible_to(user).filter(status__in=OPEN_TICKET_STATUSES)
                  .order_by().values("queue").annotate(n=Count("id"))
                  .values_list("queue", "n"))
    return [{"queue": q, "count": counts.get(q.pk, 0)}
            for q in Queue.objects.filter(Q(active=True) | Q(pk__in=list(counts)))]


def sla_state(ticket: Ticket, now: dt.datetime | None = None) -> str:
    """"breached", "at_risk", "ok", "met" (closed within target) or "" (no SLA)."""
    now = now or timezone.now()
    if not (ticket.first_response_due_at or ticket.resolution_due_at):
        return ""
    if ticket.status not in OPEN_TICKET_STATUSES:
        return SLA_BREACHED if ticket.resolution_breached or ticket.response_breached else "met"
    responded = ticket.first_responded_at is not None
    if (ticket.resolution_breached or (ticket.response_breached and not responded)
            or (not responded and ticket.first_response_due_at
                and ticket.first_response_due_at < now)
            or (ticket.resolution_due_at and ticket.resolution_due_at < now)):
        return SLA_BREACHED
    if (ticket.response_warned_at and not responded) or ticket.resolution_warned_at:
        return SLA_AT_RISK
    return "ok"


def next_due(ticket: Ticket) -> dt.datetime | None:
    """The target that runs now: first response until answered, then resolution."""
    if ticket.status not in OPEN_TICKET_STATUSES:
        return None
    if ticket.first_responded_at is None and ticket.first_response_due_at:
        return ticket.first_response_due_at
    return ticket.resolution_due_at


def merge_targets(ticket: Ticket, user) -> QuerySet:
    """Tickets of the same customer `ticket` may be merged into."""
    return (Ticket.objects.visible_to(user)
            .filter(customer_id=ticket.customer_id)
            .exclude(pk=ticket.pk).exclude(status=TicketStatus.MERGED)
            .order_by("-created_at", "-id"))


def conversation(ticket: Ticket) -> QuerySet:
    return ticket.messages.select_related("author").order_by("created_at", "id")
