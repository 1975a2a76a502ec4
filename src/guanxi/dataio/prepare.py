"""The CPU-heavy half of an import, which can run in worker processes.

For each raw row: pick the mapped cells, clean them (cleaning.py) and, for a
customer, compute what a stand-alone new record needs (company key, name block,
search text with pinyin and both scripts). The main process then only matches and
writes. Workers never touch the database: everything they need (the lookups) is
handed to them when they start. With more than one CPU and a file bigger than
POOL_MIN_BYTES, batches are prepared by a pool of forked processes while the main
process writes the previous batch; results come back in file order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.utils import translation

from . import cleaning

POOL_MIN_BYTES = 2 * 1024 * 1024
IN_FLIGHT = 3  # batches prepared ahead per worker: bounds memory


@dataclass
class Row:
    """A valid row, cleaned, as the batchers receive it."""

    number: int
    raw: list[str]
    data: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)  # match keys (customers)
    pre: tuple[str, str, str] | None = None  # precompute(): key, block, search text


class _State:
    columns: list[tuple[int, str, str]] = []
    target = "customers"
    lookups: cleaning.Lookups | None = None


def _init(columns, target, lookups, language) -> None:
    _State.columns, _State.target, _State.lookups = columns, target, lookups
    if language:
        translation.activate(language)


def precompute(data: dict[str, Any]) -> tuple[str, str, str]:
    """(company key, name block, search text) of a customer made from this row alone."""
    from guanxi.parties.normalize import company_key, name_block
    from guanxi.parties.search import build_search_text

    org = data.get("kind", "org") == "org"
    key = company_key(data["name"]) if org else ""
    block = name_block(data.get("city", ""), key) if org else ""
    contacts = []
    if data.get("contact_name"):
        contacts.append(SimpleNamespace(name=data["contact_name"],
                                        mobile=data.get("contact_mobile", ""), phone="",
                                        email=data.get("contact_email", ""), deleted_at=None))
    search = build_search_text(SimpleNamespace(
        name=data["name"], short_name=data.get("short_name", ""), phone=data.get("phone", ""),
        email=data.get("email", "")), contacts=contacts)
    return key, block, search


def prepare_batch(batch: list[tuple[int, list[str], list[str]]]) -> list[tuple]:
    """[(number, raw, data, errors, precomputed or None)] for one batch of rows."""
    if _State.target == "leads":
        from .leads import clean_lead as cleaner
    elif _State.target in ("contracts", "orders", "deliveries", "invoices", "payments"):
        from .commerce import cleaner_for

        cleaner = cleaner_for(_State.target)
    else:
        cleaner = {"customers": cleaning.clean_customer, "contacts": cleaning.clean_contact,
                   "interactions": cleaning.clean_interaction}[_State.target]
    out = []
    for number, cells, raw in batch:
        values = {f: cells[i] for i, _h, f in _State.columns if i < len(cells) and cells[i]}
        data, errors = cleaner(values, _State.lookups)
        pre = precompute(data) if not errors and _State.target == "customers" else None
        out.append((number, list(raw), data, errors, pre))
    return out


def workers_for(size: int) -> int:
    cpus = os.cpu_count() or 1
    if cpus < 2 or size < POOL_MIN_BYTES or os.environ.get("GUANXI_IMPORT_WORKERS") == "0":
        return 0
    return min(cpus, int(os.environ.get("GUANXI_IMPORT_WORKERS") or cpus))


def prepared(batches: Iterable[list], *, columns, target, lookups,
             workers: int) -> Iterator[list[tuple]]:
    """Prepared batches in order; in `workers` processes when workers > 0."""
    language = translation.get_language()
    if workers <= 0:
        _init(columns, target, lookups, None)
        for batch in batches:
            yield prepare_batch(batch)
        return
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                             initargs=(columns, target, lookups, language)) as pool:
        pending: deque = deque()
        it = iter(batches)
        for batch in it:
            pending.append(pool.submit(prepare_batch, batch))
            if len(pending) >= workers * IN_FLIGHT:
                break
        for batch in it:
            yield pending.popleft().result()
            pending.append(pool.submit(prepare_batch, batch))
        while pending:
            yield pending.popleft().result()
