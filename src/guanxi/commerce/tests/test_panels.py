"""The commerce panels and timeline entries on the customer 360 page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.commerce import timeline as commerce_timeline
from guanxi.core.registry import panels, timeline_page, timeline_sources
from guanxi.testing.factories import CustomerFactory, InteractionFactory

from . import erp_rows as erp
from .erp_rows import TODAY

D = Decimal
pytestmark = pytest.mark.django_db
KEYS = ("commerce_receivables", "commerce_orders", "commerce_contracts")


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def customer(users):
    return CustomerFactory(name="杭州钱塘水务有限公司", owner=users["rep"],
                           team=users["rep"].team, credit_limit=D("10000.00"))


def fill(customer, *, orders=3):
    """A customer with some of everything; returns the rows worth asserting on."""
    c = erp.contract(customer, number="HT-2026-001", title="水处理设备")
    erp.milestone(c, 1, kind="payment", name="预付款", due_on=days(-3), amount=D("3000"))
    erp.milestone(c, 2, kind="installation", name="安装调试", due_on=days(20))
    made = [erp.order(customer, ordered_on=days(-i), number=f"SO-{i}") for i in range(orders)]
    for o in made:
        erp.delivery(customer, o, status="in_transit", carrier="顺丰", shipped_on=days(-1),
                     tracking_number=f"SF-{o.number}", expected_on=days(2))
    erp.invoice(customer, number="INV-OVERDUE", amount="8000", due_on=days(-12))
    erp.invoice(customer, number="INV-USD", amount="500", currency="USD", due_on=days(-2))
    erp.invoice(customer, number="INV-LATER", amount="4000", due_on=days(20))
    erp.invoice(customer, number="INV-VOID", amount="99999", status="cancelled", due_on=days(-30))
    erp.payment(customer, amount="1234.50", received_on=days(-4), reference="BK-1")
    return {"contract": c, "orders": made}


def test_panels_registered_in_order():
    keys = [p.key for p in panels()]
    assert all(k in keys for k in KEYS)


def test_customer_page_shows_the_commerce_panels(client, users, customer):
    fill(customer)
    html = login(client, users["rep"]).get(customer.get_absolute_url()).content.decode()

    for key in KEYS:
        assert f"panel-{key}" in html
    assert "HT-2026-001" in html and "预付款" in html           # open contract, payment due
    assert "SF-SO-0" in html and "顺丰" in html                 # delivery status of orders
    assert "INV-OVERDUE" in html and "INV-VOID" not in html      # cancelled invoice left out
    assert "12,000.00" in html                                  # CNY balance: 8000 + 4000
    assert "1,234.50" in html                                   # recent payment
    assert "Over the credit limit" in html and "2,000.00" in html  # 12000 used of 10000
    assert f"{reverse('commerce:orders')}?customer={customer.pk}" in html
    assert f"{reverse('commerce:invoices')}?customer={customer.pk}" in html


def test_balance_and_overdue_per_currency_in_the_panel(users, customer):
    fill(customer)
    ctx = next(p for p in panels() if p.key == "commerce_receivables").context(
        customer, users["finance"])
    by_currency = {t["currency"]: t for t in ctx["totals"]}
    assert by_currency["CNY"]["outstanding"] == D("12000.00")
    assert by_currency["CNY"]["overdue"] == D("8000.00")
    assert by_currency["USD"]["outstanding"] == by_currency["USD"]["overdue"] == D("500.00")
    html = render_to_string("commerce/partials/panel_receivables.html",
                            {"customer": customer, **ctx})
    assert 'data-currency="USD"' in html and "12,000.00" in html


def test_no_warning_under_the_limit(client, users):
    calm = CustomerFactory(owner=users["rep"], credit_limit=D("50000"))
    erp.invoice(calm, amount="1000")
    html = login(client, users["rep"]).get(calm.get_absolute_url()).content.decode()
    assert 'id="credit-used"' in html and "Over the credit limit" not in html


def test_finance_sees_the_panels(client, users, customer):
    fill(customer)
    html = login(client, users["finance"]).get(customer.get_absolute_url()).content.decode()
    assert "panel-commerce_receivables" in html and "INV-OVERDUE" in html


def test_panels_hidden_for_users_who_may_not_see_the_customer(users, customer):
    for panel in panels():
        if panel.key in KEYS:
            assert panel.context(customer, users["rep2"]) is None
            assert panel.context(customer, users["rep"]) is not None


def test_empty_customer_renders_empty_states(client, users, customer):
    html = login(client, users["rep"]).get(customer.get_absolute_url()).content.decode()
    assert "No orders yet." in html and "No open invoices." in html
    assert "No open contracts." in html


@pytest.mark.parametrize("key", KEYS)
def test_panel_queries_do_not_grow_with_rows(users, customer, key):
    panel = next(p for p in panels() if p.key == key)

    def run() -> int:
        fresh = type(customer).objects.get(pk=customer.pk)
        with CaptureQueriesContext(connection) as ctx:
            data = panel.context(fresh, users["rep"])
            render_to_string(panel.template, {"customer": fresh, **data})
        return len(ctx.captured_queries)

    fill(customer, orders=1)
    few = run()
    for _ in range(3):
        fill(customer, orders=6)
    assert run() == few
    assert few <= 4


def test_customer_page_query_count_is_bounded(client, users, customer,
                                              django_assert_max_num_queries):
    fill(customer, orders=8)
    login(client, users["rep"])
    url = customer.get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(3):
        fill(customer, orders=8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200
    commerce = [q for q in small.captured_queries if "commerce_" in q["sql"]]
    assert len(commerce) <= 13  # 3 panels (≤ 7) + the timeline (5)


# ---------------------------------------------------------------- timeline


def test_timeline_entries_for_every_kind(users, customer):
    o = erp.order(customer, ordered_on=days(-10), number="SO-T")
    erp.delivery(customer, o, number="DN-T", status="delivered", shipped_on=days(-8),
                 delivered_on=days(-6), carrier="德邦", tracking_number="DB-9")
    inv = erp.invoice(customer, number="INV-T", issued_on=days(-5), due_on=days(25))
    erp.invoice(customer, number="INV-X", issued_on=days(-5), status="cancelled")
    erp.payment(customer, invoice=inv, received_on=days(-1), amount="300")

    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds={"commerce"})

    titles = [e.title for e in entries]
    assert titles == ["Payment of 300.00 CNY received", "Invoice INV-T issued",
                      "Delivery DN-T delivered", "Delivery DN-T shipped", "Order SO-T placed"]
    assert all(e.kind == "commerce" and e.source == "commerce" for e in entries)
    assert entries[-1].url == reverse("commerce:order_detail", args=[o.pk])
    assert "INV-T" in entries[0].body
    assert entries[-1].at.date() == days(-10)


def test_timeline_kind_filter(users, customer):
    erp.order(customer, ordered_on=days(-1))
    InteractionFactory(customer=customer, kind="call")
    only_calls, _ = timeline_page(customer=customer, user=users["rep"], kinds={"call"})
    assert all(e.source != "commerce" for e in only_calls) and only_calls
    only_erp, _ = timeline_page(customer=customer, user=users["rep"], kinds={"commerce"})
    assert [e.source for e in only_erp] == ["commerce"]
    declared = [(k, str(label)) for s in timeline_sources() for k, label in s.kinds]
    assert ("commerce", "orders and payments") in declared


def test_timeline_pages_through_same_day_entries_without_loss(users, customer):
    made = set()
    for i in range(9):
        o = erp.order(customer, ordered_on=days(-1), number=f"SO-SAME-{i}")
        made.add(f"Order {o.number} placed")
        inv = erp.invoice(customer, number=f"INV-SAME-{i}", issued_on=days(-1))
        made.add(f"Invoice {inv.number} issued")
    seen, before = [], None
    for _ in range(10):
        entries, before = timeline_page(customer=customer, user=users["rep"], before=before,
                                        kinds={"commerce"}, limit=4)
        seen.extend(e.title for e in entries)
        if before is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


def test_stamp_and_cursor_agree():
    day = dt.date(2026, 3, 1)
    a = commerce_timeline.stamp(day, "order", 7)
    b = commerce_timeline.stamp(day, "payment", 3)
    assert a < b and a.date() == day
    # Strictly older than b: payments of that day with a smaller id, all earlier kinds.
    assert commerce_timeline._cursor(b, "received_on", "payment") == (
        "(received_on < %s OR (received_on = %s AND id < %s))", [day, day, 3])
    assert commerce_timeline._cursor(b, "ordered_on", "order") == ("ordered_on <= %s", [day])
    assert commerce_timeline._cursor(a, "received_on", "payment") == ("received_on < %s", [day])


def test_timeline_on_the_page_and_hidden_for_strangers(client, users, customer):
    erp.order(customer, ordered_on=days(-2), number="SO-PAGE")
    html = login(client, users["rep"]).get(customer.get_absolute_url()).content.decode()
    assert "Order SO-PAGE placed" in html
    assert commerce_timeline.commerce_entries(customer=customer, user=users["rep2"]) == []
