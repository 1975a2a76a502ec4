"""Complaint handling: severity, root cause, corrective action, and the follow-up call
after the complaint is resolved.

    is_complaint(ticket) -> bool
    ensure_complaint(ticket) -> Complaint
    complaint_box_context(ticket) -> {"complaint": …}   (for partials/complaint_box.html)
    schedule_follow_up(*, ticket, actor) -> Task | None         (complaints.on_resolved)
    complaint_update(*, actor, ticket, version, **fields) -> Complaint
    record_follow_up(*, actor, ticket, satisfied, notes="", version=None, now=None)
        -> Complaint   (unsatisfied: a new complaint ticket is opened, see below)

The follow-up call is a Task (kind call) for the customer's owner (else the ticket's
assignee, else whoever resolved it), due N business days after the resolution (site
setting "complaint_follow_up_days", default 3). It is created by the system on
resolution, so it does not need the resolver's right to give tasks to the owner.

An unsatisfied customer gets a *new* complaint ticket (same customer, contact, type,
priority, product, asset, order, contract; severity and root cause category copied)
that names the original, rather than reopening the original: the original's SLA clock
has run out (reopening would escalate at once), the original keeps its recorded
outcome, the complaint rates count the renewed complaint, and the person who makes
the call (usually the sales rep who owns the customer) may open tickets but not reopen
another department's ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import Outcome, Task, TaskKind, TaskStatus
from guanxi.core import audit, site_settings
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction

from .calendar import add_business_days
from .models import (
    OPEN_TICKET_STATUSES,
    Complaint,
    MessageKind,
    RootCause,
    Severity,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from .permissions import can_work_ticket

log = logging.getLogger(__name__)
FOLLOW_UP_DAYS_KEY = "complaint_follow_up_days"
DEFAULT_FOLLOW_UP_DAYS = 3
FIELDS = ["severity", "root_cause_category", "root_cause", "corrective_action",
          "corrective_done_on"]
AUDIT_FIELDS = FIELDS + ["follow_up_task", "follow_up_done_at", "follow_up_satisfied",
                         "follow_up_notes"]


def follow_up_days() -> int:
    try:
        days = int(site_settings.get(FOLLOW_UP_DAYS_KEY) or DEFAULT_FOLLOW_UP_DAYS)
    except (TypeError, ValueError):
        days = DEFAULT_FOLLOW_UP_DAYS
    return max(0, days)


def is_complaint(ticket: Ticket) -> bool:
    return bool(ticket.type.is_complaint) or Complaint.objects.filter(ticket=ticket).exists()


def ensure_complaint(ticket: Ticket) -> Complaint:
    """The ticket's complaint record, created with the defaults when missing."""
    complaint, _created = Complaint.objects.get_or_create(ticket=ticket)
    return complaint


def complaint_box_context(ticket: Ticket) -> dict[str, Any]:
    """Context for servicedesk/partials/complaint_box.html on a ticket page: the saved
    complaint, an unsaved one with the defaults, or None when the ticket is not one."""
    found = (Complaint.objects.select_related("follow_up_task", "follow_up_task__assignee")
             .filter(ticket=ticket).first())
    if found is None and ticket.type.is_complaint:
        found = Complaint(ticket=ticket)
    return {"complaint": found}


def _locked(ticket: Ticket) -> Complaint:
    ensure_complaint(ticket)
    return Complaint.objects.select_for_update(of=("self",)).select_related(
        "ticket", "ticket__customer", "follow_up_task").get(ticket=ticket)


# ---------------------------------------------------------------- permissions


def can_handle_complaint(user, ticket: Ticket) -> bool:
    """Severity, root cause and corrective action: whoever works the ticket."""
    return can_work_ticket(user, ticket)


def can_record_follow_up(user, ticket: Ticket, complaint: Complaint | None = None) -> bool:
    """Whoever works the ticket, and the person the follow-up call was given to."""
    if can_work_ticket(user, ticket):
        return True
    task = complaint.follow_up_task if complaint is not None else None
    return bool(task is not None and user.is_active and task.assignee_id == user.pk)


# ---------------------------------------------------------------- the follow-up call


def _follow_up_assignee(ticket: Ticket, actor):
    for user in (ticket.customer.owner, ticket.assignee, actor, ticket.queue.manager):
        if user is not None and getattr(user, "pk", None) and user.is_active:
            return user
    return None


@transaction.atomic
def schedule_follow_up(*, ticket: Ticket, actor) -> Task | None:
    """Create the follow-up call of a resolved complaint, unless one is still open.

    Runs inside the ticket service's transaction (hooks.ticket_resolved)."""
    from guanxi.activities.task_services import AUDIT_FIELDS as TASK_AUDIT_FIELDS

    complaint = _locked(ticket)
    current = complaint.follow_up_task
    if current is not None and current.status == TaskStatus.OPEN and current.deleted_at is None:
        return None
    assignee = _follow_up_assignee(ticket, actor)
    if assignee is None:
        log.warning("no one to give the follow-up call of ticket %s to", ticket.pk)
        return None
    resolved = ticket.resolved_at or timezone.now()
    task = Task.objects.create(
        title=_("Complaint follow-up call %(ref)s") % {"ref": ticket.reference},
        kind=TaskKind.CALL, status=TaskStatus.OPEN, assignee=assignee,
        created_by=actor if getattr(actor, "pk", None) else None,
        due_at=add_business_days(resolved, follow_up_days()),
        customer=ticket.customer, contact=ticket.contact,
        notes=_("Call the customer about the resolved complaint “%(subject)s” and record "
                "whether they are satisfied.") % {"subject": ticket.subject},
    )
    audit.record_create(actor=actor, obj=task, fields=TASK_AUDIT_FIELDS,
                        customer_id=ticket.customer_id)
    before = audit.snapshot(complaint, AUDIT_FIELDS)
    complaint.follow_up_task = task
    complaint.follow_up_done_at = complaint.follow_up_satisfied = None
    complaint.follow_up_notes = ""
    _save(actor, complaint, before)
    return task


def _save(actor, complaint: Complaint, before: dict[str, Any]) -> dict[str, list[Any]]:
    changes = audit.diff(before, audit.snapshot(complaint, AUDIT_FIELDS))
    if changes:
        complaint.version += 1
        complaint.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=complaint, changes=changes,
                     customer_id=complaint.ticket.customer_id)
    return changes


# ---------------------------------------------------------------- handling


def _clean(complaint: Complaint, data: dict[str, Any], today: dt.date) -> None:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError({k: [_("Unknown field.")] for k in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if key in ("root_cause", "corrective_action"):
            value = (value or "").strip()
        elif key == "root_cause_category":
            value = value or ""
        setattr(complaint, key, value)
    if complaint.severity not in Severity.values:
        errors["severity"] = [_("Choose a valid severity.")]
    if complaint.root_cause_category and complaint.root_cause_category not in RootCause.values:
        errors["root_cause_category"] = [_("Choose a valid root cause category.")]
    done = complaint.corrective_done_on
    if done is not None:
        if not isinstance(done, dt.date):
            errors["corrective_done_on"] = [_("Enter a valid date.")]
        elif done > today:
            errors["corrective_done_on"] = [_("The corrective action cannot be done in the "
                                              "future; leave the date empty until it is.")]
        elif not complaint.corrective_action:
            errors["corrective_done_on"] = [_("Describe the corrective action before "
                                              "giving the date it was done.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def complaint_update(*, actor, ticket: Ticket, version: int | None, **data: Any) -> Complaint:
    """Change severity, root cause (category and text), corrective action and the date it
    was done. `version` as loaded (None skips the check)."""
    if not can_handle_complaint(actor, ticket):
        raise PermissionDenied(_("You may not handle this complaint."))
    if not is_complaint(ticket):
        raise ValidationError({"__all__": [_("This ticket is not a complaint.")]})
    complaint = _locked(ticket)
    check_version(complaint, version)
    before = audit.snapshot(complaint, AUDIT_FIELDS)
    _clean(complaint, data, timezone.localdate())
    _save(actor, complaint, before)
    return complaint


def _note(ticket: Ticket, actor, body: str, now: dt.datetime) -> None:
    TicketMessage.objects.create(ticket=ticket, kind=MessageKind.SYSTEM, body=body,
                                 author=actor if getattr(actor, "pk", None) else None,
                                 created_at=now)


def _complete_task(actor, task: Task | None, satisfied: bool, notes: str,
                   now: dt.datetime) -> None:
    """Close the follow-up call task; as the actor when they may (logs the call on the
    timeline), else by the system."""
    if task is None or task.status != TaskStatus.OPEN or task.deleted_at is not None:
        return
    from guanxi.activities.task_services import AUDIT_FIELDS as TASK_AUDIT_FIELDS
    from guanxi.activities.task_services import can_edit_task, task_complete
    from guanxi.parties.permissions import can_log_interaction

    outcome = Outcome.RESOLVED if satisfied else Outcome.FOLLOW_UP
    if can_edit_task(actor, task):
        task_complete(actor=actor, task=task, outcome=outcome, notes=notes, now=now,
                      log_interaction=can_log_interaction(actor, task.customer))
        return
    before = audit.snapshot(task, TASK_AUDIT_FIELDS)
    task.status, task.done_at, task.outcome = TaskStatus.DONE, now, outcome
    task.version += 1
    task.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=task, customer_id=task.customer_id,
                 changes=audit.diff(before, audit.snapshot(task, TASK_AUDIT_FIELDS)))


def _renew(actor, ticket: Ticket, complaint: Complaint, notes: str) -> Ticket:
    """Open a new complaint ticket for an unsatisfied customer (see the module doc)."""
    from . import services

    description = _("Follow-up of %(ref)s “%(subject)s”: the customer is not satisfied.") % {
        "ref": ticket.reference, "subject": ticket.subject}
    if notes:
        description = f"{description}\n\n{notes}"
    renewed = services.ticket_create(
        actor=actor, customer=ticket.customer, type=ticket.type,
        subject=(_("Not satisfied: %(subject)s") % {"subject": ticket.subject})[:200],
        description=description, contact=ticket.contact, channel="phone",
        priority=ticket.priority, asset=ticket.asset, order=ticket.order,
        contract=ticket.contract, product=ticket.product)
    new = ensure_complaint(renewed)
    if new.severity != complaint.severity or new.root_cause_category != \
            complaint.root_cause_category:
        new.severity, new.root_cause_category = complaint.severity, \
            complaint.root_cause_category
        new.save(update_fields=["severity", "root_cause_category"])
    return renewed


@transaction.atomic
def record_follow_up(*, actor, ticket: Ticket, satisfied: bool, notes: str = "",
                     version: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """Record the outcome of the follow-up call of a resolved complaint: satisfied or
    not, and notes. Closes the follow-up task. Not satisfied: a new complaint ticket is
    opened (returned as `complaint.renewed_ticket`, None otherwise)."""
    now = now or timezone.now()
    if not is_complaint(ticket):
        raise ValidationError({"__all__": [_("This ticket is not a complaint.")]})
    complaint = _locked(ticket)
    ticket = complaint.ticket
    if not can_record_follow_up(actor, ticket, complaint):
        raise PermissionDenied(_("You may not record the follow-up of this complaint."))
    check_version(complaint, version)
    if ticket.status in OPEN_TICKET_STATUSES or ticket.status == TicketStatus.MERGED:
        raise ValidationError({"satisfied": [_("The complaint is not resolved yet: record "
                                               "the follow-up call after it is.")]})
    if complaint.follow_up_done_at is not None:
        raise ValidationError({"satisfied": [_("The follow-up was already recorded.")]})
    if satisfied is None:
        raise ValidationError({"satisfied": [_("Say whether the customer is satisfied.")]})
    notes = (notes or "").strip()
    before = audit.snapshot(complaint, AUDIT_FIELDS)
    complaint.follow_up_done_at = now
    complaint.follow_up_satisfied = bool(satisfied)
    complaint.follow_up_notes = notes
    _complete_task(actor, complaint.follow_up_task, bool(satisfied), notes, now)
    _save(actor, complaint, before)
    complaint.renewed_ticket = None
    if satisfied:
        _note(ticket, actor, _("Follow-up call: the customer is satisfied.") +
              (f"\n{notes}" if notes else ""), now)
    else:
        renewed = _renew(actor, ticket, complaint, notes)
        complaint.renewed_ticket = renewed
        _note(ticket, actor, _("Follow-up call: the customer is not satisfied. New complaint "
                               "%(ref)s opened.") % {"ref": renewed.reference}
              + (f"\n{notes}" if notes else ""), now)
    return complaint
