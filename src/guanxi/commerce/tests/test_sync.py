"""ERP sync (commerce/sync.py): idempotent upserts keyed by (source, external_id), nested
lines and milestones replaced, references resolved set-wise, all-or-nothing batches,
permission, one audit entry per batch, invoice paid amounts from payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.commerce import sync
from guanxi.commerce.models import (
    Contract,
    ContractMilestone,
    Delivery,
    Invoice,
    Order,
    OrderLine,
    Payment,
)
from guanxi.core.models import AuditAction, AuditEntry
from guanxi.sales.models import Product, ProductLine
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(users, org):
    a = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"],
                        external_id="K001", source_system="erp")
    b = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"],
                        external_id="K002")  # imported from a file: no source system
    return {"A": a, "B": b}


@pytest.fixture
def catalog(users):
    sync.upsert("product_lines", [{"external_id": "PL1", "code": "water", "name": "水处理"}],
                actor=users["admin"])
    sync.upsert("products", [
        {"external_id": "P1", "code": "RO-500", "name": "反渗透 500", "product_line": "PL1",
         "unit_price": "12000"},
        {"external_id": "P2", "code": "UF-20", "name": "超滤 20", "product_line_code": "water"},
    ], actor=users["admin"])
    return {p.code: p for p in Product.objects.all()}


def order(ext: str, customer: str = "K001", **extra):
    row = {"external_id": ext, "customer": customer, "ordered_on": "2026-03-02",
           "status": "confirmed"}
    row.update(extra)
    return row


LINES = [{"product_code": "RO-500", "quantity": "2", "unit_price": "12000"},
         {"product": "P2", "quantity": 1, "unit_price": "3000.50", "description": "超滤"}]


def test_same_batch_twice_gives_one_copy(users, customers, catalog):
    rows = [order("SO-1", lines=LINES), order("SO-2", customer="K002", amount="99.90")]
    first = sync.upsert("orders", rows, actor=users["finance"])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    second = sync.upsert("orders", rows, actor=users["finance"])
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 2
    so1 = Order.objects.get(external_id="SO-1")
    assert so1.customer == customers["A"] and so1.number == "SO-1"
    assert so1.amount == Decimal("27000.50")  # the lines' sum when the row gives none
    lines = list(so1.lines.order_by("line_no"))
    assert [(ln.line_no, ln.product.code, ln.product_code, ln.amount) for ln in lines] == [
        (1, "RO-500", "RO-500", Decimal("24000.00")), (2, "UF-20", "UF-20", Decimal("3000.50"))]
    assert Order.objects.get(external_id="SO-2").customer == customers["B"]


def test_unchanged_rows_only_refresh_synced_at(users, customers):
    t1 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    t2 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    sync.upsert("orders", [order("SO-1")], actor=users["admin"], now=t1)
    sync.upsert("orders", [order("SO-1")], actor=users["admin"], now=t2)
    assert Order.objects.get().synced_at == t2


def test_updates_change_fields_and_replace_lines(users, customers, catalog):
    sync.upsert("orders", [order("SO-1", lines=LINES)], actor=users["admin"])
    result = sync.upsert("orders", [order("SO-1", status="shipped", promised_on="2026-04-01",
                                          lines=[{"line_no": 5, "product_code": "UF-20",
                                                  "quantity": "3", "unit_price": "10"}])],
                         actor=users["admin"])
    assert (result.created, result.updated) == (0, 1)
    o = Order.objects.get()
    assert o.status == "shipped" and o.promised_on == dt.date(2026, 4, 1)
    assert list(o.lines.values_list("line_no", "quantity", "amount")) == [
        (5, Decimal("3.000"), Decimal("30.00"))]
    assert o.amount == Decimal("30.00")
    # Lines left out: the stored ones stay; an empty list removes them.
    sync.upsert("orders", [order("SO-1", status="delivered", amount="30")], actor=users["admin"])
    assert OrderLine.objects.count() == 1
    sync.upsert("orders", [order("SO-1", status="delivered", amount="30", lines=[])],
                actor=users["admin"])
    assert OrderLine.objects.count() == 0


def test_contract_milestones_replaced(users, customers):
    row = {"external_id": "HT-1", "customer": "K001", "number": "HT2026-001", "amount": "500000",
           "executed_amount": "200000", "signed_on": "2026-01-10",
           "milestones": [{"kind": "delivery", "name": "发货", "due_on": "2026-02-01"},
                          {"kind": "payment", "name": "预付款 30%", "amount": "150000"}]}
    sync.upsert("contracts", [row], actor=users["admin"])
    c = Contract.objects.get()
    assert c.execution_percent == 40
    assert list(c.milestones.values_list("seq", "kind", "name")) == [
        (1, "delivery", "发货"), (2, "payment", "预付款 30%")]
    row["milestones"] = [{"seq": 3, "kind": "acceptance", "name": "验收"}]
    assert sync.upsert("contracts", [row], actor=users["admin"]).updated == 1
    assert list(ContractMilestone.objects.values_list("seq", "name")) == [(3, "验收")]


def test_unknown_references_refuse_the_whole_batch(users, customers, catalog):
    rows = [order("SO-1"),
            order("SO-2", customer="NOPE"),
            order("SO-3", lines=[{"product_code": "XX-1"}]),
            order("SO-4", contract="HT-404"),
            {"external_id": "SO-5", "ordered_on": "2026-03-02"}]
    with pytest.raises(sync.SyncError) as caught:
        sync.upsert("orders", rows, actor=users["admin"])
    errors = caught.value.message_dict
    assert set(errors) == {"rows.1.customer", "rows.2.lines.0.product_code", "rows.3.contract",
                           "rows.4.customer"}
    assert "NOPE" in errors["rows.1.customer"][0]
    assert "XX-1" in errors["rows.2.lines.0.product_code"][0]
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0
    assert not AuditEntry.objects.filter(action=AuditAction.IMPORT, model="commerce.order").exists()


def test_type_errors_name_row_and_field(users, customers):
    with pytest.raises(sync.SyncError) as caught:
        sync.upsert("orders", [order("SO-1"), order("SO-2", ordered_on="31/02/2026",
                                                     amount="1.234", colour="red")],
                    actor=users["admin"])
    assert set(caught.value.message_dict) == {"rows.1.ordered_on", "rows.1.amount",
                                               "rows.1.colour"}
    assert Order.objects.count() == 0


def test_duplicate_external_id_in_batch(users, customers):
    with pytest.raises(sync.SyncError) as caught:
        sync.upsert("orders", [order("SO-1"), order("SO-1")], actor=users["admin"])
    assert "row 0" in caught.value.message_dict["rows.1.external_id"][0]


def test_partial_writes_the_good_rows(users, customers):
    result = sync.upsert("orders", [order("SO-1"), order("SO-2", customer="NOPE"),
                                    order("SO-3", ordered_on="bad")],
                         actor=users["admin"], partial=True)
    assert (result.created, [e.row for e in result.errors]) == (1, [1, 2])
    assert result.outcomes == ["created", None, None]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["SO-1"]


def test_modes(users, customers):
    sync.upsert("orders", [order("SO-1")], actor=users["admin"])
    r = sync.upsert("orders", [order("SO-1", status="closed"), order("SO-2")],
                    actor=users["admin"], mode="create")
    assert (r.created, r.unchanged) == (1, 1)
    assert Order.objects.get(external_id="SO-1").status == "confirmed"
    with pytest.raises(sync.SyncError):
        sync.upsert("orders", [order("SO-3")], actor=users["admin"], mode="update")


def test_sources_are_separate(users, customers):
    sync.upsert("orders", [order("SO-1", "K002")], actor=users["admin"], source="erp")
    sync.upsert("orders", [order("SO-1", "K002")], actor=users["admin"], source="erp-hk")
    assert Order.objects.count() == 2
    # K001 came from source "erp": another source can't name it; K002 has no source
    # system (imported from a file), so any source can.
    with pytest.raises(sync.SyncError) as caught:
        sync.upsert("orders", [order("SO-9", customer="K001"), order("SO-8", customer="K002")],
                    actor=users["admin"], source="other")
    assert set(caught.value.message_dict) == {"rows.0.customer"}


@pytest.mark.parametrize("role", ["rep", "service", "manager", "readonly", "marketing",
                                  "director"])
def test_only_admin_and_finance_may_sync(users, customers, role):
    with pytest.raises(PermissionDenied):
        sync.upsert("orders", [order("SO-1")], actor=users[role])
    assert Order.objects.count() == 0


def test_one_audit_entry_per_batch(users, customers):
    sync.upsert("orders", [order(f"SO-{i}") for i in range(30)], actor=users["finance"])
    sync.upsert("orders", [order(f"SO-{i}") for i in range(31)], actor=users["finance"])
    entries = list(AuditEntry.objects.filter(action=AuditAction.IMPORT, model="commerce.order")
                   .order_by("pk"))
    assert len(entries) == 2
    assert entries[0].actor == users["finance"]
    assert entries[0].changes["created"] == [None, 30]
    assert entries[1].changes["created"] == [None, 1]
    assert entries[1].changes["unchanged"] == [None, 30]
    assert entries[1].changes["source"] == [None, "erp"]


def test_references_resolve_in_a_constant_number_of_queries(users, customers):
    sync.upsert("contracts", [{"external_id": f"HT-{i}", "customer": "K001"} for i in range(3)],
                actor=users["admin"])
    small = [order(f"SO-{i}", contract=f"HT-{i % 3}") for i in range(5)]
    big = [order(f"SO-{i}", contract=f"HT-{i % 3}") for i in range(5, 505)]
    with CaptureQueriesContext(connection) as q_small:
        sync.upsert("orders", small, actor=users["admin"])
    with CaptureQueriesContext(connection) as q_big:
        sync.upsert("orders", big, actor=users["admin"])
    assert len(q_big.captured_queries) <= len(q_small.captured_queries) + 2
    assert Order.objects.filter(contract__external_id="HT-1").count() == 168


def test_customer_by_guanxi_id_merged_and_derived(users, customers):
    survivor, merged = customers["A"], CustomerFactory(name="旧名", external_id="K009",
                                                       source_system="erp")
    merged.merged_into = survivor
    merged.save()
    sync.upsert("orders", [order("SO-1", customer="K009"),
                           {"external_id": "SO-2", "customer_id": customers["B"].pk,
                            "ordered_on": "2026-03-02"}], actor=users["admin"])
    assert Order.objects.get(external_id="SO-1").customer == survivor
    assert Order.objects.get(external_id="SO-2").customer == customers["B"]
    # A delivery naming only its order belongs to the order's customer.
    sync.upsert("deliveries", [{"external_id": "D-1", "order": "SO-2", "carrier": "顺丰",
                                "tracking_number": "SF123", "status": "in_transit"}],
                actor=users["admin"])
    d = Delivery.objects.get()
    assert (d.customer, d.order.external_id) == (customers["B"], "SO-2")
    # …and a delivery for another customer's order is refused.
    with pytest.raises(sync.SyncError) as caught:
        sync.upsert("deliveries", [{"external_id": "D-2", "order": "SO-2", "customer": "K001"}],
                    actor=users["admin"])
    assert "rows.0.order" in caught.value.message_dict


def test_invoice_paid_amount_follows_payments(users, customers):
    admin = users["admin"]
    sync.upsert("invoices", [
        {"external_id": "INV-1", "customer": "K001", "issued_on": "2026-01-05",
         "due_on": "2026-02-04", "amount": "1000"},
        {"external_id": "INV-2", "customer": "K001", "issued_on": "2026-01-05", "amount": "500",
         "paid_amount": "120"},  # the ERP says so: it stays
    ], actor=admin)
    assert Invoice.objects.get(external_id="INV-1").status == "open"
    sync.upsert("payments", [
        {"external_id": "PAY-1", "invoice": "INV-1", "received_on": "2026-02-01",
         "amount": "400"},
        {"external_id": "PAY-2", "invoice": "INV-2", "received_on": "2026-02-01",
         "amount": "100"},
    ], actor=admin)
    inv1, inv2 = Invoice.objects.get(external_id="INV-1"), Invoice.objects.get(external_id="INV-2")
    assert (inv1.paid_amount, inv1.status) == (Decimal(400), "partially_paid")
    assert inv1.outstanding == Decimal(600)
    assert inv1.overdue_days(dt.date(2026, 2, 14)) == 10
    assert (inv2.paid_amount, inv2.status) == (Decimal(120), "partially_paid")
    assert Payment.objects.get(external_id="PAY-1").customer == customers["A"]
    sync.upsert("payments", [{"external_id": "PAY-3", "invoice": "INV-1",
                              "received_on": "2026-02-10", "amount": "600"}], actor=admin)
    inv1.refresh_from_db()
    assert (inv1.paid_amount, inv1.status, inv1.outstanding) == (Decimal(1000), "paid", 0)
    # Re-sending the invoice without paid_amount keeps the sum of its payments.
    sync.upsert("invoices", [{"external_id": "INV-1", "customer": "K001",
                              "issued_on": "2026-01-05", "due_on": "2026-02-04",
                              "amount": "1000"}], actor=admin)
    inv1.refresh_from_db()
    assert (inv1.paid_amount, inv1.status) == (Decimal(1000), "paid")
    # A payment moved to another invoice lowers the first one again.
    sync.upsert("payments", [{"external_id": "PAY-3", "invoice": "INV-2",
                              "received_on": "2026-02-10", "amount": "600"}], actor=admin)
    inv1.refresh_from_db()
    assert (inv1.paid_amount, inv1.status) == (Decimal(400), "partially_paid")


def test_catalog_upsert_adopts_hand_made_records(users):
    line = ProductLine.objects.create(code="pumps", name="泵")
    Product.objects.create(code="P-9", name="泵 9", product_line=line)
    sync.upsert("product_lines", [{"external_id": "PL9", "code": "pumps", "name": "水泵"}],
                actor=users["admin"])
    line.refresh_from_db()
    assert (line.source, line.external_id, line.name) == ("erp", "PL9", "水泵")
    r = sync.upsert("products", [{"external_id": "X9", "code": "P-9", "name": "水泵 9",
                                  "product_line": "PL9", "unit_price": "99"}],
                    actor=users["admin"])
    assert (r.created, r.updated) == (0, 1)
    again = sync.upsert("products", [{"external_id": "X9", "code": "P-9", "name": "水泵 9",
                                      "product_line": "PL9", "unit_price": "99"}],
                        actor=users["admin"])
    assert again.unchanged == 1
    assert Product.objects.count() == 1 and ProductLine.objects.count() == 1
    with pytest.raises(sync.SyncError) as caught:
        sync.upsert("products", [{"external_id": "X10", "code": "P-9", "name": "别的",
                                  "product_line_code": "pumps"}], actor=users["admin"])
    assert "rows.0.code" in caught.value.message_dict
