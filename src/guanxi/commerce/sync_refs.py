"""Turning the references in a batch of ERP rows into ids: one IN query per referenced
table per batch (never one query per row).

- customer: `customer` = the customer's external id in the same source system (a
  customer whose source_system is the batch's source, else one imported without a
  source system — e.g. from a customer file with the ERP's customer codes); or
  `customer_id` = the Guanxi id. A customer merged into another resolves to the
  survivor. Deliveries, invoices and payments may leave the customer out when they
  name an order, contract or invoice: they then belong to its customer.
- contract / order / invoice: their external ids in the same source.
- product (order lines): `product` = the product's external id in the same source,
  `product_code` = Product.code (a code that is no product is refused: a line either
  names a known product or leaves both out and only describes itself).
- product_line (products): its external id in the same source, or `product_line_code`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from guanxi.parties.models import Customer

from .sync_db import select_in

MAX_MERGE_HOPS = 5


def _follow_merges(found: dict[Any, tuple[int, int | None]]) -> dict[Any, int]:
    """{key: (id, merged_into_id)} → {key: surviving id}."""
    out = {k: (merged or pk) for k, (pk, merged) in found.items()}
    pending = {merged for _pk, merged in found.values() if merged}
    hops = 0
    while pending and hops < MAX_MERGE_HOPS:
        hops += 1
        nxt = dict(Customer.all_objects.filter(pk__in=list(pending), merged_into__isnull=False)
                   .values_list("pk", "merged_into_id"))
        if not nxt:
            break
        out = {k: nxt.get(v, v) for k, v in out.items()}
        pending = set(nxt.values())
    return out


def customers_by_external_id(source: str, values: Iterable[str]) -> dict[str, int]:
    """external id → customer id (the batch's source system first, then none)."""
    best: dict[str, tuple[int, int | None, bool]] = {}
    for ext, system, pk, merged in select_in(
            Customer, ("external_id", "source_system", "id", "merged_into_id"), "external_id",
            sorted(set(values))):
        if system == source or (system == "" and ext not in best):
            best[ext] = (pk, merged, system == source)
    return _follow_merges({k: (pk, merged) for k, (pk, merged, _e) in best.items()})


def customers_by_id(values: Iterable[int]) -> dict[int, int]:
    """Guanxi id → customer id (merged customers → the survivor)."""
    found = {pk: (pk, merged) for pk, merged in select_in(
        Customer, ("id", "merged_into_id"), "id", sorted(set(values)))}
    return _follow_merges(found)


def records_by_external_id(model: type[models.Model], source: str,
                           values: Iterable[str]) -> dict[str, tuple[int, int]]:
    """external id → (id, customer id) of contracts, orders or invoices of `source`."""
    return {ext: (pk, cust) for ext, pk, cust in select_in(
        model, ("external_id", "id", "customer_id"), "external_id", sorted(set(values)),
        source=source)}


def products(source: str, external_ids: Iterable[str],
             codes: Iterable[str]) -> tuple[dict[str, tuple[int, str]], dict[str, int]]:
    """({external id: (id, code)}, {code: id})."""
    from guanxi.sales.models import Product

    by_ext = {ext: (pk, code) for ext, pk, code in select_in(
        Product, ("external_id", "id", "code"), "external_id", sorted(set(external_ids)),
        source=source)}
    by_code = dict(select_in(Product, ("code", "id"), "code", sorted(set(codes))))
    return by_ext, by_code


def existing_ids(model: type[models.Model], values: Iterable[int]) -> set[int]:
    return {pk for (pk,) in select_in(model, ("id",), "id", sorted(set(values)))}
