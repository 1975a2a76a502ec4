"""Writes of field service: book, move and cancel on-site visits, and file the visit
report that closes or updates the ticket.

Keyword-only, actor first, atomic, audited (with the customer's id); PermissionDenied
before any write, ValidationError keyed by field, ConflictError on a stale version.
`now=None` is the clock (timezone.now()) so tests can control it.

Booking never refuses an overlap with another visit of the same technician: the
returned visit carries `.overlaps` (a list of those visits) for the UI to show.
The ticket side goes through the ticket services (ticket_add_message,
ticket_set_status); time goes through timeentries.record_time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties import permissions as party_perms

from .field_selectors import find_overlaps, technicians
from .models import (
    OPEN_TICKET_STATUSES,
    FieldVisit,
    Ticket,
    TicketStatus,
    TimeKind,
    VisitOutcome,
    VisitStatus,
)
from .permissions import can_dispatch, can_report_visit
from .timeentries import record_time

VISIT_FIELDS = ["ticket", "technician", "scheduled_start", "scheduled_end", "address",
                "status", "instructions"]
REPORT_FIELDS = ["status", "work_done", "parts_used", "signed_off_by", "time_spent_minutes",
                 "travel_minutes", "outcome", "completed_at"]
MAX_VISIT = dt.timedelta(days=3)
MAX_MINUTES = 24 * 60


def _ticket_services():
    from . import services  # the ticket services (written alongside)

    return services


def _when(value: dt.datetime) -> str:
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def _visible_ticket(actor, ticket: Ticket) -> Ticket:
    ticket = (Ticket.objects.visible_to(actor).select_related("customer", "queue")
              .filter(pk=ticket.pk).first())
    party_perms.require(ticket is not None)
    return ticket


def _locked_visit(actor, visit: FieldVisit) -> FieldVisit:
    locked = (FieldVisit.objects.select_for_update().filter(pk=visit.pk).first())
    party_perms.require(locked is not None and FieldVisit.objects.visible_to(actor)
                        .filter(pk=visit.pk).exists())
    return FieldVisit.objects.select_related("ticket", "ticket__queue", "customer",
                                             "technician").get(pk=locked.pk)


def _clean_slot(ticket: Ticket, technician, start, end, errors: dict[str, list[str]]) -> None:
    if technician is None or not getattr(technician, "is_active", False):
        errors["technician"] = [_("Pick an active technician.")]
    elif not technicians(ticket.queue).filter(pk=technician.pk).exists():
        errors["technician"] = [_("%(name)s is not a technician of the %(queue)s queue "
                                  "(nor a service agent).") % {"name": technician,
                                                               "queue": ticket.queue}]
    if not isinstance(start, dt.datetime):
        errors["scheduled_start"] = [_("Give the start date and time.")]
    if not isinstance(end, dt.datetime):
        errors["scheduled_end"] = [_("Give the end date and time.")]
    if "scheduled_start" in errors or "scheduled_end" in errors:
        return
    if timezone.is_naive(start) or timezone.is_naive(end):
        errors["scheduled_start"] = [_("Times need a time zone.")]
    elif end <= start:
        errors["scheduled_end"] = [_("The visit must end after it starts.")]
    elif end - start > MAX_VISIT:
        errors["scheduled_end"] = [_("A visit lasts at most three days; book longer "
                                     "work as several visits.")]


def _note(*, actor, ticket: Ticket, body: str, now: dt.datetime | None) -> None:
    _ticket_services().ticket_add_message(actor=actor, ticket=ticket, kind="note", body=body,
                                          now=now)


# ---------------------------------------------------------------- booking


@transaction.atomic
def visit_schedule(*, actor, ticket: Ticket, technician, start: dt.datetime,
                   end: dt.datetime, address: str | None = None, instructions: str = "",
                   now: dt.datetime | None = None) -> FieldVisit:
    """Book `technician` on site for `ticket` (default address: the customer's).
    Returns the visit; `visit.overlaps` lists the technician's overlapping visits."""
    ticket = _visible_ticket(actor, ticket)
    party_perms.require(can_dispatch(actor, ticket))
    errors: dict[str, list[str]] = {}
    if ticket.status not in OPEN_TICKET_STATUSES:
        errors["ticket"] = [_("Ticket %(ref)s is %(status)s; only open tickets get visits.")
                            % {"ref": ticket.reference, "status": ticket.get_status_display()}]
    _clean_slot(ticket, technician, start, end, errors)
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    visit = FieldVisit(
        ticket=ticket, customer=ticket.customer, technician=technician,
        scheduled_start=start, scheduled_end=end,
        address=(address if address is not None else ticket.customer.address or "").strip(),
        instructions=(instructions or "").strip(), created_by=actor, created_at=now)
    visit.save()
    audit.record_create(actor=actor, obj=visit, fields=VISIT_FIELDS,
                        customer_id=visit.customer_id)
    _note(actor=actor, ticket=ticket, body=_(
        "On-site visit booked: %(start)s – %(end)s, technician %(tech)s. Address: %(addr)s")
        % {"start": _when(start), "end": _when(end), "tech": technician,
           "addr": visit.address or "—"}, now=now)
    visit.overlaps = find_overlaps(technician, start, end, exclude_pk=visit.pk)
    return visit


@transaction.atomic
def visit_reschedule(*, actor, visit: FieldVisit, version: int | None,
                     start: dt.datetime | None = None, end: dt.datetime | None = None,
                     technician=None, address: str | None = None,
                     instructions: str | None = None,
                     now: dt.datetime | None = None) -> FieldVisit:
    """Move a scheduled visit (time, technician, address, instructions)."""
    visit = _locked_visit(actor, visit)
    party_perms.require(can_dispatch(actor, visit.ticket))
    check_version(visit, version)
    if visit.status != VisitStatus.SCHEDULED:
        raise ValidationError({"status": [_("Only a scheduled visit can be moved.")]})
    before = audit.snapshot(visit, VISIT_FIELDS)
    start = start or visit.scheduled_start
    end = end or visit.scheduled_end
    technician = technician or visit.technician
    errors: dict[str, list[str]] = {}
    _clean_slot(visit.ticket, technician, start, end, errors)
    if errors:
        raise ValidationError(errors)
    visit.scheduled_start, visit.scheduled_end, visit.technician = start, end, technician
    if address is not None:
        visit.address = address.strip()
    if instructions is not None:
        visit.instructions = instructions.strip()
    changes = audit.diff(before, audit.snapshot(visit, VISIT_FIELDS))
    visit.overlaps = find_overlaps(technician, start, end, exclude_pk=visit.pk)
    if not changes:
        return visit
    visit.version += 1
    visit.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=visit, changes=changes,
                 customer_id=visit.customer_id)
    if {"scheduled_start", "scheduled_end", "technician"} & set(changes):
        _note(actor=actor, ticket=visit.ticket, body=_(
            "On-site visit moved: %(start)s – %(end)s, technician %(tech)s.")
            % {"start": _when(start), "end": _when(end), "tech": technician}, now=now)
    return visit


@transaction.atomic
def visit_cancel(*, actor, visit: FieldVisit, version: int | None = None, reason: str = "",
                 now: dt.datetime | None = None) -> FieldVisit:
    """Call off a scheduled visit; the ticket gets a note (and waits for a new one)."""
    visit = _locked_visit(actor, visit)
    party_perms.require(can_dispatch(actor, visit.ticket))
    check_version(visit, version)
    if visit.status != VisitStatus.SCHEDULED:
        raise ValidationError({"status": [_("Only a scheduled visit can be cancelled.")]})
    before = audit.snapshot(visit, ["status"])
    visit.status = VisitStatus.CANCELLED
    visit.version += 1
    visit.save()
    reason = (reason or "").strip()
    changes = audit.diff(before, audit.snapshot(visit, ["status"]))
    if reason:
        changes["reason"] = [None, reason]
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=visit, changes=changes,
                 customer_id=visit.customer_id)
    body = _("On-site visit of %(start)s cancelled.") % {"start": _when(visit.scheduled_start)}
    if reason:
        body += " " + _("Reason: %(reason)s") % {"reason": reason}
    _note(actor=actor, ticket=visit.ticket, body=body, now=now)
    return visit


# ---------------------------------------------------------------- the visit report


def _quantity(value: Any) -> int | float | None:
    try:
        q = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not q.is_finite() or q <= 0:
        return None
    return int(q) if q == q.to_integral_value() else float(q)


def clean_parts(parts: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of {"part", "quantity"} (blank rows dropped) and the problems found."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, row in enumerate(parts or [], start=1):
        if not isinstance(row, dict):
            problems.append(_("Line %(n)s: give a part and a quantity.") % {"n": i})
            continue
        part = str(row.get("part") or "").strip()
        raw = row.get("quantity")
        if not part and raw in (None, ""):
            continue
        if not part:
            problems.append(_("Line %(n)s: which part?") % {"n": i})
            continue
        quantity = _quantity(raw)
        if quantity is None:
            problems.append(_("Line %(n)s (%(part)s): the quantity must be a positive "
                              "number.") % {"n": i, "part": part})
            continue
        rows.append({"part": part[:200], "quantity": quantity})
    return rows, problems


def _minutes(value: Any, key: str, errors: dict[str, list[str]]) -> int:
    try:
        minutes = int(value or 0)
    except (TypeError, ValueError):
        minutes = -1
    if minutes < 0 or minutes > MAX_MINUTES:
        errors[key] = [_("Give the minutes as a whole number from 0 to 1440.")]
        return 0
    return minutes


def report_summary(visit: FieldVisit) -> str:
    """The visit report as the text of the ticket note."""
    lines = [_("Visit report (%(start)s, %(tech)s):") % {
        "start": _when(visit.scheduled_start), "tech": visit.technician}]
    if visit.work_done:
        lines.append(_("Work done: %(text)s") % {"text": visit.work_done})
    if visit.parts_used:
        parts = ", ".join(f"{r['part']} × {r['quantity']}" for r in visit.parts_used)
        lines.append(_("Parts used: %(parts)s") % {"parts": parts})
    if visit.signed_off_by:
        lines.append(_("Signed off by: %(name)s") % {"name": visit.signed_off_by})
    lines.append(_("Time on site: %(site)s min; travel: %(travel)s min") % {
        "site": visit.time_spent_minutes, "travel": visit.travel_minutes})
    lines.append(_("Outcome: %(outcome)s") % {"outcome": visit.get_outcome_display()})
    return "\n".join(lines)


@transaction.atomic
def visit_report(*, actor, visit: FieldVisit, work_done: str, parts_used: Any,
                 signed_off_by: str, time_spent_minutes: Any, travel_minutes: Any,
                 outcome: str, version: int | None,
                 now: dt.datetime | None = None) -> FieldVisit:
    """File the report of a scheduled visit: the visit is done, the time is recorded
    (on-site and travel), the ticket gets the report as a note, and the ticket is
    resolved (outcome "resolved") or kept open (outcome "follow_up")."""
    visit = _locked_visit(actor, visit)
    party_perms.require(can_report_visit(actor, visit))
    check_version(visit, version)
    errors: dict[str, list[str]] = {}
    if visit.status != VisitStatus.SCHEDULED:
        errors["status"] = [_("This visit is %(status)s; a report is filed once, for a "
                              "scheduled visit.") % {"status": visit.get_status_display()}]
    work_done = (work_done or "").strip()
    signed_off_by = (signed_off_by or "").strip()
    if outcome not in VisitOutcome.values:
        errors["outcome"] = [_("Say whether the problem is resolved or needs follow-up.")]
    elif outcome == VisitOutcome.RESOLVED:
        if not work_done:
            errors["work_done"] = [_("Describe the work done before closing the ticket.")]
        if not signed_off_by:
            errors["signed_off_by"] = [_("A resolved visit needs the name of the customer's "
                                         "person who signed it off.")]
    parts, problems = clean_parts(parts_used)
    if problems:
        errors["parts_used"] = problems
    site = _minutes(time_spent_minutes, "time_spent_minutes", errors)
    travel = _minutes(travel_minutes, "travel_minutes", errors)
    if len(signed_off_by) > 100:
        errors["signed_off_by"] = [_("At most 100 characters.")]
    if errors:
        raise ValidationError(errors)

    now = now or timezone.now()
    before = audit.snapshot(visit, REPORT_FIELDS)
    visit.status = VisitStatus.DONE
    visit.work_done, visit.parts_used, visit.signed_off_by = work_done, parts, signed_off_by
    visit.time_spent_minutes, visit.travel_minutes = site, travel
    visit.outcome, visit.completed_at = outcome, now
    visit.version += 1
    visit.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=visit,
                 changes=audit.diff(before, audit.snapshot(visit, REPORT_FIELDS)),
                 customer_id=visit.customer_id)

    ticket = visit.ticket
    day = timezone.localtime(visit.scheduled_start).date()
    record_time(customer=visit.customer, user=visit.technician, kind=TimeKind.VISIT,
                minutes=site, ticket=ticket, visit=visit, on=day)
    record_time(customer=visit.customer, user=visit.technician, kind=TimeKind.TRAVEL,
                minutes=travel, ticket=ticket, visit=visit, on=day)
    _note(actor=actor, ticket=ticket, body=report_summary(visit), now=now)

    ticket = Ticket.all_objects.get(pk=ticket.pk)
    services = _ticket_services()
    if outcome == VisitOutcome.RESOLVED:
        if ticket.status in OPEN_TICKET_STATUSES:
            services.ticket_set_status(actor=actor, ticket=ticket, status=TicketStatus.RESOLVED,
                                       now=now)
    elif ticket.status in (TicketStatus.NEW, TicketStatus.PENDING, TicketStatus.RESOLVED):
        services.ticket_set_status(actor=actor, ticket=ticket, status=TicketStatus.OPEN,
                                   note=_("A follow-up is needed after the on-site visit."),
                                   now=now)
    return visit
