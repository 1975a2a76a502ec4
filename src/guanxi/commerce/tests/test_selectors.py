"""Reads behind the commerce panels and lists: sums per currency, overdue, credit,
ageing, milestones, latest delivery, scoping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.commerce import selectors
from guanxi.commerce.models import Invoice, Order
from guanxi.testing.factories import CustomerFactory

from . import erp_rows as erp
from .erp_rows import TODAY

D = Decimal
pytestmark = pytest.mark.django_db


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep"], team=users["rep"].team,
                           credit_limit=D("5000.00"))


def test_receivable_totals_per_currency_overdue_only_past_due(customer, users):
    erp.invoice(customer, amount="1000", due_on=days(-10))                      # overdue 1000
    erp.invoice(customer, amount="2000", paid="500", status="partially_paid",
                due_on=days(-40))                                               # overdue 1500
    erp.invoice(customer, amount="3000", due_on=days(5))                        # not yet due
    erp.invoice(customer, amount="700", due_on=TODAY)                           # due today
    erp.invoice(customer, amount="9999", status="cancelled", due_on=days(-99))  # ignored
    erp.invoice(customer, amount="800", paid="800", status="paid", due_on=days(-5))
    erp.invoice(customer, amount="100", currency="USD", due_on=days(-1))
    erp.invoice(customer, amount="50", currency="USD", due_on=days(30))
    other = CustomerFactory(owner=users["rep"])
    erp.invoice(other, amount="123456", due_on=days(-100))

    totals = selectors.receivable_totals(Invoice.objects.filter(customer=customer), TODAY)

    assert [t["currency"] for t in totals] == ["CNY", "USD"]
    cny, usd = totals
    assert cny["outstanding"] == D("6200.00")   # 1000 + 1500 + 3000 + 700
    assert cny["overdue"] == D("2500.00")        # 1000 + 1500; due today is not overdue
    assert (cny["open_count"], cny["overdue_count"]) == (4, 2)
    assert usd["outstanding"] == D("150.00") and usd["overdue"] == D("100.00")


def test_receivables_panel_credit_used_is_cny_outstanding(customer, users):
    erp.invoice(customer, amount="4000", due_on=days(-3))
    erp.invoice(customer, amount="2000", due_on=days(10))
    erp.invoice(customer, amount="100000", currency="USD")  # not counted against 元 limit
    erp.payment(customer, amount="10", received_on=days(-1))
    erp.payment(customer, amount="20", received_on=days(-2))

    ctx = selectors.receivables_panel(users["rep"], customer, on=TODAY)

    credit = ctx["credit"]
    assert credit["used"] == D("6000.00") and credit["limit"] == D("5000.00")
    assert credit["over"] is True and credit["over_by"] == D("1000.00")
    assert credit["percent"] == 120 and credit["bar"] == 100
    assert [i.days_overdue for i in ctx["open_invoices"]][:2] == [3, 0]
    assert [p.amount for p in ctx["payments"]] == [D("10.00"), D("20.00")]


def test_credit_under_limit_and_without_limit():
    ok = selectors.credit(D("1000"), D("250"))
    assert ok["over"] is False and ok["percent"] == 25 and ok["available"] == D("750")
    assert selectors.credit(None, D("10")) is None
    assert selectors.credit(D("0"), D("1"))["over"] is True


def test_ageing_buckets_per_currency(customer):
    erp.invoice(customer, amount="100", due_on=days(3))       # not due
    erp.invoice(customer, amount="200", due_on=days(-1))      # 1–30
    erp.invoice(customer, amount="300", due_on=days(-30))     # 1–30
    erp.invoice(customer, amount="400", due_on=days(-31))     # 31–60
    erp.invoice(customer, amount="500", due_on=days(-75))     # 61–90
    erp.invoice(customer, amount="600", paid="100", status="partially_paid",
                due_on=days(-200))                             # >90: 500
    erp.invoice(customer, amount="900", status="cancelled", due_on=days(-200))
    erp.invoice(customer, amount="70", currency="USD", due_on=days(-95))

    rows = selectors.ageing(Invoice.objects.filter(customer=customer), TODAY)

    cny = rows[0]
    assert cny["currency"] == "CNY"
    assert (cny["not_due"], cny["d30"], cny["d60"], cny["d90"], cny["older"]) == (
        D("100.00"), D("500.00"), D("400.00"), D("500.00"), D("500.00"))
    assert cny["total"] == D("2000.00") and cny["count"] == 6
    assert rows[1]["currency"] == "USD" and rows[1]["older"] == D("70.00")


def test_contracts_panel_next_milestone_and_payments_due(customer, users):
    c = erp.contract(customer, amount="10000", executed="2500")
    erp.milestone(c, 1, kind="delivery", due_on=days(-20), done_on=days(-21))
    erp.milestone(c, 2, kind="payment", name="预付款", due_on=days(-5), amount=D("3000"))
    erp.milestone(c, 3, kind="installation", due_on=days(10))
    erp.milestone(c, 4, kind="payment", name="尾款", due_on=days(40), amount=D("7000"))
    erp.contract(customer, status="completed")  # not open: not in the panel
    draft = erp.contract(customer, status="draft", signed_on=None)

    ctx = selectors.contracts_panel(users["rep"], customer, on=TODAY)

    assert [x.pk for x in ctx["contracts"]] == [c.pk, draft.pk]
    first = ctx["contracts"][0]
    assert first.execution_percent == 25
    assert first.next_milestone.seq == 2
    assert [m.name for m in first.payments_due] == ["预付款"]
    assert first.payments_due_total == D("3000")
    assert first.next_payment.name == "尾款"
    assert ctx["contracts"][1].next_milestone is None


def test_orders_panel_latest_delivery_and_limit(customer, users):
    orders = [erp.order(customer, ordered_on=days(-i)) for i in range(7)]
    newest = orders[0]
    erp.delivery(customer, newest, status="delivered", shipped_on=days(-3), delivered_on=days(-1),
                 carrier="顺丰", tracking_number="SF100")
    late = erp.delivery(customer, newest, status="in_transit", shipped_on=days(-1),
                        expected_on=days(2), carrier="德邦", tracking_number="DB200")

    ctx = selectors.orders_panel(users["rep"], customer)

    assert len(ctx["orders"]) == selectors.PANEL_ROWS and ctx["more"] is True
    assert ctx["orders"][0].pk == newest.pk
    assert ctx["orders"][0].latest_delivery.pk == late.pk
    assert ctx["orders"][1].latest_delivery is None


def test_of_customer_hides_rows_of_invisible_customers(users):
    theirs = CustomerFactory(owner=users["rep2"], team=users["rep2"].team)
    erp.order(theirs)
    assert selectors.of_customer(Order, users["rep"], theirs).count() == 0
    assert selectors.of_customer(Order, users["rep2"], theirs).count() == 1
    assert selectors.of_customer(Order, users["finance"], theirs).count() == 1
    assert selectors.contracts_panel(users["rep"], theirs)["contracts"] == []


def test_deleted_customer_is_not_visible(users):
    from django.utils import timezone

    gone = CustomerFactory(owner=users["rep"], deleted_at=timezone.now())
    erp.order(gone)
    assert selectors.of_customer(Order, users["director"], gone).count() == 0


def test_order_list_filters(users):
    mine = CustomerFactory(name="宁波港务有限公司", owner=users["rep"])
    theirs = CustomerFactory(name="重庆钢铁有限公司", owner=users["rep2"])
    a = erp.order(mine, ordered_on=days(-40), status="delivered", number="SO-A")
    b = erp.order(mine, ordered_on=days(-2), status="confirmed", number="SO-B")
    c = erp.order(theirs, ordered_on=days(-1), status="confirmed", number="SO-3C")

    def ids(user, **data):
        return [o.pk for o in selectors.order_list(user, data)]

    assert ids(users["director"]) == [c.pk, b.pk, a.pk]
    assert ids(users["rep"]) == [b.pk, a.pk]
    assert ids(users["director"], status="open") == [c.pk, b.pk]
    assert ids(users["director"], status="delivered") == [a.pk]
    assert ids(users["director"], date_from=days(-10)) == [c.pk, b.pk]
    assert ids(users["director"], date_to=days(-10)) == [a.pk]
    assert ids(users["director"], q="宁波港务") == [b.pk, a.pk]
    assert ids(users["director"], q="so-3c") == [c.pk]
    assert ids(users["rep"], q="SO-3C") == []


def test_invoice_list_states(customer, users):
    overdue = erp.invoice(customer, due_on=days(-5))
    open_ = erp.invoice(customer, due_on=days(5))
    paid = erp.invoice(customer, paid="1000", status="paid")
    cancelled = erp.invoice(customer, status="cancelled", due_on=days(-50))

    def ids(state):
        return {i.pk for i in selectors.invoice_list(users["finance"], {}, state=state, on=TODAY)}

    assert ids("open") == {overdue.pk, open_.pk}
    assert ids("overdue") == {overdue.pk}
    assert ids("paid") == {paid.pk}
    assert ids("cancelled") == {cancelled.pk}
    assert ids("all") == {overdue.pk, open_.pk, paid.pk, cancelled.pk}


def test_delivery_list_by_tracking_number(customer, users):
    d = erp.delivery(customer, tracking_number="SF1234567890", carrier="顺丰")
    erp.delivery(customer, tracking_number="YT999")
    found = selectors.delivery_list(users["director"], {"q": "sf1234567890"})
    assert [x.pk for x in found] == [d.pk]


def test_payment_totals_per_currency(customer, users):
    erp.payment(customer, amount="100.50")
    erp.payment(customer, amount="200.25")
    erp.payment(customer, amount="10", currency="USD")
    totals = selectors.payment_totals(selectors.payment_list(users["finance"], {}))
    assert totals == [{"currency": "CNY", "total": D("300.75"), "count": 2},
                      {"currency": "USD", "total": D("10.00"), "count": 1}]


@pytest.mark.parametrize("cap", [100, 2])
def test_receivables_panel_totals_same_with_and_without_grouped_query(customer, users, cap):
    erp.invoice(customer, amount="1000", due_on=days(-10))
    erp.invoice(customer, amount="2000", paid="2500", status="partially_paid", due_on=days(-3))
    erp.invoice(customer, amount="3000", paid="100", status="partially_paid", due_on=None)
    erp.invoice(customer, amount="40", currency="USD", due_on=days(-1))
    erp.invoice(customer, amount="50", status="cancelled", due_on=days(-1))

    ctx = selectors.receivables_panel(users["rep"], customer, on=TODAY, cap=cap)

    expected = selectors.receivable_totals(Invoice.objects.filter(customer=customer), TODAY)
    assert ctx["totals"] == expected
    assert expected[0]["outstanding"] == D("3900.00") and expected[0]["overdue"] == D("1000.00")
    assert expected[0]["open_count"] == 3 and expected[0]["overdue_count"] == 1
    assert len(ctx["open_invoices"]) == 4 and ctx["open_invoices"][-1].due_on is None


def test_numbers_are_matched_only_for_queries_with_digits(users):
    acme = CustomerFactory(name="ABCD工业有限公司", owner=users["rep"])
    o = erp.order(acme, number="ABCD")
    assert [x.pk for x in selectors.order_list(users["director"], {"q": "ABCD"})] == [o.pk]
    other = CustomerFactory(name="华北电力有限公司", owner=users["rep"])
    p = erp.order(other, number="ABCD")  # same letters: found by number only with a digit
    assert [x.pk for x in selectors.order_list(users["director"], {"q": "ABCD"})] == [o.pk]
    n = erp.order(other, number="X1")
    assert [x.pk for x in selectors.order_list(users["director"], {"q": "x1"})] == [n.pk]
    assert p.pk
