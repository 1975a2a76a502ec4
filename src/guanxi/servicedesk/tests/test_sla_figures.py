"""SLA figures per queue (selector, page and API), over the tickets a user can see."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guanxi.servicedesk import sla
from guanxi.servicedesk.models import Queue, Survey, SurveyKind, Ticket, TicketStatus
from guanxi.servicedesk.sla_figures import percentile, queue_figures
from guanxi.testing.factories import CustomerFactory

from .test_sla import at, make_ticket

pytestmark = pytest.mark.django_db
NOW = at(2026, 3, 20, 10)
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def respond(ticket: Ticket, when: dt.datetime) -> None:
    sla.record_response(ticket, when)
    ticket.status = TicketStatus.OPEN
    ticket.save()


def resolve(ticket: Ticket, when: dt.datetime) -> None:
    sla.record_resolution(ticket, when)
    ticket.status = TicketStatus.RESOLVED
    ticket.save()


def survey(customer, queue, score, answered_at):
    return Survey.objects.create(kind=SurveyKind.CSAT, customer=customer, queue=queue,
                                 score=score, answered_at=answered_at, sent_at=answered_at,
                                 expires_at=answered_at + dt.timedelta(days=14))


@pytest.fixture
def data(users):
    east = CustomerFactory(tier="B", team=users["manager"].team)
    far = CustomerFactory(tier="B", owner=users["rep2"], team=users["rep2"].team)
    fault = {"type_code": "equipment_fault", "priority": "high"}  # B high: 4 h / 24 h
    e1 = make_ticket(east, created_at=at(2026, 3, 9, 9), **fault)
    respond(e1, at(2026, 3, 9, 10))  # 1 h, in time
    resolve(e1, at(2026, 3, 10, 10))  # in time (due Wednesday 18:00)
    e2 = make_ticket(east, created_at=at(2026, 3, 9, 9), **fault)
    respond(e2, at(2026, 3, 10, 9))  # 8 h: late
    # Opened in February, Friday 17:00: Saturday 02-28 is a make-up working day (春节调休),
    # so the 4 h are due Saturday 12:00 and a reply on Monday 10:00 is late (10 h).
    e3 = make_ticket(east, created_at=at(2026, 2, 27, 17), **fault)
    assert e3.first_response_due_at == at(2026, 2, 28, 12)
    respond(e3, at(2026, 3, 2, 10))
    resolve(e3, at(2026, 3, 2, 11))
    hidden = make_ticket(far, created_at=at(2026, 3, 9, 9), **fault)  # rep2's customer
    respond(hidden, at(2026, 3, 12, 9))
    c1 = make_ticket(east, type_code="request", created_at=at(2026, 3, 20, 9))
    Ticket.objects.filter(pk=c1.pk).update(response_warned_at=at(2026, 3, 20, 9, 30))
    engineering = Queue.objects.get(code="engineering")
    survey(east, engineering, 5, at(2026, 3, 12, 12))
    survey(east, engineering, 3, at(2026, 3, 13, 12))
    survey(east, engineering, 1, at(2026, 2, 13, 12))  # before the period
    survey(far, engineering, 1, at(2026, 3, 13, 12))  # a customer the manager cannot see
    return {"east": east, "far": far, "e1": e1, "e2": e2, "e3": e3, "hidden": hidden,
            "c1": c1}


def by_code(rows):
    return {r.queue.code: r for r in rows}


def test_figures_per_queue_for_the_manager(data, users):
    rows, total = queue_figures(users["manager"], *MARCH, now=NOW)
    eng = by_code(rows)["engineering"]
    assert (eng.opened, eng.resolved, eng.responded) == (2, 2, 3)
    assert eng.response_within_pct == pytest.approx(100 / 3)  # e2 and e3 were late
    assert eng.resolution_within_pct == 100
    assert sorted(eng.response_hours) == pytest.approx([1, 8, 10])
    assert eng.avg_response_hours == pytest.approx(19 / 3)
    assert eng.p90_response_hours == pytest.approx(10)
    assert eng.breached_now == 1  # e2: resolution was due Wednesday 18:00
    assert eng.at_risk_now == 0
    assert eng.csat == pytest.approx(4) and eng.csat_count == 2
    cs = by_code(rows)["customer_service"]
    assert (cs.opened, cs.resolved, cs.breached_now, cs.at_risk_now) == (1, 0, 0, 1)
    assert cs.response_within_pct is None and cs.csat is None
    assert total.opened == 3 and total.responded == 3 and total.at_risk_now == 1
    assert {r.queue.code for r in rows} >= {"engineering", "systems", "finance"}


def test_a_see_all_user_counts_every_customer(data, users):
    rows, _total = queue_figures(users["director"], *MARCH, now=NOW)
    eng = by_code(rows)["engineering"]
    assert (eng.opened, eng.responded) == (3, 4)
    assert eng.csat == pytest.approx(3)  # 5, 3, 1


def test_one_queue_and_a_period_without_tickets(data, users):
    eng = Queue.objects.get(code="engineering")
    rows, _total = queue_figures(users["director"], dt.date(2026, 1, 1),
                                 dt.date(2026, 1, 31), queue=eng, now=NOW)
    assert [r.queue for r in rows] == [eng]
    assert rows[0].opened == 0 and rows[0].avg_response_hours is None
    assert rows[0].breached_now == 2  # "now" figures do not depend on the period


def test_percentile_nearest_rank():
    assert percentile([], 90) is None
    assert percentile([5], 90) == 5
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 12)), 90) == 10


def test_figures_page_for_figure_viewers_only(client, data, users):
    url = reverse("sla:figures")
    for role in ("rep", "marketing", "readonly"):
        client.force_login(users[role])
        assert client.get(url).status_code == 403
    client.force_login(users["manager"])
    r = client.get(url, {"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200
    assert "工程部" in r.content.decode()
    eng = next(row for row in r.context["rows"] if row.queue.code == "engineering")
    assert eng.opened == 2
    # An invalid period falls back to the default one instead of failing.
    r = client.get(url, {"start": "2026-04-01", "end": "2026-03-01"})
    assert r.status_code == 200 and r.context["form"].errors


def test_figures_api(client, data, users):
    client.force_login(users["manager"])
    r = client.get("/api/v1/sla/figures", {"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200, r.content
    body = r.json()
    eng = next(q for q in body["queues"] if q["queue_code"] == "engineering")
    assert eng["opened"] == 2 and eng["response_within_pct"] == pytest.approx(33.33)
    assert eng["p90_response_hours"] == 10 and eng["csat"] == 4
    assert body["total"]["queue"] is None
    client.force_login(users["rep"])
    assert client.get("/api/v1/sla/figures").status_code == 403
    client.force_login(users["manager"])
    r = client.get("/api/v1/sla/figures", {"start": "2026-04-01", "end": "2026-03-01"})
    assert r.status_code == 422 and "start" in r.json()["errors"]
    assert client.get("/api/v1/sla/figures", {"queue": 99999}).status_code == 404
