"""ERP sync of the catalogue: sales.ProductLine and sales.Product.

Keyed on (source, external_id) like the rest of the mirror, but their unique index is
partial (only where external_id is set: hand-made lines and products have none), which
INSERT … ON CONFLICT cannot name portably; and their `code` is unique on its own. So
they are matched first (one IN query by key, one by code) and then written with
bulk_create / bulk_update — a catalogue is small. A row whose code belongs to a record
made by hand (no external id) adopts that record: it gets the ERP's key and values.
A code held by another ERP record is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from guanxi.sales.models import Product, ProductLine

from .sync_db import chunks
from .sync_specs import Errors, duplicates

FIELDS = {
    "product_lines": ("code", "name", "active"),
    "products": ("code", "name", "product_line_id", "unit_price", "active"),
}


def _by(model, source: str, key: str, values: set[str]) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for chunk in chunks(sorted(values)):
        qs = model.objects.filter(**{f"{key}__in": chunk})
        if key == "external_id":
            qs = qs.filter(source=source)
        for t in qs.order_by().values_list(key, "pk", "source", "external_id",
                                           *FIELDS[_entity(model)]):
            out[t[0]] = t[1:]
    return out


def _entity(model) -> str:
    return "product_lines" if model is ProductLine else "products"


def _product_lines(rows: list[dict[str, Any]], source: str, errors: Errors) -> list[int | None]:
    """Each product row's product line id (by its external id or its code)."""
    exts = {r["product_line"] for r in rows if r.get("product_line")}
    codes = {r["product_line_code"] for r in rows if r.get("product_line_code")}
    by_ext = dict(ProductLine.objects.filter(source=source, external_id__in=list(exts))
                  .values_list("external_id", "pk")) if exts else {}
    by_code = dict(ProductLine.objects.filter(code__in=list(codes)).values_list("code", "pk")) \
        if codes else {}
    out: list[int | None] = []
    for i, r in enumerate(rows):
        pk = None
        if r.get("product_line"):
            pk = by_ext.get(r["product_line"])
            if pk is None:
                errors.add(i, "product_line", _("There is no product line with external id "
                                                "“%(value)s” in source “%(source)s”.")
                           % {"value": r["product_line"], "source": source})
        elif r.get("product_line_code"):
            pk = by_code.get(r["product_line_code"])
            if pk is None:
                errors.add(i, "product_line_code", _("There is no product line with code "
                                                     "“%(value)s”.")
                           % {"value": r["product_line_code"]})
        else:
            errors.add(i, "product_line", _("Say which product line the product belongs to "
                                            "(product_line or product_line_code)."))
        out.append(pk)
    return out


def plan_catalog(entity: str, rows: list[dict[str, Any]], *, source: str, mode: str,
                 errors: Errors) -> tuple[list[str | None], dict[str, int], Callable[[], None]]:
    model = ProductLine if entity == "product_lines" else Product
    fields = FIELDS[entity]
    duplicates(rows, errors)
    seen_codes: dict[str, int] = {}
    for i, r in enumerate(rows):
        if r["code"] in seen_codes:
            errors.add(i, "code", _("Code “%(value)s” already appears in row %(row)s of this "
                                    "batch.") % {"value": r["code"], "row": seen_codes[r["code"]]})
        else:
            seen_codes[r["code"]] = i
    lines = _product_lines(rows, source, errors) if entity == "products" else [None] * len(rows)
    by_ext = _by(model, source, "external_id", {r["external_id"] for r in rows})
    by_code = _by(model, source, "code", set(seen_codes))
    outcomes: list[str | None] = [None] * len(rows)
    ids: dict[str, int] = {}
    new: list[Any] = []
    changed: list[Any] = []
    for i, r in enumerate(rows):
        if i in errors.bad:
            continue
        values: dict[str, Any] = {"code": r["code"], "name": r["name"],
                                  "active": r.get("active", True)}
        if entity == "products":
            values["product_line_id"] = lines[i]
            price = r.get("unit_price")
            values["unit_price"] = price.quantize(Decimal("0.01")) if price is not None else None
        old = by_ext.get(r["external_id"])
        holder = by_code.get(r["code"])
        if holder is not None and (old is None or holder[0] != old[0]):
            if old is None and holder[2] == "":
                old = holder  # a hand-made record with this code: the ERP takes it over
            else:
                errors.add(i, "code", _("Code “%(value)s” belongs to another record.")
                           % {"value": r["code"]})
                continue
        if old is None:
            if mode == "update":
                errors.add(i, "external_id", _("There is no stored record with external id "
                                               "“%(value)s” to update.") % {"value": r["external_id"]})
                continue
            new.append((i, model(source=source, external_id=r["external_id"], **values)))
            outcomes[i] = "created"
            continue
        pk = old[0]
        ids[r["external_id"]] = pk
        stored = dict(zip(fields, old[3:]))
        same = (old[1], old[2]) == (source, r["external_id"]) and all(
            stored[k] == values[k] for k in fields)
        if same or mode == "create":
            outcomes[i] = "unchanged"
            continue
        changed.append(model(pk=pk, source=source, external_id=r["external_id"], **values))
        outcomes[i] = "updated"

    def commit() -> None:
        if new:
            model.objects.bulk_create([obj for _i, obj in new])
            # bulk_create sets pks on SQLite ≥ 3.35 and PostgreSQL; read them to be sure.
            made = _by(model, source, "external_id", {obj.external_id for _i, obj in new})
            ids.update({ext: t[0] for ext, t in made.items()})
        if changed:
            model.objects.bulk_update(changed, ["source", "external_id", *fields])

    return outcomes, ids, commit
