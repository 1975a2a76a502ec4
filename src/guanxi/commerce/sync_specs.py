"""What each mirrored entity writes, and turning validated rows into column values.

`build(spec, rows, source, errors)` resolves every reference of the batch (one IN query
per referenced table, see sync_refs), fills defaults and returns, per row, the values
of the entity's columns (attnames) plus its nested rows — or records why the row is
refused in `errors` (row index, field path, message).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from . import sync_refs
from .models import (
    Contract,
    ContractMilestone,
    Delivery,
    Invoice,
    Order,
    OrderLine,
    Payment,
)

CENT = Decimal("0.01")
MONEY_LIMIT = Decimal("1e14")  # max_digits 16, decimal_places 2


@dataclass(frozen=True)
class ChildSpec:
    """Nested rows replaced with their parent: order lines, contract milestones."""

    key: str  # the row's list: "lines"
    model: type[models.Model]
    fk: str  # "order_id"
    seq: str  # the number unique per parent: "line_no"
    fields: tuple[str, ...]  # the other columns, after seq

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.fk, self.seq, *self.fields)


@dataclass(frozen=True)
class Spec:
    entity: str
    model: type[models.Model]
    fields: tuple[str, ...]  # columns written besides source, external_id and synced_at
    refs: tuple[str, ...] = ()  # keys naming other mirrored records by external id
    child: ChildSpec | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        out = {}
        for f in self.model._meta.concrete_fields:
            if f.attname in self.fields:
                out[f.attname] = None if f.null else f.get_default()
        return out


REF_MODELS: dict[str, type[models.Model]] = {"contract": Contract, "order": Order,
                                             "invoice": Invoice}

SPECS: dict[str, Spec] = {
    "contracts": Spec(
        "contracts", Contract,
        ("customer_id", "number", "title", "status", "signed_on", "starts_on", "ends_on",
         "amount", "currency", "executed_amount", "opportunity_id", "notes"),
        child=ChildSpec("milestones", ContractMilestone, "contract_id", "seq",
                        ("kind", "name", "due_on", "done_on", "amount"))),
    "orders": Spec(
        "orders", Order,
        ("customer_id", "contract_id", "number", "ordered_on", "promised_on", "status", "amount",
         "currency"),
        refs=("contract",),
        child=ChildSpec("lines", OrderLine, "order_id", "line_no",
                        ("product_id", "product_code", "description", "quantity", "unit",
                         "unit_price", "amount"))),
    "deliveries": Spec(
        "deliveries", Delivery,
        ("customer_id", "order_id", "number", "status", "carrier", "tracking_number",
         "shipped_on", "expected_on", "delivered_on", "address"),
        refs=("order",)),
    "invoices": Spec(
        "invoices", Invoice,
        ("customer_id", "order_id", "contract_id", "number", "issued_on", "due_on", "amount",
         "paid_amount", "currency", "status"),
        refs=("order", "contract")),
    "payments": Spec(
        "payments", Payment,
        ("customer_id", "invoice_id", "contract_id", "received_on", "amount", "currency",
         "method", "reference"),
        refs=("invoice", "contract")),
}


class Errors:
    """Row problems of one batch: (row index, field path, message), in row order."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []
        self.bad: set[int] = set()

    def add(self, row: int, field: str, message: str) -> None:
        self.items.append((row, field, message))
        self.bad.add(row)

    def __bool__(self) -> bool:
        return bool(self.items)


def _what(key: str) -> str:
    return {"contract": _("contract"), "order": _("order"), "invoice": _("invoice")}[key]


class _Lookups:
    """Every id the batch's references need, fetched set-wise."""

    def __init__(self, spec: Spec, rows: list[dict[str, Any]], source: str) -> None:
        ext = {r["customer"] for r in rows if r.get("customer")}
        ids = {r["customer_id"] for r in rows if r.get("customer_id")}
        self.customers_ext = sync_refs.customers_by_external_id(source, ext) if ext else {}
        self.customers_id = sync_refs.customers_by_id(ids) if ids else {}
        self.refs: dict[str, dict[str, tuple[int, int]]] = {}
        for key in spec.refs:
            values = {r[key] for r in rows if r.get(key)}
            self.refs[key] = (sync_refs.records_by_external_id(REF_MODELS[key], source, values)
                              if values else {})
        self.opportunities: set[int] = set()
        if spec.entity == "contracts":
            from guanxi.sales.models import Opportunity

            wanted = {r["opportunity_id"] for r in rows if r.get("opportunity_id")}
            self.opportunities = sync_refs.existing_ids(Opportunity, wanted) if wanted else set()
        self.products: tuple[dict[str, tuple[int, str]], dict[str, int]] = ({}, {})
        if spec.entity == "orders":
            lines = [ln for r in rows for ln in r.get("lines") or ()]
            p_ext = {ln["product"] for ln in lines if ln.get("product")}
            p_code = {ln["product_code"] for ln in lines
                      if ln.get("product_code") and not ln.get("product")}
            if p_ext or p_code:
                self.products = sync_refs.products(source, p_ext, p_code)


def _customer(i: int, r: dict[str, Any], lk: _Lookups, source: str,
              errors: Errors) -> tuple[int | None, bool]:
    """(customer id or None, whether the row named one)."""
    cust = None
    if r.get("customer"):
        cust = lk.customers_ext.get(r["customer"])
        if cust is None:
            errors.add(i, "customer", _("There is no customer with external id “%(value)s” in "
                                        "source “%(source)s”.")
                       % {"value": r["customer"], "source": source})
            return None, True
    if r.get("customer_id"):
        by_id = lk.customers_id.get(r["customer_id"])
        if by_id is None:
            errors.add(i, "customer_id", _("There is no customer with id %(id)s.")
                       % {"id": r["customer_id"]})
            return None, True
        if cust is not None and by_id != cust:
            errors.add(i, "customer_id", _("customer and customer_id name different customers."))
            return None, True
        cust = by_id
    return cust, bool(r.get("customer") or r.get("customer_id"))


def _children(i: int, r: dict[str, Any], spec: Spec, lk: _Lookups,
              errors: Errors) -> list[tuple] | None:
    child = spec.child
    assert child is not None
    items = r.get(child.key)
    if items is None:
        return None
    out: list[tuple] = []
    seen: set[int] = set()
    by_ext, by_code = lk.products
    key, seq_key = child.key, child.seq
    lines = child.model is OrderLine
    one, zero = Decimal(1), Decimal(0)
    for j, item in enumerate(items):
        seq = item.get(seq_key, j + 1)
        if seq in seen:
            errors.add(i, f"{key}.{j}.{seq_key}", _("Number %(n)s appears twice in this "
                                                    "record.") % {"n": seq})
        seen.add(seq)
        if not lines:
            out.append((seq, item.get("kind", "other"), item["name"], item.get("due_on"),
                        item.get("done_on"), item.get("amount")))
            continue
        product_id, code = None, item.get("product_code", "")
        ext = item.get("product")
        if ext:
            hit = by_ext.get(ext)
            if hit is None:
                errors.add(i, f"{key}.{j}.product", _("There is no product with external id "
                                                      "“%(value)s”.") % {"value": ext})
            else:
                product_id, code = hit[0], code or hit[1]
        elif code:
            product_id = by_code.get(code)
            if product_id is None:
                errors.add(i, f"{key}.{j}.product_code", _("There is no product with code "
                                                           "“%(value)s”.") % {"value": code})
        quantity = item.get("quantity", one)
        price = item.get("unit_price", zero)
        amount = item.get("amount")
        if amount is None:
            amount = (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP)
            if amount >= MONEY_LIMIT or -amount >= MONEY_LIMIT:
                errors.add(i, f"{key}.{j}.amount", _("The amount is too large."))
        out.append((seq, product_id, code, item.get("description", ""), quantity,
                    item.get("unit", ""), price, amount))
    if len(out) > 1:
        out.sort(key=_first)
    return out


def _first(t: tuple) -> Any:
    return t[0]


def build(spec: Spec, rows: list[dict[str, Any]], source: str,
          errors: Errors) -> list[dict[str, Any] | None]:
    """Per row: {attname: value} (plus "_children": nested tuples, or None when the row
    leaves them alone), or None for a refused row."""
    lk = _Lookups(spec, rows, source)
    defaults = spec.defaults
    plain = [f for f in spec.fields if f != "customer_id"]
    has_number = "number" in spec.fields
    out: list[dict[str, Any] | None] = []
    for i, r in enumerate(rows):
        cust, named = _customer(i, r, lk, source, errors)
        values = dict(defaults)
        for key in spec.refs:
            if not r.get(key):
                continue
            hit = lk.refs[key].get(r[key])
            if hit is None:
                errors.add(i, key, _("There is no %(what)s with external id “%(value)s” in "
                                     "source “%(source)s”.")
                           % {"what": _what(key), "value": r[key], "source": source})
                continue
            values[f"{key}_id"] = hit[0]
            if cust is None and not named:
                cust = hit[1]
            elif cust is not None and hit[1] != cust:
                errors.add(i, key, _("%(what)s “%(value)s” belongs to another customer.")
                           % {"what": _what(key).capitalize(), "value": r[key]})
        if cust is None and not named and i not in errors.bad:
            errors.add(i, "customer", _("Say whose record this is: the customer's external id "
                                        "(customer) or Guanxi id (customer_id)."))
        if r.get("opportunity_id") and r["opportunity_id"] not in lk.opportunities:
            errors.add(i, "opportunity_id", _("There is no opportunity with id %(id)s.")
                       % {"id": r["opportunity_id"]})
        for name in plain:
            if name in r:
                values[name] = r[name]
        values["customer_id"] = cust
        if has_number:
            values["number"] = r.get("number") or r["external_id"]
        if spec.child is not None:
            values["_children"] = _children(i, r, spec, lk, errors)
            values["_sum_amount"] = (spec.entity == "orders" and "amount" not in r
                                     and values["_children"] is not None)
            if values["_sum_amount"]:
                values["amount"] = sum((t[7] for t in values["_children"]), Decimal(0))
                if values["amount"] >= MONEY_LIMIT:
                    errors.add(i, "amount", _("The amount is too large."))
        if spec.entity == "invoices":
            values["_derive_paid"] = "paid_amount" not in r
            values["_derive_status"] = "status" not in r
        out.append(None if i in errors.bad else values)
    return out


def duplicates(rows: list[dict[str, Any]], errors: Errors) -> None:
    """The same external id twice in one batch is refused (which copy would win?)."""
    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        ext = r["external_id"]
        if ext in first:
            errors.add(i, "external_id", _("External id “%(value)s” already appears in row "
                                           "%(row)s of this batch.")
                       % {"value": ext, "row": first[ext]})
        else:
            first[ext] = i


def children_of(spec: Spec, parent_ids: list[int]) -> dict[int, list[tuple]]:
    """The stored nested rows of these parents, as build() makes them (sorted by seq)."""
    from .sync_db import select_in

    child = spec.child
    assert child is not None
    out: dict[int, list[tuple]] = defaultdict(list)
    for t in select_in(child.model, child.columns, child.fk, parent_ids):
        out[t[0]].append(t[1:])
    for v in out.values():
        v.sort(key=lambda t: t[0])
    return out
