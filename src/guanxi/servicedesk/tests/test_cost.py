"""Cost to serve: time entries + timed interactions × hourly rate, revenue, ranking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.commerce.models import Invoice, InvoiceStatus
from guanxi.core import site_settings
from guanxi.servicedesk import cost
from guanxi.servicedesk.timeentries import record_time
from guanxi.testing.factories import CustomerFactory, InteractionFactory

from .test_survey import make_ticket

PW = "pw-Guanxi-123"
SINCE, UNTIL = dt.date(2025, 1, 1), dt.date(2025, 6, 30)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def served(users, org):
    """Shanghai customer (rep's) with ticket work, a visit, travel, calls and a meeting;
    Chongqing customer (rep2's) with a little ticket work; rows outside the period."""
    sh = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"])
    cq = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"])
    ticket = make_ticket(sh)
    record_time(customer=sh, user=users["service"], kind="ticket", minutes=30,
                ticket=ticket, on=dt.date(2025, 2, 1))
    record_time(customer=sh, user=users["service"], kind="ticket", minutes=15,
                ticket=ticket, on=dt.date(2025, 6, 30))
    record_time(customer=sh, user=users["service"], kind="visit", minutes=90,
                on=dt.date(2025, 3, 1))
    record_time(customer=sh, user=users["service"], kind="travel", minutes=60,
                on=dt.date(2025, 3, 1))
    record_time(customer=sh, user=users["service"], kind="ticket", minutes=500,
                on=dt.date(2024, 12, 31))  # before the period
    InteractionFactory(customer=sh, kind="call", duration_minutes=15,
                       occurred_at=_at(dt.date(2025, 4, 1)))
    InteractionFactory(customer=sh, kind="meeting", duration_minutes=45,
                       occurred_at=_at(dt.date(2025, 1, 1), 0))
    InteractionFactory(customer=sh, kind="note", duration_minutes=None,
                       occurred_at=_at(dt.date(2025, 4, 2)))
    InteractionFactory(customer=sh, kind="call", duration_minutes=999,
                       occurred_at=_at(dt.date(2025, 7, 1), 0))  # after the period
    InteractionFactory(customer=sh, kind="call", duration_minutes=999,
                       occurred_at=_at(dt.date(2025, 4, 3)), deleted_at=timezone.now())
    record_time(customer=cq, user=users["service"], kind="ticket", minutes=20,
                on=dt.date(2025, 5, 5))
    for number, amount, currency, status, issued in (
            ("I1", "10000", "CNY", InvoiceStatus.PAID, dt.date(2025, 2, 1)),
            ("I2", "5000", "CNY", InvoiceStatus.OPEN, dt.date(2025, 6, 30)),
            ("I3", "9999", "CNY", InvoiceStatus.CANCELLED, dt.date(2025, 3, 1)),
            ("I4", "7777", "USD", InvoiceStatus.OPEN, dt.date(2025, 3, 1)),
            ("I5", "8888", "CNY", InvoiceStatus.PAID, dt.date(2024, 12, 31))):
        Invoice.objects.create(customer=sh, external_id=number, number=number,
                               amount=Decimal(amount), currency=currency, status=status,
                               issued_on=issued)
    return {"sh": sh, "cq": cq}


@pytest.mark.django_db
def test_customer_cost_sums_minutes_in_the_period(served, users):
    row = cost.customer_cost(users["director"], served["sh"], SINCE, UNTIL)
    m = row.minutes
    assert (m.ticket, m.visit, m.travel) == (45, 90, 60)
    assert m.interactions == {"call": 15, "meeting": 45}
    assert m.total == 255
    assert row.rate == Decimal(120) and row.cost == Decimal("510.00")  # 4.25 h × 120
    assert row.revenue == Decimal("15000.00")  # CNY, not cancelled, issued in the period
    assert row.ratio == Decimal("3.4")  # 510 / 15000


@pytest.mark.django_db
def test_hourly_rate_is_a_site_setting(served, users):
    site_settings.put(cost.RATE_SETTING, "200")
    row = cost.customer_cost(users["director"], served["sh"], SINCE, UNTIL)
    assert row.cost == Decimal("850.00")
    site_settings.put(cost.RATE_SETTING, "nonsense")
    assert cost.hourly_rate() == Decimal(120)


@pytest.mark.django_db
def test_ranking_most_expensive_first_and_scoped(served, users):
    page = cost.cost_ranking(users["director"], SINCE, UNTIL)
    assert [r.customer.name for r in page.rows] == ["上海清源水务", "重庆兴瑞环保"]
    assert page.count == 2 and page.total_minutes == 275
    assert page.total_cost == Decimal("550.00")
    assert page.rows[1].revenue == Decimal(0) and page.rows[1].ratio is None
    # The East-region manager sees only the Shanghai customer.
    page = cost.cost_ranking(users["manager"], SINCE, UNTIL)
    assert [r.customer.name for r in page.rows] == ["上海清源水务"]
    assert page.total_minutes == 255
    # Paging.
    page = cost.cost_ranking(users["director"], SINCE, UNTIL, page=2, per_page=1)
    assert [r.customer.name for r in page.rows] == ["重庆兴瑞环保"] and not page.has_next


@pytest.mark.django_db
def test_default_period_is_twelve_months():
    assert cost.default_period(dt.date(2025, 6, 30)) == (dt.date(2024, 7, 1),
                                                         dt.date(2025, 6, 30))
    assert cost.parse_period("2025-06-30", "2025-01-01") == (dt.date(2025, 1, 1),
                                                              dt.date(2025, 6, 30))
    assert cost.parse_period("bad", None, today=dt.date(2025, 6, 30))[0] == dt.date(2024, 7, 1)


@pytest.mark.django_db
def test_cost_page(served, users, client):
    client.login(username="finance", password=PW)
    r = client.get("/service/cost/", {"since": "2025-01-01", "until": "2025-06-30"})
    html = r.content.decode()
    assert r.status_code == 200
    assert html.index("上海清源水务") < html.index("重庆兴瑞环保")
    assert "510.00" in html and "15,000.00" in html and "3.4 %" in html
    assert 'id="cost-total">550.00' in html
    client.logout()
    client.login(username="rep", password=PW)
    assert client.get("/service/cost/").status_code == 403


@pytest.mark.django_db
def test_customer_panel_shows_twelve_months(users, client):
    c = CustomerFactory(owner=users["rep"])
    record_time(customer=c, user=users["service"], kind="ticket", minutes=90)
    client.login(username="service", password=PW)
    html = client.get(c.get_absolute_url()).content.decode()
    assert 'id="cost-panel"' in html and "180.00 元" in html


@pytest.mark.django_db
def test_api_cost_to_serve(served, users, client):
    _t, key = ApiToken.issue(user=users["director"], name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    r = client.get("/api/v1/cost-to-serve", {"since": "2025-01-01", "until": "2025-06-30"},
                   **auth)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2 and Decimal(body["hourly_cost"]) == Decimal(120)
    first = body["items"][0]
    assert first["customer_name"] == "上海清源水务" and first["total_minutes"] == 255
    assert Decimal(first["cost"]) == Decimal("510.00")
    assert Decimal(first["revenue"]) == Decimal("15000.00")
    assert Decimal(first["cost_ratio"]) == Decimal("3.4")
    r = client.get("/api/v1/cost-to-serve", {"since": "2025-01-01", "until": "2025-06-30",
                                             "limit": 1, "offset": 1}, **auth)
    assert [i["customer_name"] for i in r.json()["items"]] == ["重庆兴瑞环保"]
    _t, rep_key = ApiToken.issue(user=users["rep"], name="t")
    assert client.get("/api/v1/cost-to-serve",
                      HTTP_AUTHORIZATION=f"Bearer {rep_key}").status_code == 403
