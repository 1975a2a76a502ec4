"""Turning ids in a request body into records, with errors keyed by field."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _


def resolve_one(data: dict[str, Any], field: str, qs: QuerySet,
                errors: dict[str, list[str]]) -> None:
    """Replace data[field] (an id or None) with the record from `qs`, if sent."""
    if field not in data or data[field] is None:
        return
    obj = qs.filter(pk=data[field]).first()
    if obj is None:
        errors[field] = [_("There is no record with id %(id)s here.") % {"id": data[field]}]
    else:
        data[field] = obj


def resolve_many(data: dict[str, Any], field: str, qs: QuerySet,
                 errors: dict[str, list[str]]) -> None:
    """Replace data[field] (a list of ids) with the records from `qs`, if sent."""
    if field not in data or data[field] is None:
        return
    ids = list(dict.fromkeys(data[field]))
    found = {obj.pk: obj for obj in qs.filter(pk__in=ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        errors[field] = [_("There is no record with id %(id)s here.") % {"id": ", ".join(missing)}]
    else:
        data[field] = [found[i] for i in ids]
