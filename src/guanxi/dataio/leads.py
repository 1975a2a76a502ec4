"""Importing leads (`guanxi import leads FILE` and the web wizard).

Rows are cleaned by `clean_lead` (possibly in worker processes: no database) and
written one at a time through the lead services (validated, permission-checked,
audited), each row in its own savepoint.

Idempotent: a row finds an existing lead (not in the recycle bin) by its external id
(imported leads are keyed by source_system "import" + external_id), then by phone,
then by e-mail; a match is updated (mode upsert/update) or left alone when nothing
differs — so importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.parties.models import Industry
from guanxi.parties.normalize import normalize_email

from . import cleaning
from .prepare import Row

SOURCE_SYSTEM = "import"
TEXT = ("company", "name", "title", "wechat", "province", "city", "address", "website",
        "campaign", "description", "external_id", "product_line")
LIMITS = {"company": 200, "name": 100, "title": 100, "wechat": 100, "province": 50,
          "city": 50, "address": 200, "website": 200, "campaign": 100, "external_id": 100}


def clean_lead(cells: dict[str, str], lk: cleaning.Lookups) -> tuple[dict[str, Any], list]:
    """{field: cell text} → (values, [(field, message)]). No database access."""
    data: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for key, raw in cells.items():
        raw = raw.strip()
        try:
            if key in TEXT:
                data[key] = raw
            elif key == "phone":
                data[key] = cleaning.phone(raw)[0]
            elif key == "email":
                data[key] = normalize_email(raw)
            elif key == "industry":
                data["industry_id"] = cleaning._lookup(lk.industries, raw,
                                                       _("There is no industry “%(value)s”."))
            elif key == "source":
                data[key] = cleaning._lookup(lk.sources, raw,
                                             _("“%(value)s” is not a source channel."))
            elif key == "owner":
                data["owner_id"] = lk.user(raw)
            elif key == "estimated_amount":
                data[key] = cleaning.money(raw)
        except ValidationError as exc:
            errors.append((key, exc.messages[0]))
    if not data.get("company") and not data.get("name"):
        errors.append(("company", _("A lead needs a company or a contact name.")))
    for key, limit in LIMITS.items():
        if len(data.get(key, "")) > limit:
            errors.append((key, _("Longer than %(n)s characters.") % {"n": limit}))
    return data, errors


def _first_message(exc: ValidationError) -> tuple[str, str]:
    if hasattr(exc, "error_dict"):
        for key, messages in exc.message_dict.items():
            return key, messages[0]
    return "", exc.messages[0]


class LeadBatcher:
    """Writes cleaned lead rows (the engine's writer interface: `process`, `near`)."""

    def __init__(self, *, actor, options, job_id: int | None, **_: Any) -> None:
        self.actor = actor
        self.options = options
        self.job_id = job_id
        self.near: list[dict[str, Any]] = []
        self.created_ids: set[int] = set()
        self._product_lines: dict[str, Any] | None = None

    def _product_line(self, code: str):
        from guanxi.sales.models import ProductLine

        if self._product_lines is None:
            self._product_lines = {}
            for pl in ProductLine.objects.all():
                self._product_lines[pl.code.lower()] = pl
                self._product_lines.setdefault(pl.name.lower(), pl)
        found = self._product_lines.get(code.strip().lower())
        if found is None:
            raise ValidationError({"product_line": [
                _("There is no product line “%(value)s”.") % {"value": code}]})
        return found

    def _existing(self, d: dict[str, Any]):
        from guanxi.sales.models import Lead

        if d.get("external_id"):
            hit = Lead.objects.filter(source_system=SOURCE_SYSTEM,
                                      external_id=d["external_id"]).first()
            if hit is not None:
                return hit
        for key in ("phone", "email"):
            if d.get(key):
                hit = Lead.objects.filter(**{key: d[key]}).order_by("pk").first()
                if hit is not None:
                    return hit
        return None

    def _service_data(self, d: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in d.items() if k not in ("owner_id", "industry_id",
                                                        "product_line", "external_id")}
        if "owner_id" in d:
            data["owner"] = User.objects.get(pk=d["owner_id"])
        if "industry_id" in d:
            data["industry"] = Industry.objects.get(pk=d["industry_id"])
        if d.get("product_line"):
            data["product_line"] = self._product_line(d["product_line"])
        return data

    def _write(self, r: Row) -> str:
        from guanxi.sales.leads import lead_create, lead_update

        data = self._service_data(r.data)
        existing = self._existing(r.data)
        if existing is None:
            if self.options.mode == "update":
                raise ValidationError(_("No existing lead matches this row (mode “update”)."))
            lead = lead_create(actor=self.actor, source_system=SOURCE_SYSTEM,
                               external_id=r.data.get("external_id", ""), **data)
            self.created_ids.add(lead.pk)
            return "created"
        merged = existing.pk in self.created_ids
        version = existing.version
        if self.options.mode == "create" and not merged:
            return "unchanged"
        lead = lead_update(actor=self.actor, lead=existing, version=version, **data)
        if lead.version == version:
            return "merged" if merged else "unchanged"
        return "merged" if merged else "updated"

    def process(self, rows: list[Row], result, reject) -> None:
        for r in rows:
            try:
                with transaction.atomic():
                    outcome = self._write(r)
            except PermissionDenied:
                reject(r, "", _("You may not change this lead."))
                continue
            except ValidationError as exc:
                key, message = _first_message(exc)
                reject(r, key, message)
                continue
            setattr(result, outcome, getattr(result, outcome) + 1)
