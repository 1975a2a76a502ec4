"""The commerce REST API: ERP bulk upserts (idempotent, 422 per row with nothing written,
403 for users who may not sync) and the permission-scoped reads."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.api.tests.conftest import ApiClient
from guanxi.commerce.models import Contract, Delivery, Invoice, Order, OrderLine, Payment
from guanxi.commerce.schemas import MAX_ROWS
from guanxi.core.models import AuditAction, AuditEntry
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(users):
    def make(role: str) -> ApiClient:
        _token, key = ApiToken.issue(user=users[role], name=f"test {role}")
        return ApiClient(key)

    return make


@pytest.fixture
def customers(users, org):
    a = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"],
                        external_id="K001", source_system="erp")
    b = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"],
                        external_id="K002", source_system="erp")
    return {"A": a, "B": b}


def orders_body(*rows, source="erp"):
    return {"source": source, "rows": list(rows)}


def order(ext, customer="K001", **extra):
    return {"external_id": ext, "customer": customer, "ordered_on": "2026-03-02", **extra}


def test_bulk_upsert_is_idempotent(api, customers):
    client = api("finance")
    body = orders_body(order("SO-1", lines=[{"description": "泵", "quantity": 2,
                                             "unit_price": "100"}]),
                       order("SO-2", customer="K002", status="shipped"))
    resp = client.post("/api/v1/erp/orders", body)
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"entity": "orders", "source": "erp", "rows": 2, "created": 2,
                           "updated": 0, "unchanged": 0}
    resp = client.post("/api/v1/erp/orders", body)
    assert (resp.json()["created"], resp.json()["unchanged"]) == (0, 2)
    body["rows"][1]["status"] = "delivered"
    assert client.post("/api/v1/erp/orders", body).json()["updated"] == 1
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT, model="commerce.order").count() == 3


def test_admin_may_sync_everything(api, customers):
    client = api("admin")
    assert client.post("/api/v1/erp/product_lines", {"rows": [
        {"external_id": "PL1", "code": "water", "name": "水处理"}]}).status_code == 200
    assert client.post("/api/v1/erp/products", {"rows": [
        {"external_id": "P1", "code": "RO-1", "name": "反渗透", "product_line": "PL1"}]}
    ).status_code == 200
    assert client.post("/api/v1/erp/contracts", {"rows": [
        {"external_id": "HT1", "customer": "K001", "amount": "1000",
         "milestones": [{"name": "预付款", "kind": "payment", "amount": "300"}]}]}
    ).status_code == 200
    assert client.post("/api/v1/erp/orders", {"rows": [order("SO1", contract="HT1", lines=[
        {"product": "P1", "quantity": 1, "unit_price": "1000"}])]}).status_code == 200
    assert client.post("/api/v1/erp/deliveries", {"rows": [
        {"external_id": "D1", "order": "SO1", "status": "shipped", "carrier": "顺丰"}]}
    ).status_code == 200
    assert client.post("/api/v1/erp/invoices", {"rows": [
        {"external_id": "I1", "order": "SO1", "issued_on": "2026-03-05", "amount": "1000"}]}
    ).status_code == 200
    resp = client.post("/api/v1/erp/payments", {"rows": [
        {"external_id": "PAY1", "invoice": "I1", "received_on": "2026-03-20", "amount": "1000",
         "method": "bank_transfer"}]})
    assert resp.status_code == 200, resp.content
    assert Invoice.objects.get().status == "paid"
    assert Delivery.objects.get().customer == customers["A"]


@pytest.mark.parametrize("role", ["rep", "service", "manager", "director", "readonly"])
def test_users_who_may_not_sync_get_403(api, customers, role):
    resp = api(role).post("/api/v1/erp/orders", orders_body(order("SO-1")))
    assert resp.status_code == 403
    assert Order.objects.count() == 0


def test_bad_rows_422_name_row_and_field_and_nothing_is_written(api, customers):
    resp = api("finance").post("/api/v1/erp/orders", orders_body(
        order("SO-1"), order("SO-2", customer="K999"),
        order("SO-3", lines=[{"product_code": "NOPE"}])))
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert set(errors) == {"rows.1.customer", "rows.2.lines.0.product_code"}
    assert "K999" in errors["rows.1.customer"][0]
    assert Order.objects.count() == 0
    assert not AuditEntry.objects.filter(action=AuditAction.IMPORT).exists()


def test_type_errors_422(api, customers):
    resp = api("finance").post("/api/v1/erp/orders", orders_body(
        order("SO-1", ordered_on="soon"), order("SO-2", amount=-5, extra=1)))
    assert resp.status_code == 422
    assert set(resp.json()["errors"]) == {"rows.0.ordered_on", "rows.1.amount", "rows.1.extra"}
    resp = api("finance").client.post("/api/v1/erp/orders", data=b"{not json",
                                      content_type="application/json")
    assert resp.status_code == 422
    resp = api("finance").post("/api/v1/erp/orders", {"rows": [order(f"S{i}")
                                                               for i in range(MAX_ROWS + 1)]})
    assert resp.status_code == 422 and "rows" in resp.json()["errors"]
    assert Order.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_bodies_above_the_form_upload_limit_are_taken(api, customers):
    rows = [order(f"SO-{i}", lines=[{"description": "很长的描述" * 5}]) for i in range(50)]
    assert len(json.dumps(orders_body(*rows))) > 1000
    resp = api("finance").post("/api/v1/erp/orders", orders_body(*rows))
    assert resp.status_code == 200, resp.content
    assert resp.json()["created"] == 50


# ---------------------------------------------------------------- reads


@pytest.fixture
def mirror(api, customers):
    client = api("admin")
    for entity, rows in (
        ("contracts", [{"external_id": "HT1", "customer": "K001", "amount": "10000",
                        "executed_amount": "2500", "milestones": [
                            {"name": "发货", "kind": "delivery", "due_on": "2026-02-01"},
                            {"name": "尾款", "kind": "payment", "amount": "7000"}]},
                       {"external_id": "HT2", "customer": "K002"}]),
        ("orders", [order("SO1", contract="HT1", status="shipped",
                          lines=[{"description": "泵", "quantity": 2, "unit_price": "50"}]),
                    order("SO2", customer="K002")]),
        ("deliveries", [{"external_id": "D1", "order": "SO1", "status": "in_transit",
                         "carrier": "顺丰", "tracking_number": "SF1"}]),
        ("invoices", [{"external_id": "I1", "order": "SO1", "issued_on": "2026-01-01",
                       "due_on": "2026-01-31", "amount": "100"},
                      {"external_id": "I2", "customer": "K001", "issued_on": "2026-03-01",
                       "due_on": "2099-01-01", "amount": "50"},
                      {"external_id": "I3", "customer": "K002", "issued_on": "2026-01-01",
                       "due_on": "2026-01-31", "amount": "70"}]),
        ("payments", [{"external_id": "PAY1", "invoice": "I1", "received_on": "2026-02-01",
                       "amount": "30"}]),
    ):
        resp = client.post(f"/api/v1/erp/{entity}", {"rows": rows})
        assert resp.status_code == 200, resp.content
    return customers


@pytest.mark.parametrize("kind", ["contracts", "orders", "deliveries", "invoices", "payments"])
def test_customer_lists_are_scoped(api, mirror, kind):
    a, b = mirror["A"], mirror["B"]
    rep = api("rep")
    resp = rep.get(f"/api/v1/customers/{a.pk}/{kind}")
    assert resp.status_code == 200
    assert resp.json()["count"] >= 1
    assert all(item["customer"] == a.pk for item in resp.json()["items"])
    assert rep.get(f"/api/v1/customers/{b.pk}/{kind}").status_code == 404
    assert api("finance").get(f"/api/v1/customers/{b.pk}/{kind}").status_code == 200


def test_order_detail_with_lines_and_deliveries(api, mirror):
    so1 = Order.objects.get(external_id="SO1")
    resp = api("rep").get(f"/api/v1/orders/{so1.pk}")
    assert resp.status_code == 200
    data = resp.json()
    assert data["contract"] == Contract.objects.get(external_id="HT1").pk
    assert [(ln["line_no"], ln["amount"]) for ln in data["lines"]] == [(1, "100.00")]
    assert [(d["carrier"], d["status"]) for d in data["deliveries"]] == [("顺丰", "in_transit")]
    so2 = Order.objects.get(external_id="SO2")
    assert api("rep").get(f"/api/v1/orders/{so2.pk}").status_code == 404
    assert api("rep2").get(f"/api/v1/orders/{so2.pk}").status_code == 200


def test_contract_detail_with_milestones(api, mirror):
    ht1 = Contract.objects.get(external_id="HT1")
    data = api("service").get(f"/api/v1/contracts/{ht1.pk}").json()
    assert data["execution_percent"] == 25
    assert [(m["seq"], m["kind"]) for m in data["milestones"]] == [(1, "delivery"),
                                                                   (2, "payment")]
    ht2 = Contract.objects.get(external_id="HT2")
    assert api("rep").get(f"/api/v1/contracts/{ht2.pk}").status_code == 404


def test_invoice_detail_with_payments(api, mirror):
    i1 = Invoice.objects.get(external_id="I1")
    data = api("finance").get(f"/api/v1/invoices/{i1.pk}").json()
    assert (data["paid_amount"], data["outstanding"], data["status"]) == (
        "30.00", "70.00", "partially_paid")
    assert data["overdue_days"] == (timezone.localdate() - dt.date(2026, 1, 31)).days
    assert [p["amount"] for p in data["payments"]] == ["30.00"]
    assert Payment.objects.get().invoice == i1
    i3 = Invoice.objects.get(external_id="I3")
    assert api("rep").get(f"/api/v1/invoices/{i3.pk}").status_code == 404


def test_receivables(api, mirror):
    finance = api("finance").get("/api/v1/receivables", {"overdue": 1}).json()
    assert [i["external_id"] for i in finance["items"]] == ["I1", "I3"]
    everything = api("finance").get("/api/v1/receivables").json()
    assert [i["external_id"] for i in everything["items"]] == ["I1", "I3", "I2"]
    rep = api("rep").get("/api/v1/receivables", {"overdue": "1"}).json()
    assert [i["external_id"] for i in rep["items"]] == ["I1"]
    assert rep["items"][0]["outstanding"] == "70.00"
