"""Writes of customers and contacts: validate, save, audit, all in one transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction

from . import permissions as perms
from .custom_fields import clean_custom
from .models import Contact, Customer, Tag
from .normalize import company_key, name_block, normalize_email, normalize_phone, to_halfwidth
from .search import build_search_text

CUSTOMER_FIELDS = [
    "kind", "name", "short_name", "country", "province", "city", "district", "street",
    "postal_code", "phone", "phone_ext", "email", "website", "industry", "source", "team",
    "owner", "tier", "stage", "credit_days", "credit_limit", "consent_email", "consent_sms",
    "consent_phone", "consent_mail", "custom", "notes", "external_id",
]
CUSTOMER_AUDIT_FIELDS = CUSTOMER_FIELDS + ["shared_with", "tags"]
CONTACT_FIELDS = [
    "name", "title", "department", "mobile", "phone", "phone_ext", "email", "wechat",
    "is_primary", "consent_email", "consent_sms", "consent_phone", "notes",
]


def _clean_customer(customer: Customer, data: dict[str, Any]) -> None:
    """Normalise and validate in place; raise ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    for key in ("name", "short_name", "street", "city", "province", "district"):
        if key in data and isinstance(data[key], str):
            data[key] = to_halfwidth(data[key]) if key != "street" else data[key].strip()
    if "name" in data and not data["name"]:
        errors["name"] = [_("A customer needs a name.")]
    if "phone" in data:
        try:
            phone, ext = normalize_phone(data["phone"] or "")
            data["phone"] = phone
            if ext and not data.get("phone_ext"):
                data["phone_ext"] = ext
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if "email" in data:
        try:
            data["email"] = normalize_email(data["email"] or "")
        except ValidationError as exc:
            errors["email"] = exc.messages
    if "custom" in data:
        industry = data.get("industry", customer.industry)
        try:
            data["custom"] = clean_custom(getattr(industry, "pk", industry), data["custom"] or {},
                                          existing=customer.custom)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for key, value in data.items():
        if key in CUSTOMER_FIELDS:
            setattr(customer, key, value)
    customer.name_key = company_key(customer.name) if customer.kind == "org" else ""
    customer.name_block = name_block(customer.city, customer.name_key)
    try:
        customer.full_clean(exclude=["search_text", "shared_with", "tags", "custom", "name_key",
                                     "name_block", "merged_into"])
    except ValidationError as exc:
        for k, v in exc.message_dict.items():
            errors.setdefault(k, v)
    if errors:
        raise ValidationError(errors)


def _set_relations(customer: Customer, data: dict[str, Any]) -> None:
    if "shared_with" in data:
        customer.shared_with.set(data["shared_with"] or [])
    if "tags" in data:
        tags = []
        for t in data["tags"] or []:
            if isinstance(t, Tag):
                tags.append(t)
            elif str(t).strip():
                tags.append(Tag.objects.get_or_create(name=to_halfwidth(str(t)))[0])
        customer.tags.set(tags)


@transaction.atomic
def customer_create(*, actor, **data: Any) -> Customer:
    perms.require(perms.can_create_customer(actor))
    if "owner" not in data and actor.role == "rep":
        data["owner"] = actor
    if "team" not in data and data.get("owner") is not None:
        data["team"] = data["owner"].team
    customer = Customer()
    data.setdefault("custom", {})
    _clean_customer(customer, data)
    customer.search_text = build_search_text(customer, contacts=[])
    customer.save()
    _set_relations(customer, data)
    audit.record_create(actor=actor, obj=customer, fields=CUSTOMER_AUDIT_FIELDS,
                        customer_id=customer.pk)
    return customer


def _locked(model, pk: int):
    return model.all_objects.select_for_update().get(pk=pk)


@transaction.atomic
def customer_update(*, actor, customer: Customer, version: int | None, **data: Any) -> Customer:
    """Apply `data` if nobody saved since `version`; otherwise raise ConflictError."""
    customer = _locked(Customer, customer.pk)
    perms.require(customer.deleted_at is None and perms.can_edit_customer(actor, customer))
    check_version(customer, version)
    before = audit.snapshot(customer, CUSTOMER_AUDIT_FIELDS)
    _clean_customer(customer, data)
    _set_relations(customer, data)
    after = audit.snapshot(customer, CUSTOMER_AUDIT_FIELDS)
    changes = audit.diff(before, after)
    if not changes:
        return customer
    customer.version += 1
    customer.search_text = build_search_text(customer)
    customer.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=customer, changes=changes,
                 customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_delete(*, actor, customer: Customer) -> None:
    """Move to the recycle bin (soft delete); an administrator can restore it."""
    customer = _locked(Customer, customer.pk)
    perms.require(customer.deleted_at is None and perms.can_delete_customer(actor, customer))
    customer.deleted_at = timezone.now()
    customer.deleted_by = actor
    customer.version += 1
    customer.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=customer, customer_id=customer.pk)


@transaction.atomic
def customer_restore(*, actor, customer: Customer) -> Customer:
    customer = _locked(Customer, customer.pk)
    perms.require(perms.can_restore(actor) and customer.deleted_at is not None)
    customer.deleted_at = None
    customer.deleted_by = None
    customer.version += 1
    customer.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.RESTORE, obj=customer, customer_id=customer.pk)
    return customer


def refresh_search_text(customer: Customer) -> None:
    Customer.all_objects.filter(pk=customer.pk).update(search_text=build_search_text(customer))


def _clean_contact(contact: Contact, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "name" in data:
        data["name"] = to_halfwidth(data["name"] or "")
        if not data["name"]:
            errors["name"] = [_("A contact needs a name.")]
    for key in ("mobile", "phone"):
        if key in data:
            try:
                number, ext = normalize_phone(data[key] or "")
                data[key] = number
                if ext and key == "phone" and not data.get("phone_ext"):
                    data["phone_ext"] = ext
            except ValidationError as exc:
                errors[key] = exc.messages
    if "email" in data:
        try:
            data["email"] = normalize_email(data["email"] or "")
        except ValidationError as exc:
            errors["email"] = exc.messages
    for key, value in data.items():
        if key in CONTACT_FIELDS:
            setattr(contact, key, value)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def contact_create(*, actor, customer: Customer, **data: Any) -> Contact:
    perms.require(perms.can_edit_customer(actor, customer))
    contact = Contact(customer=customer)
    _clean_contact(contact, data)
    contact.save()
    audit.record_create(actor=actor, obj=contact, fields=CONTACT_FIELDS, customer_id=customer.pk)
    refresh_search_text(customer)
    return contact


@transaction.atomic
def contact_update(*, actor, contact: Contact, version: int | None, **data: Any) -> Contact:
    contact = _locked(Contact, contact.pk)
    perms.require(contact.deleted_at is None and perms.can_edit_customer(actor, contact.customer))
    check_version(contact, version)
    before = audit.snapshot(contact, CONTACT_FIELDS)
    _clean_contact(contact, data)
    changes = audit.diff(before, audit.snapshot(contact, CONTACT_FIELDS))
    if not changes:
        return contact
    contact.version += 1
    contact.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=contact, changes=changes,
                 customer_id=contact.customer_id)
    refresh_search_text(contact.customer)
    return contact


@transaction.atomic
def contact_delete(*, actor, contact: Contact) -> None:
    contact = _locked(Contact, contact.pk)
    perms.require(contact.deleted_at is None and perms.can_edit_customer(actor, contact.customer))
    contact.deleted_at = timezone.now()
    contact.deleted_by = actor
    contact.version += 1
    contact.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=contact,
                 customer_id=contact.customer_id)
    refresh_search_text(contact.customer)


@transaction.atomic
def contact_restore(*, actor, contact: Contact) -> Contact:
    contact = _locked(Contact, contact.pk)
    perms.require(perms.can_restore(actor) and contact.deleted_at is not None)
    contact.deleted_at = None
    contact.deleted_by = None
    contact.version += 1
    contact.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.RESTORE, obj=contact,
                 customer_id=contact.customer_id)
    refresh_search_text(contact.customer)
    return contact
