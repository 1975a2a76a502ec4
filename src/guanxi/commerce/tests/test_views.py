"""Commerce pages: scoping (404 for what a user may not see), filters, receivables
ageing, detail pages, HTMX fragments, bounded queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.testing.factories import CustomerFactory

from . import erp_rows as erp
from .erp_rows import TODAY

D = Decimal
pytestmark = pytest.mark.django_db
LISTS = ("commerce:orders", "commerce:contracts", "commerce:deliveries", "commerce:invoices",
         "commerce:payments")


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def world(users):
    """A Shanghai rep's customer and a Chongqing rep's customer, each with ERP rows."""
    mine = CustomerFactory(name="上海申能环保有限公司", owner=users["rep"], team=users["rep"].team)
    theirs = CustomerFactory(name="重庆两江水务有限公司", owner=users["rep2"],
                             team=users["rep2"].team)
    rows = {}
    for key, c in (("mine", mine), ("theirs", theirs)):
        contract = erp.contract(c, number=f"HT-{key}")
        erp.milestone(contract, 1, kind="payment", name=f"预付款-{key}", due_on=days(-1),
                      amount=D("100"))
        o = erp.order(c, number=f"SO-{key}", ordered_on=days(-20), contract=contract)
        erp.line(o, 1, product_code=f"P-{key}", description="反渗透膜", quantity=D("2"),
                 unit_price=D("500"), amount=D("1000"))
        d = erp.delivery(c, o, number=f"DN-{key}", tracking_number=f"SF-{key}-001", carrier="顺丰")
        inv = erp.invoice(c, number=f"INV-{key}", order=o, contract=contract, due_on=days(-45),
                          amount="1000")
        p = erp.payment(c, invoice=inv, contract=contract, amount="250", reference=f"BK-{key}")
        rows[key] = {"customer": c, "contract": contract, "order": o, "delivery": d,
                     "invoice": inv, "payment": p}
    return rows


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


@pytest.mark.parametrize("name", LISTS)
def test_lists_are_scoped_to_visible_customers(client, users, world, name):
    rep_page = get(client, users["rep"], reverse(name), state="all").content.decode()
    assert "上海申能环保有限公司" in rep_page and "重庆两江水务有限公司" not in rep_page
    director_page = get(client, users["director"], reverse(name), state="all").content.decode()
    assert "上海申能环保有限公司" in director_page and "重庆两江水务有限公司" in director_page


@pytest.mark.parametrize(("name", "key"), [
    ("commerce:order_detail", "order"), ("commerce:contract_detail", "contract"),
    ("commerce:delivery_detail", "delivery"), ("commerce:invoice_detail", "invoice"),
    ("commerce:payment_detail", "payment"),
])
def test_detail_pages_404_for_another_reps_customer(client, users, world, name, key):
    theirs = world["theirs"][key]
    mine = world["mine"][key]
    assert get(client, users["rep"], reverse(name, args=[theirs.pk])).status_code == 404
    assert get(client, users["rep"], reverse(name, args=[mine.pk])).status_code == 200
    assert get(client, users["rep2"], reverse(name, args=[theirs.pk])).status_code == 200
    assert get(client, users["manager"], reverse(name, args=[theirs.pk])).status_code == 404
    assert get(client, users["finance"], reverse(name, args=[theirs.pk])).status_code == 200


def test_customer_filter_of_an_invisible_customer_is_404(client, users, world):
    theirs = world["theirs"]["customer"]
    for name in LISTS:
        assert get(client, users["rep"], reverse(name), customer=theirs.pk).status_code == 404
    assert get(client, users["rep"], reverse("commerce:orders"),
               customer="x").status_code == 404


def test_finance_sees_all_payments(client, users, world):
    url = reverse("commerce:payments")
    html = get(client, users["finance"], url).content.decode()
    assert "BK-mine" in html and "BK-theirs" in html
    assert "payment-totals" not in html  # no sum over every payment ever received
    since = days(-7).isoformat()
    html = get(client, users["finance"], url, date_from=since).content.decode()
    assert 'hx-get="/commerce/payments/?date_from=' in html and "part=summary" in html
    totals = get(client, users["finance"], url, date_from=since, part="summary").content.decode()
    assert 'data-currency="CNY"' in totals and "500.00" in totals  # 250 + 250
    rep_totals = get(client, users["rep"], url, date_from=since, part="summary").content.decode()
    assert "250.00" in rep_totals and "500.00" not in rep_totals


def test_readonly_pages_say_synced_from_erp(client, users, world):
    o = world["mine"]["order"]
    html = get(client, users["rep"], reverse("commerce:order_detail", args=[o.pk])).content.decode()
    assert "Synced from the ERP at" in html and "Read-only" in html
    assert "method=\"post\"" not in html.split("<main", 1)[-1].split("</main>")[0]


def test_order_detail_shows_lines_deliveries_invoices(client, users, world):
    o = world["mine"]["order"]
    html = get(client, users["rep"], reverse("commerce:order_detail", args=[o.pk])).content.decode()
    assert "P-mine" in html and "反渗透膜" in html and "1,000.00" in html
    assert "DN-mine" in html and "SF-mine" in html
    assert "INV-mine" in html and "HT-mine" in html


def test_contract_detail_shows_milestones_and_payment_plan(client, users, world):
    c = world["mine"]["contract"]
    html = get(client, users["rep"], reverse("commerce:contract_detail", args=[c.pk])
               ).content.decode()
    assert "预付款-mine" in html and "Payment plan" in html and "late" in html
    assert "SO-mine" in html and "INV-mine" in html and "BK-mine" in html


def test_invoice_detail_with_payments_and_overdue_days(client, users, world):
    inv = world["mine"]["invoice"]
    html = get(client, users["rep"], reverse("commerce:invoice_detail", args=[inv.pk])
               ).content.decode()
    assert "BK-mine" in html and "250.00" in html
    assert ">45<" in html  # days overdue


def test_order_filters_status_dates_and_customer_search(client, users, world):
    mine = world["mine"]["customer"]
    erp.order(mine, number="SO-9NEW", ordered_on=days(-1), status="delivered")
    url = reverse("commerce:orders")
    director = users["director"]

    def numbers(**params):
        html = get(client, director, url, **params).content.decode()
        return {n for n in ("SO-mine", "SO-theirs", "SO-9NEW") if f">{n}<" in html}

    assert numbers() == {"SO-mine", "SO-theirs", "SO-9NEW"}
    assert numbers(status="delivered") == {"SO-9NEW"}
    assert numbers(status="open") == {"SO-mine", "SO-theirs"}
    assert numbers(date_from=days(-5).isoformat()) == {"SO-9NEW"}
    assert numbers(date_to=days(-5).isoformat()) == {"SO-mine", "SO-theirs"}
    assert numbers(q="两江水务") == {"SO-theirs"}
    assert numbers(q="so-9new") == {"SO-9NEW"}
    assert numbers(customer=mine.pk) == {"SO-mine", "SO-9NEW"}
    assert numbers(status="nonsense") == {"SO-mine", "SO-theirs", "SO-9NEW"}  # ignored


def test_invoices_open_overdue_and_ageing(client, users, world):
    mine = world["mine"]["customer"]
    erp.invoice(mine, number="INV-SOON", amount="300", due_on=days(10))
    erp.invoice(mine, number="INV-PAID", amount="300", paid="300", status="paid")
    erp.invoice(mine, number="INV-VOID", amount="999", status="cancelled", due_on=days(-100))
    url = reverse("commerce:invoices")
    rep = users["rep"]

    open_html = get(client, rep, url).content.decode()
    assert "INV-mine" in open_html and "INV-SOON" in open_html
    assert "INV-PAID" not in open_html and "INV-VOID" not in open_html
    assert "part=summary" in open_html  # the ageing loads after the rows
    # Ageing (CNY): 300 not yet due, 1000 at 45 days past due (31–60).
    ageing = get(client, rep, url, part="summary").content.decode()
    assert 'data-bucket="not_due">300.00<' in ageing
    assert 'data-bucket="d60">1,000.00<' in ageing
    assert 'data-bucket="total"><strong>1,300.00<' in ageing
    assert "<html" not in ageing
    director = get(client, users["director"], url, part="summary").content.decode()
    assert 'data-bucket="total"><strong>2,300.00<' in director  # + the other rep's 1000

    overdue_html = get(client, rep, url, state="overdue").content.decode()
    assert "INV-mine" in overdue_html and "INV-SOON" not in overdue_html
    paid_html = get(client, rep, url, state="paid").content.decode()
    assert "INV-PAID" in paid_html and "ageing" not in paid_html


def test_deliveries_tracked_by_tracking_number(client, users, world):
    html = get(client, users["director"], reverse("commerce:deliveries"),
               q="SF-theirs-001").content.decode()
    assert "DN-theirs" in html and "DN-mine" not in html
    html = get(client, users["rep"], reverse("commerce:deliveries"),
               q="SF-theirs-001").content.decode()
    assert "DN-theirs" not in html


def test_htmx_request_gets_the_results_fragment(client, users, world):
    client.force_login(users["rep"])
    response = client.get(reverse("commerce:orders"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "SO-mine" in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_login_required(client, world):
    response = client.get(reverse("commerce:orders"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_pagination(client, users, world):
    mine = world["mine"]["customer"]
    for i in range(30):
        erp.order(mine, number=f"SO-P{i:02d}", ordered_on=days(-100 - i))
    html = get(client, users["rep"], reverse("commerce:orders"), customer=mine.pk).content.decode()
    assert 'rel="next"' in html and "SO-P00" in html and "SO-P29" not in html
    page2 = get(client, users["rep"], reverse("commerce:orders"), customer=mine.pk,
                page=2).content.decode()
    assert "SO-P29" in page2


@pytest.mark.parametrize("name", LISTS)
def test_list_queries_do_not_grow_with_rows(client, users, world, name):
    client.force_login(users["rep"])
    url = reverse(name)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    mine = world["mine"]["customer"]
    for i in range(12):
        o = erp.order(mine, ordered_on=days(-i))
        erp.delivery(mine, o)
        erp.invoice(mine, order=o)
        erp.payment(mine)
        erp.contract(mine)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_nav_has_orders(client, users):
    html = get(client, users["finance"], reverse("commerce:orders")).content.decode()
    assert f'href="{reverse("commerce:orders")}"' in html
    for name in LISTS:
        assert reverse(name) in html  # the tabs
