"""Writes of the service desk set-up: ticket types (which queue each routes to) and
queues (team, manager, members, default assignee). Administrators only.

Keyword-only with the actor first, atomic, validated (ValidationError keyed by field),
audited; permissions are checked before any write, so a refused call changes nothing.
A type or queue in use cannot be deleted, only deactivated. The ticket services are in
`services.py`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.models import AuditAction

from . import permissions as perms
from .models import Queue, Ticket, TicketType

TYPE_FIELDS = ["code", "name", "queue", "default_priority", "is_complaint", "order", "active"]
QUEUE_FIELDS = ["code", "name", "team", "manager", "default_assignee", "order", "active"]


def _require_setup(actor) -> None:
    if not perms.can_manage_service_setup(actor):
        raise PermissionDenied(_("Only an administrator may change the service desk set-up."))


def _setup_save(*, actor, obj, fields: list[str], data: dict[str, Any],
                m2m: dict[str, list] | None = None) -> Any:
    creating = obj.pk is None
    watched = fields + list(m2m or {})
    before = {} if creating else audit.snapshot(obj, watched)
    for key, value in data.items():
        if key in fields:
            setattr(obj, key, value)
    obj.full_clean()
    obj.save()
    for name, values in (m2m or {}).items():
        getattr(obj, name).set(values)
    if creating:
        audit.record_create(actor=actor, obj=obj, fields=watched)
    else:
        changes = audit.diff(before, audit.snapshot(obj, watched))
        if changes:
            audit.record(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes)
    return obj


@transaction.atomic
def ticket_type_save(*, actor, ticket_type: TicketType | None = None,
                     **data: Any) -> TicketType:
    """Create (ticket_type=None) or change a ticket type."""
    _require_setup(actor)
    obj = ticket_type or TicketType()
    queue = data.get("queue", obj.queue if obj.queue_id else None)
    if data.get("active", obj.active) and queue is not None and not queue.active:
        raise ValidationError({"queue": [_("An active type needs an active queue.")]})
    return _setup_save(actor=actor, obj=obj, fields=TYPE_FIELDS, data=data)


@transaction.atomic
def queue_save(*, actor, queue: Queue | None = None, members: list | None = None,
               **data: Any) -> Queue:
    """Create (queue=None) or change a queue; `members` replaces its members when given."""
    _require_setup(actor)
    obj = queue or Queue()
    member_ids = ({m.pk for m in members} if members is not None
                  else set(obj.members.values_list("pk", flat=True)) if obj.pk else set())
    default = data.get("default_assignee", obj.default_assignee if obj.pk else None)
    manager = data.get("manager", obj.manager if obj.pk else None)
    if default is not None and not (
            default.pk in member_ids or (manager and manager.pk == default.pk)
            or perms.is_desk_staff(default)):
        raise ValidationError({"default_assignee": [
            _("The default assignee must be a member or the manager of the queue.")]})
    if obj.pk and data.get("active") is False and TicketType.objects.filter(
            queue=obj, active=True).exists():
        raise ValidationError({"active": [
            _("Active ticket types route to this queue; move or deactivate them first.")]})
    return _setup_save(actor=actor, obj=obj, fields=QUEUE_FIELDS, data=data,
                       m2m={"members": list(members)} if members is not None else None)


def ticket_type_in_use(ticket_type: TicketType) -> bool:
    return Ticket.all_objects.filter(type=ticket_type).exists()


def queue_in_use(queue: Queue) -> bool:
    return (Ticket.all_objects.filter(queue=queue).exists()
            or TicketType.objects.filter(queue=queue).exists())


@transaction.atomic
def ticket_type_delete(*, actor, ticket_type: TicketType) -> None:
    """Only a type no ticket ever used can be deleted; otherwise deactivate it."""
    _require_setup(actor)
    if ticket_type_in_use(ticket_type):
        raise ValidationError(_("Tickets use this type: deactivate it instead."))
    audit.record(actor=actor, action=AuditAction.PURGE, obj=ticket_type)
    ticket_type.delete()


@transaction.atomic
def queue_delete(*, actor, queue: Queue) -> None:
    """Only a queue without tickets or ticket types can be deleted."""
    _require_setup(actor)
    if queue_in_use(queue):
        raise ValidationError(_("Tickets or ticket types use this queue: deactivate it "
                                "instead."))
    audit.record(actor=actor, action=AuditAction.PURGE, obj=queue)
    queue.delete()
