"""Administrator writes of the customer configuration: custom fields, industries and
the contact interval per tier. Keyword-only, atomic, validated, audited, and refused
(PermissionDenied, nothing written) for anyone but an administrator."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.models import AuditAction

from .models import CustomFieldDef, FieldType, Industry, Tier
from .normalize import to_halfwidth
from .packs import FIELD_AUDIT, put_setting

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
EDITABLE = ["label", "field_type", "choices", "industry", "required", "help_text", "order"]


def _require_admin(actor) -> None:
    if not (actor is not None and actor.is_active and actor.is_admin):
        raise PermissionDenied(_("Only an administrator can change the settings."))


def _clean_choices(field_type: str, raw: Any, existing: list[Any]) -> list[Any]:
    """Choices as stored: strings, or the pack's {"value", "label"} dicts kept for lines
    whose value did not change (so their translations survive an edit)."""
    if field_type not in (FieldType.CHOICE, FieldType.MULTI):
        return []
    lines = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    values: list[str] = []
    for line in lines:
        text = to_halfwidth(str(line["value"] if isinstance(line, dict) else line))
        if text and text not in values:
            values.append(text)
    if not values:
        raise ValidationError({"choices": [_("Give at least one choice, one per line.")]})
    known = {str(c["value"]): c for c in existing if isinstance(c, dict)}
    return [known.get(v, v) for v in values]


def _apply_field(d: CustomFieldDef, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    existing = list(d.choices or [])
    for key in EDITABLE:
        if key == "choices":
            continue
        if key in data:
            value = data[key]
            if key in ("label", "help_text"):
                value = to_halfwidth(value or "")
            setattr(d, key, value)
    if not d.label:
        errors["label"] = [_("A field needs a label.")]
    if d.field_type not in FieldType.values:
        errors["field_type"] = [_("Pick a field type.")]
    else:
        try:
            d.choices = _clean_choices(d.field_type, data.get("choices", existing), existing)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if d.order is None or int(d.order) < 0:
        errors["order"] = [_("The order is a number of 0 or more.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def custom_field_create(*, actor, key: str, **data: Any) -> CustomFieldDef:
    _require_admin(actor)
    key = (key or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not KEY_RE.match(key):
        errors["key"] = [_("Use lower-case letters, digits and _ and start with a letter, "
                           "e.g. capacity_tpd.")]
    elif CustomFieldDef.objects.filter(key=key).exists():
        errors["key"] = [_("A field with the key “%(key)s” exists already.") % {"key": key}]
    d = CustomFieldDef(key=key)
    d.choices = []
    try:
        _apply_field(d, data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    d.save()
    audit.record_create(actor=actor, obj=d, fields=FIELD_AUDIT)
    return d


@transaction.atomic
def custom_field_update(*, actor, field: CustomFieldDef, **data: Any) -> CustomFieldDef:
    """Change anything but the key (customers' stored values are keyed by it)."""
    _require_admin(actor)
    d = CustomFieldDef.objects.select_for_update().get(pk=field.pk)
    before = audit.snapshot(d, FIELD_AUDIT)
    _apply_field(d, data)
    changes = audit.diff(before, audit.snapshot(d, FIELD_AUDIT))
    if changes:
        d.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=d, changes=changes)
    return d


@transaction.atomic
def custom_field_delete(*, actor, field: CustomFieldDef) -> None:
    """Remove the definition. Customers' values stay in their `custom` data (nothing
    entered is lost); a field created again with the same key shows them again."""
    _require_admin(actor)
    d = CustomFieldDef.objects.select_for_update().get(pk=field.pk)
    audit.record(actor=actor, action=AuditAction.PURGE, obj=d,
                 changes={k: [v, None] for k, v in audit.snapshot(d, FIELD_AUDIT).items()})
    d.delete()


@transaction.atomic
def industry_create(*, actor, code: str, name: str) -> Industry:
    _require_admin(actor)
    code = (code or "").strip().lower()
    name = to_halfwidth(name or "")
    errors: dict[str, list[str]] = {}
    if not re.match(r"^[a-z0-9][a-z0-9_-]{0,49}$", code):
        errors["code"] = [_("Use lower-case letters, digits, - and _, e.g. food-beverage.")]
    elif Industry.objects.filter(code=code).exists():
        errors["code"] = [_("An industry with the code “%(code)s” exists already.")
                          % {"code": code}]
    if not name:
        errors["name"] = [_("An industry needs a name.")]
    elif Industry.objects.filter(name=name).exists():
        errors["name"] = [_("An industry named “%(name)s” exists already.") % {"name": name}]
    if errors:
        raise ValidationError(errors)
    industry = Industry.objects.create(code=code, name=name[:100])
    audit.record_create(actor=actor, obj=industry, fields=["code", "name"])
    return industry


@transaction.atomic
def set_contact_intervals(*, actor, intervals: dict[str, Any]) -> dict[str, int]:
    """Store how many days each tier may go without contact before "My day" lists it."""
    _require_admin(actor)
    clean: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for tier in Tier.values:
        try:
            days = int(intervals.get(tier))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= 3650:
            errors[tier] = [_("Give a number of days between 1 and 3650.")]
        clean[tier] = days
    if errors:
        raise ValidationError(errors)
    put_setting("contact_interval_days", clean, actor)
    return clean


@transaction.atomic
def set_first_run_dismissed(*, actor, dismissed: bool = True) -> None:
    _require_admin(actor)
    put_setting("first_run_dismissed", bool(dismissed), actor)
