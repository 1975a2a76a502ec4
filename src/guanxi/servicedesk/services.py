"""Writes of the service desk: tickets (create, edit, assign, messages, status, merge).
The set-up (ticket types, queues) is in `setup_services.py`.

Every function is keyword-only with the actor first, atomic, validated (ValidationError
keyed by field), audited (customer_id set, so the customer's history shows it) and
checks permissions before it writes anything. `now` is the clock (tests pass their own).
The SLA clock lives in `sla.py` (called here, in memory; we save); what happens after a
ticket is resolved lives in `hooks.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties.models import Customer

from . import hooks, sla
from . import permissions as perms
from .models import (
    Channel,
    Complaint,
    FieldVisit,
    MessageKind,
    Priority,
    Queue,
    Survey,
    Ticket,
    TicketMessage,
    TicketStatus,
    TicketType,
    TimeEntry,
)
from .timeentries import record_time

FIELDS = ["customer", "contact", "type", "queue", "assignee", "subject", "description",
          "channel", "priority", "status", "asset", "order", "contract", "product"]
# What ticket_update changes (status, assignee and queue have their own services).
EDITABLE = ["contact", "type", "subject", "description", "channel", "priority", "asset",
            "order", "contract", "product"]
LINKS = ("contact", "asset", "order", "contract")

# Allowed status changes through ticket_set_status ("merged" only through ticket_merge).
TRANSITIONS: dict[str, set[str]] = {
    TicketStatus.NEW: {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED,
                       TicketStatus.CLOSED},
    TicketStatus.OPEN: {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.PENDING: {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.RESOLVED: {TicketStatus.OPEN, TicketStatus.CLOSED},
    TicketStatus.CLOSED: {TicketStatus.OPEN},
    TicketStatus.MERGED: set(),
}
MESSAGE_KINDS = (MessageKind.REPLY, MessageKind.NOTE, MessageKind.INBOUND)
MAX_MINUTES = 24 * 60
logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- rules


def can_work_queue(user, queue: Queue) -> bool:
    """May `user` be assigned tickets of `queue`: a member, its manager or desk staff."""
    if user is None or not user.is_active or user.role == "readonly":
        return False
    if perms.is_desk_staff(user) or queue.manager_id == user.pk:
        return True
    return queue.members.filter(pk=user.pk).exists()


def _assignable(user, queue: Queue, customer: Customer) -> bool:
    """Works the queue and sees the customer (a ticket nobody can open is no use)."""
    return can_work_queue(user, queue) and _visible(user, customer)


def _check_assignee(user, queue: Queue, customer: Customer) -> None:
    if not can_work_queue(user, queue):
        raise ValidationError({"assignee": [
            _("%(user)s does not work the queue “%(queue)s”.")
            % {"user": user, "queue": queue.name}]})
    if not _visible(user, customer):
        raise ValidationError({"assignee": [
            _("%(user)s cannot see this customer.") % {"user": user}]})


def allowed_statuses(ticket: Ticket) -> list[str]:
    """The statuses `ticket` may move to, in the order of TicketStatus."""
    nxt = TRANSITIONS.get(ticket.status, set())
    return [s for s in TicketStatus.values if s in nxt]


def _require(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise PermissionDenied(message or _("You may not change this ticket."))


def _visible(user, customer: Customer) -> bool:
    return Customer.objects.visible_to(user).filter(pk=customer.pk).exists()


def _locked(ticket: Ticket) -> Ticket:
    # OF self: PostgreSQL refuses FOR UPDATE on the nullable side of the contact join.
    return (Ticket.all_objects.select_for_update(of=("self",))
            .select_related("customer", "queue", "type", "contact").get(pk=ticket.pk))


def _require_work(actor, ticket: Ticket) -> None:
    _require(ticket.deleted_at is None and _visible(actor, ticket.customer)
             and perms.can_work_ticket(actor, ticket))


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _save(ticket: Ticket) -> None:
    """Save every field but the time total (record_time keeps it with an F() update)."""
    names = [f.name for f in Ticket._meta.concrete_fields
             if not f.primary_key and f.name not in ("time_spent_minutes", "created_at")]
    ticket.save(update_fields=names)


def _system(ticket: Ticket, actor, body: str, now: dt.datetime) -> TicketMessage:
    return TicketMessage.objects.create(ticket=ticket, kind=MessageKind.SYSTEM, body=body,
                                        author=actor if getattr(actor, "pk", None) else None,
                                        created_at=now)


def _name(user) -> str:
    return str(user) if user is not None else _("nobody")


def _clean(ticket: Ticket, data: dict[str, Any]) -> None:
    """Apply `data` and validate the ticket (errors keyed by field)."""
    for key, value in data.items():
        setattr(ticket, key, value)
    errors: dict[str, list[str]] = {}
    if not (ticket.subject or "").strip():
        errors["subject"] = [_("A ticket needs a subject.")]
    ticket.subject = (ticket.subject or "").strip()
    for name in LINKS:
        linked = getattr(ticket, name)
        if linked is not None and linked.customer_id != ticket.customer_id:
            errors[name] = [_("This belongs to another customer.")]
    if ticket.channel not in Channel.values:
        errors["channel"] = [_("Pick a channel from the list.")]
    if ticket.priority not in Priority.values:
        errors["priority"] = [_("Pick a priority from the list.")]
    try:
        ticket.full_clean(exclude=["customer", "contact", "type", "queue", "assignee", "asset",
                                   "order", "contract", "product", "sla_policy",
                                   "escalated_to", "merged_into", "created_by", "deleted_by",
                                   "subject", "channel", "priority"])
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, messages)
    if errors:
        raise ValidationError(errors)


def _ensure_complaint(ticket: Ticket, now: dt.datetime) -> Complaint | None:
    if not ticket.type.is_complaint or Complaint.objects.filter(ticket=ticket).exists():
        return None
    return Complaint.objects.create(ticket=ticket, created_at=now)


# ---------------------------------------------------------------- create / update


@transaction.atomic
def ticket_create(*, actor, customer: Customer, type: TicketType, subject: str,
                  description: str = "", contact=None, channel: str = Channel.PHONE,
                  priority: str | None = None, asset=None, order=None, contract=None,
                  product=None, assignee=None, now: dt.datetime | None = None) -> Ticket:
    """Open a ticket: routed to the type's queue, assigned to `assignee` or the queue's
    default assignee, its SLA clock started; complaint types get their Complaint row."""
    _require(customer.deleted_at is None and _visible(actor, customer)
             and perms.can_create_ticket(actor, customer),
             _("You may not open a ticket for this customer."))
    now = _now(now)
    if type is None or not type.active:
        raise ValidationError({"type": [_("Pick an active ticket type.")]})
    queue = type.queue
    if assignee is not None:
        _check_assignee(assignee, queue, customer)
    else:
        assignee = queue.default_assignee
        if assignee is not None and not _assignable(assignee, queue, customer):
            assignee = None
    if product is None and asset is not None:
        product = asset.product
    ticket = Ticket(customer=customer, type=type, queue=queue, created_by=actor,
                    created_at=now,
                    status=TicketStatus.OPEN if assignee else TicketStatus.NEW)
    _clean(ticket, {"subject": subject, "description": description or "", "contact": contact,
                    "channel": channel or Channel.PHONE,
                    "priority": priority or type.default_priority, "asset": asset,
                    "order": order, "contract": contract, "product": product,
                    "assignee": assignee})
    sla.start(ticket, now)
    ticket.save()
    _ensure_complaint(ticket, now)
    routed = _("Opened via %(channel)s as “%(type)s”, routed to %(queue)s.") % {
        "channel": ticket.get_channel_display(), "type": type.name, "queue": queue.name}
    if assignee is not None:
        routed += " " + _("Assigned to %(user)s.") % {"user": assignee}
    _system(ticket, actor, routed, now)
    audit.record_create(actor=actor, obj=ticket, fields=FIELDS, customer_id=customer.pk)
    return ticket


def _reroute(ticket: Ticket, new_type: TicketType, actor, now: dt.datetime) -> list[str]:
    """The type changed: move to the new type's queue (and its default assignee when the
    current one does not work it). Returns what happened, for the system message."""
    notes = []
    if new_type.queue_id != ticket.queue_id:
        ticket.queue = new_type.queue
        notes.append(_("Routed to %(queue)s.") % {"queue": new_type.queue.name})
        if ticket.assignee is not None and not can_work_queue(ticket.assignee, ticket.queue):
            default = ticket.queue.default_assignee
            ticket.assignee = (default if default is not None
                               and _assignable(default, ticket.queue, ticket.customer)
                               else None)
            notes.append(_("Assigned to %(user)s.") % {"user": _name(ticket.assignee)})
        if ticket.assignee is None and ticket.status == TicketStatus.OPEN:
            ticket.status = TicketStatus.NEW
    return notes


@transaction.atomic
def ticket_update(*, actor, ticket: Ticket, version: int | None,
                  now: dt.datetime | None = None, **fields: Any) -> Ticket:
    """Edit the ticket's details. A new type re-routes it to that type's queue; a new
    priority recomputes the SLA targets. Raises ConflictError on a stale version."""
    ticket = _locked(ticket)
    _require_work(actor, ticket)
    check_version(ticket, version)
    now = _now(now)
    if ticket.status == TicketStatus.MERGED:
        raise ValidationError(_("A merged ticket cannot be changed; change the ticket it was "
                                "merged into."))
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationError({k: [_("This field cannot be changed here.")] for k in unknown})
    before = audit.snapshot(ticket, FIELDS)
    old_type, old_priority = ticket.type, ticket.priority
    new_type = fields.get("type", old_type)
    if new_type is None or (new_type.pk != old_type.pk and not new_type.active):
        raise ValidationError({"type": [_("Pick an active ticket type.")]})
    if "asset" in fields and "product" not in fields and fields["asset"] is not None \
            and ticket.product_id is None:
        fields["product"] = fields["asset"].product
    _clean(ticket, fields)
    notes: list[str] = []
    if new_type.pk != old_type.pk:
        notes.append(_("Type: %(old)s → %(new)s.") % {"old": old_type.name,
                                                       "new": new_type.name})
        notes += _reroute(ticket, new_type, actor, now)
    if ticket.priority != old_priority:
        notes.append(_("Priority: %(old)s → %(new)s.") % {
            "old": Priority(old_priority).label, "new": ticket.get_priority_display()})
        sla.reprioritise(ticket, now)
    changes = audit.diff(before, audit.snapshot(ticket, FIELDS))
    if not changes:
        return ticket
    ticket.version += 1
    _save(ticket)
    if new_type.pk != old_type.pk:
        _ensure_complaint(ticket, now)
    if notes:
        _system(ticket, actor, " ".join(notes), now)
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=ticket, changes=changes,
                 customer_id=ticket.customer_id)
    return ticket


@transaction.atomic
def ticket_assign(*, actor, ticket: Ticket, assignee, queue: Queue | None = None,
                  now: dt.datetime | None = None) -> Ticket:
    """Give the ticket to `assignee` (None: nobody), optionally moving it to `queue`.
    The assignee must work the (new) queue; a new ticket becomes open."""
    ticket = _locked(ticket)
    _require_work(actor, ticket)
    now = _now(now)
    if ticket.status == TicketStatus.MERGED:
        raise ValidationError(_("A merged ticket cannot be assigned."))
    target_queue = queue or ticket.queue
    if queue is not None and not queue.active and queue.pk != ticket.queue_id:
        raise ValidationError({"queue": [_("This queue is not active.")]})
    if assignee is not None:
        _check_assignee(assignee, target_queue, ticket.customer)
    before = audit.snapshot(ticket, ["queue", "assignee", "status"])
    notes = []
    if target_queue.pk != ticket.queue_id:
        notes.append(_("Moved to %(queue)s.") % {"queue": target_queue.name})
        ticket.queue = target_queue
    if (assignee.pk if assignee else None) != ticket.assignee_id:
        notes.append(_("Assigned to %(user)s.") % {"user": _name(assignee)})
        ticket.assignee = assignee
    if assignee is not None and ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.OPEN
    elif assignee is None and ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.NEW
    changes = audit.diff(before, audit.snapshot(ticket, ["queue", "assignee", "status"]))
    if not changes:
        return ticket
    ticket.version += 1
    _save(ticket)
    _system(ticket, actor, " ".join(notes), now)
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=ticket, changes=changes,
                 customer_id=ticket.customer_id)
    return ticket


# ---------------------------------------------------------------- messages


def reply_address(ticket: Ticket) -> str:
    """Where replies go: the contact's e-mail, else the customer's ("" when none)."""
    if ticket.contact_id and ticket.contact.email:
        return ticket.contact.email
    return ticket.customer.email or ""


def reply_subject(ticket: Ticket) -> str:
    return f"[{ticket.reference}] {ticket.subject}"


def _send_reply(ticket: Ticket, body: str, address: str) -> None:
    """E-mail the reply once the transaction commits (a rolled-back reply sends nothing;
    a mail server that is down does not undo the saved reply)."""
    with translation.override(settings.LANGUAGE_CODE):  # the customer's language, not ours
        footer = _("Please keep the reference %(ref)s in the subject when you answer.") % {
            "ref": ticket.reference}
    subject, text = reply_subject(ticket), f"{body}\n\n--\n{footer}\n"

    def send() -> None:
        try:
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # logged; the reply itself is saved
            logger.exception("could not e-mail the reply of ticket %s", ticket.pk)

    transaction.on_commit(send)


@transaction.atomic
def ticket_add_message(*, actor, ticket: Ticket, kind: str, body: str,
                       time_spent_minutes: int = 0,
                       now: dt.datetime | None = None) -> TicketMessage:
    """Add a reply to the customer (e-mailed when there is an address; the first one
    stops the first-response clock), an internal note (never e-mailed) or a message
    received from the customer. Time spent is recorded for cost to serve."""
    ticket = _locked(ticket)
    if kind not in MESSAGE_KINDS:
        raise ValidationError({"kind": [_("Pick reply, internal note or customer message.")]})
    allowed = (perms.can_comment_ticket(actor, ticket) if kind == MessageKind.NOTE
               else perms.can_work_ticket(actor, ticket))
    _require(ticket.deleted_at is None and _visible(actor, ticket.customer) and allowed)
    now = _now(now)
    body = (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not body:
        errors["body"] = [_("Write a message.")]
    minutes = time_spent_minutes or 0
    if minutes < 0 or minutes > MAX_MINUTES:
        errors["time_spent_minutes"] = [_("Enter the minutes spent (0 to 1440).")]
    if ticket.status == TicketStatus.MERGED:
        errors["__all__"] = [_("This ticket was merged into %(ref)s; write there.") % {
            "ref": ticket.merged_into.reference if ticket.merged_into else "—"}]
    if errors:
        raise ValidationError(errors)
    message = TicketMessage(ticket=ticket, kind=kind, body=body, author=actor,
                            created_at=now, time_spent_minutes=minutes)
    changed = False
    if kind == MessageKind.REPLY:
        if ticket.first_responded_at is None:
            sla.record_response(ticket, now)
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
            changed = True
        if ticket.status == TicketStatus.NEW:
            ticket.status = TicketStatus.OPEN
            changed = True
        message.emailed_to = reply_address(ticket)
    elif kind == MessageKind.INBOUND and ticket.status == TicketStatus.PENDING:
        ticket.status = TicketStatus.OPEN
        changed = True
    message.save()
    if changed:
        ticket.version += 1
        _save(ticket)
    record_time(customer=ticket.customer, user=actor, kind="ticket", minutes=minutes,
                ticket=ticket, on=timezone.localdate(now))
    if message.emailed_to:
        _send_reply(ticket, body, message.emailed_to)
    changes: dict[str, list[Any]] = {"kind": [None, kind], "ticket": [None, ticket.reference]}
    if minutes:
        changes["time_spent_minutes"] = [None, minutes]
    if message.emailed_to:
        changes["emailed_to"] = [None, message.emailed_to]
    audit.record(actor=actor, action=AuditAction.CREATE, obj=message, changes=changes,
                 customer_id=ticket.customer_id)
    return message


# ---------------------------------------------------------------- status


def _resolve(ticket: Ticket, now: dt.datetime) -> None:
    sla.record_resolution(ticket, now)
    if ticket.resolved_at is None:
        ticket.resolved_at = now


@transaction.atomic
def ticket_set_status(*, actor, ticket: Ticket, status: str, note: str = "",
                      now: dt.datetime | None = None) -> Ticket:
    """Move the ticket along: new/open/pending/resolved/closed (see TRANSITIONS).

    Resolving (or closing a ticket that was never resolved) stops the resolution clock
    and runs hooks.ticket_resolved (complaint follow-up, satisfaction survey).
    Reopening clears resolved/closed; the system message keeps what they were."""
    ticket = _locked(ticket)
    _require_work(actor, ticket)
    now = _now(now)
    old = ticket.status
    if status == old:
        return ticket
    if status not in TRANSITIONS.get(old, set()):
        raise ValidationError({"status": [
            _("A ticket cannot go from “%(old)s” to “%(new)s”.")
            % {"old": TicketStatus(old).label if old in TicketStatus.values else old,
               "new": TicketStatus(status).label if status in TicketStatus.values
               else status}]})
    before = audit.snapshot(ticket, ["status", "resolved_at", "closed_at"])
    text = _("Status: %(old)s → %(new)s.") % {"old": ticket.get_status_display(),
                                             "new": TicketStatus(status).label}
    resolved_now = False
    if status == TicketStatus.RESOLVED:
        _resolve(ticket, now)
        resolved_now = True
    elif status == TicketStatus.CLOSED:
        if ticket.resolved_at is None:
            _resolve(ticket, now)
            resolved_now = True
        ticket.closed_at = now
    elif old in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        # Reopened: the earlier resolution stays in the conversation, not on the ticket.
        if ticket.resolved_at:
            text += " " + _("It had been resolved on %(at)s.") % {
                "at": timezone.localtime(ticket.resolved_at).strftime("%Y-%m-%d %H:%M")}
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.status = status
    note = (note or "").strip()
    if note:
        text += "\n" + note
    ticket.version += 1
    _save(ticket)
    _system(ticket, actor, text, now)
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=ticket,
                 changes=audit.diff(before, audit.snapshot(ticket, ["status", "resolved_at",
                                                                    "closed_at"])),
                 customer_id=ticket.customer_id)
    if resolved_now:
        hooks.ticket_resolved(ticket=ticket, actor=actor)
    return ticket


# ---------------------------------------------------------------- merge


@transaction.atomic
def ticket_merge(*, actor, source: Ticket, target: Ticket,
                 now: dt.datetime | None = None) -> Ticket:
    """Merge the duplicate `source` into `target` (same customer): its messages, visits,
    time entries and surveys move to the target; the source ends as "merged"."""
    if source.pk == target.pk:
        raise ValidationError({"target": [_("A ticket cannot be merged into itself.")]})
    first, second = sorted([source.pk, target.pk])
    locked = {t.pk: t for t in (Ticket.all_objects.select_for_update(of=("self",))
                                .select_related("customer", "queue", "type")
                                .filter(pk__in=[first, second]))}
    source, target = locked[source.pk], locked[target.pk]
    _require_work(actor, source)
    _require_work(actor, target)
    now = _now(now)
    if source.customer_id != target.customer_id:
        raise ValidationError({"target": [_("Only tickets of the same customer can be merged.")]})
    if target.status == TicketStatus.MERGED or target.deleted_at is not None:
        raise ValidationError({"target": [_("That ticket was itself merged; pick the one it "
                                            "was merged into.")]})
    if source.status == TicketStatus.MERGED:
        raise ValidationError({"source": [_("This ticket is already merged.")]})
    moved = {
        "messages": TicketMessage.objects.filter(ticket=source).update(ticket=target),
        "visits": FieldVisit.objects.filter(ticket=source).update(ticket=target),
        "time_entries": TimeEntry.objects.filter(ticket=source).update(ticket=target),
        "surveys": Survey.objects.filter(ticket=source).update(ticket=target),
    }
    Ticket.all_objects.filter(merged_into=source).update(merged_into=target)
    if not Complaint.objects.filter(ticket=target).exists():
        Complaint.objects.filter(ticket=source).update(ticket=target)
    minutes = Ticket.all_objects.filter(pk=source.pk).values_list(
        "time_spent_minutes", flat=True).get()
    if minutes:
        Ticket.all_objects.filter(pk=target.pk).update(
            time_spent_minutes=F("time_spent_minutes") + minutes)
        Ticket.all_objects.filter(pk=source.pk).update(time_spent_minutes=0)
    if target.first_responded_at is None and source.first_responded_at is not None:
        target.first_responded_at = source.first_responded_at
    old_status = source.status
    source.status = TicketStatus.MERGED
    source.merged_into = target
    source.closed_at = source.closed_at or now
    source.version += 1
    target.version += 1
    _save(source)
    _save(target)
    _system(source, actor, _("Merged into %(ref)s “%(subject)s”; its conversation continues "
                             "there.") % {"ref": target.reference, "subject": target.subject},
            now)
    _system(target, actor, _("%(ref)s “%(subject)s” was merged into this ticket (%(n)s "
                             "messages moved).") % {"ref": source.reference,
                                                    "subject": source.subject,
                                                    "n": moved["messages"]}, now)
    audit.record(actor=actor, action=AuditAction.MERGE, obj=source,
                 changes={"status": [old_status, TicketStatus.MERGED],
                          "merged_into": [None, str(target)]},
                 customer_id=source.customer_id)
    audit.record(actor=actor, action=AuditAction.MERGE, obj=target,
                 changes={"merged": [None, source.reference],
                          **{k: [None, v] for k, v in moved.items() if v}},
                 customer_id=target.customer_id)
    return target
