"""Administrator-defined custom fields: which apply, validation, and form fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from .models import CustomFieldDef, FieldType


def definitions_for(industry_id: int | None) -> list[CustomFieldDef]:
    """Fields for every customer plus those of the customer's industry."""
    q = Q(industry__isnull=True)
    if industry_id:
        q |= Q(industry_id=industry_id)
    return list(CustomFieldDef.objects.filter(q))


def _choice_values(d: CustomFieldDef) -> list[str]:
    return [str(c["value"]) if isinstance(c, dict) else str(c) for c in d.choices]


def clean_value(d: CustomFieldDef, value: Any) -> Any:
    """One field's value in its stored JSON form, or ValidationError saying why."""
    empty = value is None or value == "" or value == []
    if empty:
        if d.required and d.field_type != FieldType.BOOL:
            raise ValidationError(_("This field is required."))
        return [] if d.field_type == FieldType.MULTI else None
    t = d.field_type
    if t == FieldType.TEXT:
        return str(value).strip()
    if t == FieldType.NUMBER:
        try:
            num = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise ValidationError(_("“%(value)s” is not a number.") % {"value": value}) from exc
        return float(num) if num != num.to_integral_value() else int(num)
    if t == FieldType.DATE:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as exc:
            raise ValidationError(
                _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}
            ) from exc
    if t == FieldType.BOOL:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "y", "on", "是", "有"}:
            return True
        if text in {"0", "false", "no", "n", "off", "否", "无", "無"}:
            return False
        raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": value})
    allowed = _choice_values(d)
    if t == FieldType.CHOICE:
        if str(value) not in allowed:
            raise ValidationError(
                _("“%(value)s” is not one of the choices: %(choices)s")
                % {"value": value, "choices": "、".join(allowed)}
            )
        return str(value)
    if t == FieldType.MULTI:
        values = value if isinstance(value, list | tuple) else str(value).replace("，", ",").split(",")
        values = [str(v).strip() for v in values if str(v).strip()]
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValidationError(
                _("“%(value)s” is not one of the choices: %(choices)s")
                % {"value": "、".join(bad), "choices": "、".join(allowed)}
            )
        return values
    raise ValidationError(_("Unknown field type."))


def clean_custom(industry_id: int | None, values: dict[str, Any], *, partial: bool = False,
                 existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a dict of custom values; errors are keyed "custom.<key>"."""
    defs = definitions_for(industry_id)
    known = {d.key: d for d in defs}
    errors: dict[str, list[str]] = {}
    unknown = [k for k in values if k not in known]
    for key in unknown:
        errors[f"custom.{key}"] = [_("There is no custom field “%(key)s”.") % {"key": key}]
    result = dict(existing or {})
    for d in defs:
        if partial and d.key not in values:
            continue
        try:
            result[d.key] = clean_value(d, values.get(d.key))
        except ValidationError as exc:
            errors[f"custom.{d.key}"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return result


def form_field(d: CustomFieldDef) -> forms.Field:
    common = {"label": d.label, "required": d.required and d.field_type != FieldType.BOOL,
              "help_text": d.help_text}
    choices = [(v, v) for v in _choice_values(d)]
    if d.field_type == FieldType.NUMBER:
        return forms.DecimalField(**common)
    if d.field_type == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if d.field_type == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + choices, **common)
    if d.field_type == FieldType.MULTI:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple,
                                         **common)
    if d.field_type == FieldType.BOOL:
        return forms.BooleanField(**common)
    return forms.CharField(max_length=500, **common)
