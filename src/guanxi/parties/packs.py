"""Industry packs: data files that set custom fields, industries and choice lists.

A pack is a JSON file in `parties/packs/` (see equipment.json). Every label in a
pack is a dict of translations {"zh-hans": …, "zh-hant": …, "en": …}. What is
stored in the database is the zh-Hans text (`CustomFieldDef.label`,
`Industry.name`, custom field choice *values*); `field_label`, `choice_label` and
`industry_label` give the active language's text, reading the pack file, unless an
administrator has since renamed the record.

`apply_pack(code)` is idempotent: it upserts by key/code, marks custom fields with
`pack=code`, merges the pack's choice lists into the `choices` site setting, records
the pack in the `industry_pack` site setting and writes audit entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from guanxi.core import audit, site_settings
from guanxi.core.models import AuditAction, SiteSetting

from .models import CustomFieldDef, FieldType, Industry, SourceChannel

PACK_DIR = Path(__file__).resolve().parent / "packs"
LANGS = ("zh-hans", "zh-hant", "en")
FIELD_AUDIT = ["key", "label", "field_type", "choices", "industry", "required", "help_text",
               "order", "pack"]

Labels = dict[str, str] | str


def language_key(language: str | None = None) -> str:
    """Map any language code to one of the pack languages (zh-hans, zh-hant, en)."""
    code = (language or translation.get_language() or "zh-hans").lower().replace("_", "-")
    if code.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-hant"
    if code.startswith("zh"):
        return "zh-hans"
    return "en" if code.startswith("en") else "zh-hans"


def pick(labels: Labels | None, language: str | None = None) -> str:
    """The text of `labels` in `language` (default: the active one), falling back to zh-Hans."""
    if labels is None:
        return ""
    if isinstance(labels, str):
        return labels
    lang = language_key(language)
    return labels.get(lang) or labels.get("zh-hans") or next(iter(labels.values()), "")


@dataclass(frozen=True)
class Pack:
    code: str
    name: dict[str, str]
    description: dict[str, str]
    industries: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    order: int = 0

    def title(self, language: str | None = None) -> str:
        return pick(self.name, language)

    def summary(self, language: str | None = None) -> str:
        return pick(self.description, language)

    def field_labels(self, language: str | None = None) -> list[str]:
        return [pick(f["label"], language) for f in self.custom_fields]

    def industry_names(self, language: str | None = None) -> list[str]:
        return [pick(i["name"], language) for i in self.industries]

    def choice_labels(self, key: str, language: str | None = None) -> list[str]:
        return [pick(c["label"], language) for c in self.choices.get(key, [])]


def _check(pack: Pack) -> None:
    """Reject a malformed pack file loudly: it ships with the code, so it is a bug."""
    problems = []
    keys = [f.get("key") for f in pack.custom_fields]
    if len(keys) != len(set(keys)):
        problems.append("duplicate custom field keys")
    industry_codes = {i["code"] for i in pack.industries}
    for f in pack.custom_fields:
        if f.get("type") not in FieldType.values:
            problems.append(f"{f.get('key')}: unknown type {f.get('type')!r}")
        if f.get("type") in (FieldType.CHOICE, FieldType.MULTI) and not f.get("choices"):
            problems.append(f"{f.get('key')}: a choice field needs choices")
        if f.get("industry") and f["industry"] not in industry_codes:
            problems.append(f"{f.get('key')}: unknown industry {f['industry']!r}")
    for c in pack.choices.get("source_channels", []):
        if c["value"] not in SourceChannel.values:
            problems.append(f"source channel {c['value']!r} is not a SourceChannel")
    if problems:
        raise ImproperlyConfigured(f"industry pack {pack.code}: " + "; ".join(problems))


@cache
def _load_all() -> dict[str, Pack]:
    packs = {}
    for path in sorted(PACK_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        pack = Pack(
            code=data.get("code", path.stem), name=data["name"],
            description=data.get("description", {}), industries=data.get("industries", []),
            custom_fields=data.get("custom_fields", []), choices=data.get("choices", {}),
            order=data.get("order", 0),
        )
        _check(pack)
        packs[pack.code] = pack
    return packs


def available_packs() -> list[Pack]:
    return sorted(_load_all().values(), key=lambda p: (p.order, p.code))


def get_pack(code: str) -> Pack | None:
    return _load_all().get(code)


def applied_pack_code() -> str | None:
    return site_settings.get("industry_pack")


# --- Display in the active language -------------------------------------------------


def _pack_field(d: CustomFieldDef) -> dict[str, Any] | None:
    pack = get_pack(d.pack) if d.pack else None
    if pack is None:
        return None
    return next((f for f in pack.custom_fields if f["key"] == d.key), None)


def field_label(d: CustomFieldDef, language: str | None = None) -> str:
    """The field's label in `language`: the pack's translation unless renamed since."""
    spec = _pack_field(d)
    if spec is not None and pick(spec["label"], "zh-hans") == d.label:
        return pick(spec["label"], language)
    return d.label


def field_help_text(d: CustomFieldDef, language: str | None = None) -> str:
    spec = _pack_field(d)
    if spec is not None and pick(spec.get("help_text"), "zh-hans") == d.help_text:
        return pick(spec.get("help_text"), language)
    return d.help_text


def choice_label(d: CustomFieldDef, value: Any, language: str | None = None) -> str:
    """The label of a stored choice value (values are the zh-Hans text)."""
    for c in d.choices:
        if isinstance(c, dict) and str(c.get("value")) == str(value):
            return pick(c.get("label") or c["value"], language)
    return str(value)


def choice_options(d: CustomFieldDef, language: str | None = None) -> list[tuple[str, str]]:
    """(value, label) pairs for a choice / multi-choice field, for forms and filters."""
    out = []
    for c in d.choices:
        if isinstance(c, dict):
            out.append((str(c["value"]), pick(c.get("label") or c["value"], language)))
        else:
            out.append((str(c), str(c)))
    return out


def industry_label(industry: Industry, language: str | None = None) -> str:
    for pack in _load_all().values():
        for spec in pack.industries:
            if spec["code"] == industry.code and pick(spec["name"], "zh-hans") == industry.name:
                return pick(spec["name"], language)
    return industry.name


def site_choices(key: str, language: str | None = None) -> list[tuple[str, str]]:
    """A choice list set by a pack (e.g. "sales_stages"), as (value, label) pairs."""
    items = (site_settings.get("choices") or {}).get(key, [])
    return [(str(c["value"]), pick(c.get("label") or c["value"], language)) for c in items]


# --- Applying a pack ------------------------------------------------------------------


@dataclass
class ApplyResult:
    code: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def _upsert_industry(spec: dict[str, Any], actor, result: ApplyResult) -> Industry:
    name = pick(spec["name"], "zh-hans")
    industry = Industry.objects.filter(code=spec["code"]).first()
    if industry is None:
        industry = Industry.objects.create(code=spec["code"], name=name)
        audit.record_create(actor=actor, obj=industry, fields=["code", "name"])
        result.created.append(f"industry:{spec['code']}")
    elif industry.name != name:
        changes = {"name": [industry.name, name]}
        industry.name = name
        industry.save(update_fields=["name"])
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=industry, changes=changes)
        result.updated.append(f"industry:{spec['code']}")
    return industry


def _field_values(spec: dict[str, Any], industries: dict[str, Industry], code: str) -> dict:
    choices = [
        {"value": str(c["value"]), "label": c.get("label") or c["value"]}
        for c in spec.get("choices", [])
    ]
    return {
        "label": pick(spec["label"], "zh-hans")[:100],
        "field_type": spec["type"],
        "choices": choices,
        "industry": industries.get(spec["industry"]) if spec.get("industry") else None,
        "required": bool(spec.get("required", False)),
        "help_text": pick(spec.get("help_text"), "zh-hans")[:255],
        "order": int(spec.get("order", 0)),
        "pack": code,
    }


def _upsert_field(spec, industries, code, actor, result: ApplyResult) -> CustomFieldDef:
    values = _field_values(spec, industries, code)
    d = CustomFieldDef.objects.filter(key=spec["key"]).first()
    if d is None:
        d = CustomFieldDef.objects.create(key=spec["key"], **values)
        audit.record_create(actor=actor, obj=d, fields=FIELD_AUDIT)
        result.created.append(f"field:{d.key}")
        return d
    before = audit.snapshot(d, FIELD_AUDIT)
    for k, v in values.items():
        setattr(d, k, v)
    changes = audit.diff(before, audit.snapshot(d, FIELD_AUDIT))
    if changes:
        d.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=d, changes=changes)
        result.updated.append(f"field:{d.key}")
    return d


def put_setting(key: str, value: Any, actor) -> None:
    """Write a site setting and audit the change (old → new); no-op when unchanged."""
    old = site_settings.get(key)
    if old == value:
        return
    site_settings.put(key, value)
    row = SiteSetting.objects.get(key=key)
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=row, changes={key: [old, value]})


@transaction.atomic
def apply_pack(code: str, *, actor=None) -> ApplyResult:
    """Create or update the pack's industries, custom fields and choice lists.

    Re-applying updates in place and never duplicates. Custom fields of another
    pack applied earlier are left alone (customers may hold values in them).
    `actor=None` is the system (demo data, setup commands); a user must be an
    administrator.
    """
    if actor is not None and not (actor.is_active and actor.is_admin):
        raise PermissionDenied(_("Only an administrator can apply an industry pack."))
    pack = get_pack(code)
    if pack is None:
        raise ValidationError(_("There is no industry pack “%(code)s”.") % {"code": code})
    result = ApplyResult(code=code)
    industries = {spec["code"]: _upsert_industry(spec, actor, result) for spec in pack.industries}
    for spec in pack.custom_fields:
        _upsert_field(spec, industries, code, actor, result)
    choices = dict(site_settings.get("choices") or {})
    choices.update(pack.choices)
    put_setting("choices", choices, actor)
    put_setting("industry_pack", code, actor)
    return result
