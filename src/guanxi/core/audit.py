"""The audit log: every create, update and delete writes who, when, field, old → new."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any

from django.db import models

from .models import AuditAction, AuditEntry


def _display(value: Any) -> Any:
    """A JSON-safe, human-readable form of a field value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_display(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _display(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Current display values of `fields` (foreign keys by their str, m2m as sorted lists)."""
    data: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            data[name] = sorted(str(v) for v in getattr(obj, name).all()) if obj.pk else []
        elif field.is_relation:
            data[name] = _display(getattr(obj, name))
        else:
            data[name] = _display(getattr(obj, field.attname))
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def record(
    *,
    actor,
    action: str,
    obj: models.Model,
    changes: dict[str, list[Any]] | None = None,
    customer_id: int | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        model=obj._meta.label_lower,
        object_id=obj.pk,
        object_repr=str(obj)[:255],
        customer_id=customer_id,
        changes=changes or {},
        version=getattr(obj, "version", None),
    )


def record_create(*, actor, obj, fields: Iterable[str], customer_id=None) -> AuditEntry:
    changes = {k: [None, v] for k, v in snapshot(obj, fields).items() if v not in (None, "", [], {})}
    return record(
        actor=actor, action=AuditAction.CREATE, obj=obj, changes=changes, customer_id=customer_id
    )


def history_for_customer(customer_id: int):
    """Every audit entry of a customer and of the records that hang off it."""
    return AuditEntry.objects.filter(customer_id=customer_id).select_related("actor")
