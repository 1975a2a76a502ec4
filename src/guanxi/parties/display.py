"""Turning audit data into readable rows: field label, old value → new value.

Used by the history tab and by the conflict message that shows another person's change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

EMPTY = "—"


@dataclass(frozen=True)
class ChangeRow:
    label: str
    old: str
    new: str


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def model_verbose_name(label: str) -> str:
    model = _model(label)
    return str(model._meta.verbose_name) if model is not None else label


def _custom_labels() -> dict[str, str]:
    from .models import CustomFieldDef

    return dict(CustomFieldDef.objects.values_list("key", "label"))


def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """A short relative time with one unit: "3 days ago", "in 2 hours", "just now"."""
    if not value:
        return ""
    now = now or timezone.now()
    if abs((now - value).total_seconds()) < 60:
        return _("just now")
    if value > now:
        return _("in %(time)s") % {"time": timeuntil(value, now, depth=1)}
    return _("%(time)s ago") % {"time": timesince(value, now, depth=1)}


def show_value(value: Any, field=None) -> str:
    """A short display form of an audited value (choice labels, dates, yes/no, lists)."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "、".join(show_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {show_value(v)}" for k, v in value.items())
    if field is not None and getattr(field, "flatchoices", None):
        choices = {str(k): str(v) for k, v in field.flatchoices}
        if str(value) in choices:
            return choices[str(value)]
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        parsed = parse_datetime(value)
        if parsed is not None:
            if timezone.is_aware(parsed):
                parsed = timezone.localtime(parsed)
            return formats.date_format(parsed, "SHORT_DATETIME_FORMAT")
    if isinstance(value, str) and len(value) == 10 and (parsed_date := parse_date(value)):
        return formats.date_format(parsed_date, "SHORT_DATE_FORMAT")
    if isinstance(value, dt.datetime | dt.date):
        return formats.localize(value)
    return str(value)


# Audit keys that are not model fields: merges and imports write these.
EXTRA_LABELS = {
    "merged": gettext_lazy("merged customers"),
    "import_job": gettext_lazy("import job"),
    "contacts": gettext_lazy("contacts added"),
}


def change_rows(model_label: str, changes: dict[str, list[Any]] | None) -> list[ChangeRow]:
    """[ChangeRow(label, old, new)] for an audit entry's `changes` ({field: [old, new]})."""
    model = _model(model_label)
    rows: list[ChangeRow] = []
    custom_labels: dict[str, str] | None = None
    for name, pair in (changes or {}).items():
        if isinstance(pair, list | tuple):
            old, new = [*pair, None, None][:2]
        else:
            old, new = None, pair
        field = None
        if model is not None:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
        if name == "custom" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            custom_labels = custom_labels if custom_labels is not None else _custom_labels()
            old, new = old or {}, new or {}
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    rows.append(ChangeRow(custom_labels.get(key, key), show_value(old.get(key)),
                                          show_value(new.get(key))))
            continue
        label = (str(getattr(field, "verbose_name", name)) if field is not None
                 else str(EXTRA_LABELS.get(name, name)))
        rows.append(ChangeRow(label, show_value(old, field), show_value(new, field)))
    return rows


def conflict_rows(model_label: str, theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The other person's change(s) from ConflictError.theirs, ready for the template."""
    return [
        {"actor": t.get("actor") or _("someone"), "at": t.get("at"),
         "action": t.get("action"), "rows": change_rows(model_label, t.get("changes"))}
        for t in theirs
    ]
