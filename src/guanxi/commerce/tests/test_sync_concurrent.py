"""Two identical ERP batches at the same moment give one copy: the unique (source,
external_id) constraint and INSERT … ON CONFLICT DO UPDATE make the second writer
update what the first inserted, nested lines included.

Runs against PostgreSQL (`scripts/with-postgres.sh .venv/bin/pytest src/guanxi/commerce
-k concurrent`), where the two transactions really overlap. On SQLite the test
database is an in-memory one shared between threads, where writers lock each other
out instead of overlapping, so it is skipped there.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from guanxi.commerce import sync
from guanxi.commerce.models import Order, OrderLine
from guanxi.core.models import AuditEntry
from guanxi.testing.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="concurrent writers need a server database (PostgreSQL)"),
]

ROWS = 2000
THREADS = 4


def _rows() -> list[dict]:
    return [{"external_id": f"SO-{i:05d}", "customer": f"K{i % 20:03d}",
             "ordered_on": "2026-03-02", "status": "confirmed",
             "lines": [{"line_no": 1, "description": "泵", "quantity": "2", "unit_price": "10"},
                       {"line_no": 2, "description": "阀", "quantity": "1", "unit_price": "5"}]}
            for i in range(ROWS)]


def _race(user, rows) -> list[BaseException | sync.SyncResult]:
    barrier = threading.Barrier(THREADS)
    results: list[BaseException | sync.SyncResult] = []

    def work():
        try:
            barrier.wait()
            results.append(sync.upsert("orders", rows, actor=user))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_identical_batches_give_one_copy(users):
    for i in range(20):
        CustomerFactory(external_id=f"K{i:03d}", source_system="erp")
    rows = _rows()
    results = _race(users["finance"], rows)
    assert all(isinstance(r, sync.SyncResult) for r in results), results
    assert len(results) == THREADS
    assert Order.objects.count() == ROWS
    assert OrderLine.objects.count() == 2 * ROWS
    assert AuditEntry.objects.filter(model="commerce.order").count() == THREADS
    # …and a second race with changed rows updates the one copy.
    for r in rows:
        r["status"] = "shipped"
    results = _race(users["finance"], rows)
    assert all(isinstance(r, sync.SyncResult) for r in results), results
    assert Order.objects.count() == ROWS
    assert set(Order.objects.values_list("status", flat=True)) == {"shipped"}
    assert OrderLine.objects.count() == 2 * ROWS
