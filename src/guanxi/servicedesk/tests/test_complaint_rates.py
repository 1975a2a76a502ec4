"""Complaint rates per customer (complaints / orders) and per product (complaints /
units and order lines delivered), worst first, over what the user can see."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.commerce.models import Delivery, Order, OrderLine
from guanxi.sales.models import Product, ProductLine
from guanxi.servicedesk.complaint_reports import customer_rates, product_rates
from guanxi.servicedesk.models import Asset, Ticket, TicketStatus
from guanxi.testing.factories import CustomerFactory

from .test_sla import at, make_ticket

pytestmark = pytest.mark.django_db
PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
_ids = itertools.count(1)


def order(customer, on=dt.date(2026, 3, 1), status="delivered", lines=(), delivered_on=None):
    o = Order.objects.create(customer=customer, number=f"SO{next(_ids)}", ordered_on=on,
                             status=status, external_id=f"o{next(_ids)}")
    for i, (product, qty) in enumerate(lines, start=1):
        OrderLine.objects.create(order=o, line_no=i, product=product, quantity=Decimal(qty))
    if delivered_on:
        Delivery.objects.create(customer=customer, order=o, number=f"DN{next(_ids)}",
                                status="delivered", delivered_on=delivered_on,
                                external_id=f"d{next(_ids)}")
    return o


MARCH_10 = at(2026, 3, 10, 10)


def complaint(customer, when=MARCH_10, **kw) -> Ticket:
    return make_ticket(customer, type_code="complaint", created_at=when, **kw)


@pytest.fixture
def world(users):
    line = ProductLine.objects.create(code="chillers", name="冷水机组")
    p1 = Product.objects.create(product_line=line, code="CH-100", name="冷水机 100")
    p2 = Product.objects.create(product_line=line, code="CH-200", name="冷水机 200")
    p3 = Product.objects.create(product_line=line, code="CH-300", name="冷水机 300")
    big = CustomerFactory(name="大客户", team=users["manager"].team)
    small = CustomerFactory(name="小客户", team=users["manager"].team)
    new = CustomerFactory(name="新客户", team=users["manager"].team)
    hidden = CustomerFactory(name="别人的客户", owner=users["rep2"], team=users["rep2"].team)
    for _ in range(10):
        order(big)
    order(big, status="cancelled")  # not counted
    order(big, on=dt.date(2025, 12, 1))  # before the period
    order(small)
    # big: 3 complaints / 10 orders; small: 1 / 1; new: 1 / 0 (no orders: worst).
    for _ in range(3):
        complaint(big, product=p1)
    merged = complaint(big, product=p1)
    Ticket.objects.filter(pk=merged.pk).update(status=TicketStatus.MERGED)  # a duplicate
    complaint(big, when=at(2025, 12, 20, 10), product=p1)  # before the period
    make_ticket(big, type_code="request", created_at=at(2026, 3, 10, 10), product=p1)
    asset = Asset.objects.create(customer=small, product=p2, name="2 号机")
    complaint(small, asset=asset)  # about p2 through the asset
    complaint(new)  # no product
    complaint(hidden, product=p2)
    # Deliveries: p1 100 units in 3 lines, p2 5 units in 1 line (in the period);
    # p2 50 units delivered before the period; p3 has no complaints.
    # (Ordered in 2025, so they do not count as the period's orders.)
    ordered = dt.date(2025, 10, 1)
    order(big, ordered, lines=[(p1, 40), (p1, 40)], delivered_on=dt.date(2026, 2, 1))
    order(small, ordered, lines=[(p1, 20), (p2, 5), (p3, 9)], delivered_on=dt.date(2026, 4, 1))
    order(small, ordered, lines=[(p2, 50)], delivered_on=dt.date(2025, 11, 1))
    order(hidden, ordered, lines=[(p2, 1000)], delivered_on=dt.date(2026, 4, 1))
    return {"p1": p1, "p2": p2, "big": big, "small": small, "new": new, "hidden": hidden}


def test_customer_rates_worst_first(world, users):
    rows = customer_rates(users["manager"], *PERIOD)
    assert [(r.obj.name, r.complaints, int(r.base)) for r in rows] == [
        ("新客户", 1, 0), ("小客户", 1, 1), ("大客户", 3, 10)]
    assert rows[0].rate is None and rows[0].per_100 is None
    assert rows[1].per_100 == pytest.approx(100)
    assert rows[2].rate == pytest.approx(0.3) and rows[2].per_100 == pytest.approx(30)


def test_product_rates_worst_first(world, users):
    rows = product_rates(users["manager"], *PERIOD)
    assert [(r.obj.code, r.complaints, r.base, r.lines) for r in rows] == [
        ("CH-200", 1, Decimal(5), 1), ("CH-100", 3, Decimal(100), 3)]
    assert rows[0].per_100 == pytest.approx(20)
    assert rows[1].per_100 == pytest.approx(3) and rows[1].per_100_lines == pytest.approx(100)


def test_rates_are_limited_to_visible_customers(world, users):
    director = product_rates(users["director"], *PERIOD)
    p2 = next(r for r in director if r.obj.code == "CH-200")
    assert p2.complaints == 2 and p2.base == Decimal(1005)
    names = [r.obj.name for r in customer_rates(users["director"], *PERIOD)]
    assert "别人的客户" in names
    assert "别人的客户" not in [r.obj.name for r in customer_rates(users["manager"], *PERIOD)]


def test_rates_page_and_api(client, world, users):
    url = reverse("complaints:rates")
    client.force_login(users["rep"])
    assert client.get(url).status_code == 403
    assert client.get("/api/v1/complaints/rates").status_code == 403
    client.force_login(users["manager"])
    r = client.get(url, {"start": "2026-01-01", "end": "2026-06-30"})
    assert r.status_code == 200
    html = r.content.decode()
    assert html.index("新客户") < html.index("小客户") < html.index("大客户")
    assert "CH-200" in html and "CH-300" not in html
    r = client.get("/api/v1/complaints/rates", {"start": "2026-01-01", "end": "2026-06-30"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [c["name"] for c in body["customers"]] == ["新客户", "小客户", "大客户"]
    assert body["customers"][2]["per_100"] == 30 and body["customers"][0]["rate"] is None
    assert body["products"][0]["code"] == "CH-200"
    assert body["products"][0]["per_100_units"] == 20
