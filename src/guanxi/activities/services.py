"""Writes of interactions: validate, save, audit, keep the customer's last contact current."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties import permissions as perms
from guanxi.parties.models import Customer

from .models import DEFAULT_CHANNEL, Interaction, InteractionKind

FIELDS = [
    "kind", "direction", "channel", "occurred_at", "subject", "body", "outcome",
    "duration_minutes", "next_step", "follow_up_on", "follow_up_done", "contact",
    "opportunity",
]
AUDIT_FIELDS = FIELDS + ["participant_users", "participant_contacts"]
# Kinds that count as contact with the customer for "My day" (a note does not).
CONTACT_KINDS = {k for k in InteractionKind.values if k != InteractionKind.NOTE}


def _apply(interaction: Interaction, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if key in FIELDS:
            setattr(interaction, key, value)
    if not (interaction.subject or "").strip():
        interaction.subject = interaction.get_kind_display()
    if not interaction.channel:
        interaction.channel = DEFAULT_CHANNEL.get(interaction.kind, "")
    contact = interaction.contact
    if contact is not None and contact.customer_id != interaction.customer_id:
        errors["contact"] = [_("This contact belongs to another customer.")]
    deal = interaction.opportunity
    if deal is not None and deal.customer_id != interaction.customer_id:
        errors["opportunity"] = [_("This opportunity belongs to another customer.")]
    for c in data.get("participant_contacts") or []:
        if c.customer_id != interaction.customer_id:
            errors["participant_contacts"] = [_("This contact belongs to another customer.")]
    try:
        interaction.full_clean(exclude=["customer", "contact", "created_by", "opportunity"])
    except ValidationError as exc:
        for k, v in exc.message_dict.items():
            errors.setdefault(k, v)
    if errors:
        raise ValidationError(errors)


def _set_participants(interaction: Interaction, data: dict[str, Any]) -> None:
    if "participant_users" in data:
        interaction.participant_users.set(data["participant_users"] or [])
    if "participant_contacts" in data:
        interaction.participant_contacts.set(data["participant_contacts"] or [])


def refresh_last_contact(customer_id: int) -> None:
    last = Interaction.objects.filter(customer_id=customer_id, kind__in=CONTACT_KINDS).aggregate(
        m=Max("occurred_at"))["m"]
    Customer.all_objects.filter(pk=customer_id).update(last_contact_at=last)


@transaction.atomic
def interaction_create(*, actor, customer: Customer, **data: Any) -> Interaction:
    """Log a call, visit, e-mail… on the customer's timeline."""
    perms.require(customer.deleted_at is None and perms.can_log_interaction(actor, customer))
    interaction = Interaction(customer=customer, created_by=actor)
    _apply(interaction, data)
    interaction.save()
    _set_participants(interaction, data)
    audit.record_create(actor=actor, obj=interaction, fields=AUDIT_FIELDS,
                        customer_id=customer.pk)
    if interaction.kind in CONTACT_KINDS and (
        customer.last_contact_at is None or interaction.occurred_at > customer.last_contact_at
    ):
        Customer.all_objects.filter(pk=customer.pk).update(last_contact_at=interaction.occurred_at)
    return interaction


def can_edit_interaction(user, interaction: Interaction) -> bool:
    if interaction.created_by_id == user.pk:
        return perms.can_log_interaction(user, interaction.customer)
    return perms.can_edit_customer(user, interaction.customer) and user.role != "rep"


@transaction.atomic
def interaction_update(*, actor, interaction: Interaction, version: int | None,
                       **data: Any) -> Interaction:
    interaction = Interaction.all_objects.select_for_update().get(pk=interaction.pk)
    perms.require(interaction.deleted_at is None and can_edit_interaction(actor, interaction))
    check_version(interaction, version)
    before = audit.snapshot(interaction, AUDIT_FIELDS)
    _apply(interaction, data)
    _set_participants(interaction, data)
    changes = audit.diff(before, audit.snapshot(interaction, AUDIT_FIELDS))
    if not changes:
        return interaction
    interaction.version += 1
    interaction.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=interaction, changes=changes,
                 customer_id=interaction.customer_id)
    if "occurred_at" in changes or "kind" in changes:
        refresh_last_contact(interaction.customer_id)
    return interaction


@transaction.atomic
def interaction_complete_follow_up(*, actor, interaction: Interaction) -> Interaction:
    return interaction_update(actor=actor, interaction=interaction, version=None,
                              follow_up_done=True)


@transaction.atomic
def interaction_delete(*, actor, interaction: Interaction) -> None:
    interaction = Interaction.all_objects.select_for_update().get(pk=interaction.pk)
    perms.require(interaction.deleted_at is None and can_edit_interaction(actor, interaction))
    interaction.deleted_at = timezone.now()
    interaction.deleted_by = actor
    interaction.version += 1
    interaction.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=interaction,
                 customer_id=interaction.customer_id)
    refresh_last_contact(interaction.customer_id)


@transaction.atomic
def interaction_restore(*, actor, interaction: Interaction) -> Interaction:
    interaction = Interaction.all_objects.select_for_update().get(pk=interaction.pk)
    perms.require(perms.can_restore(actor) and interaction.deleted_at is not None)
    interaction.deleted_at = None
    interaction.deleted_by = None
    interaction.version += 1
    interaction.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.RESTORE, obj=interaction,
                 customer_id=interaction.customer_id)
    refresh_last_contact(interaction.customer_id)
    return interaction
