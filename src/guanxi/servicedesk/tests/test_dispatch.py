"""The dispatch board: technicians by day with load and region, tickets waiting for a
visit with a dispatch form, region filter, HTMX fragment, permissions."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from guanxi.servicedesk import field_services as svc
from guanxi.servicedesk.field_selectors import board_rows, tickets_needing_visit
from guanxi.servicedesk.models import FieldVisit

from . import test_field_support as support
from .test_field_support import DAY, at, open_ticket

pytestmark = pytest.mark.django_db
fw = support.fw  # the shared fixture


def book(users, tech, ticket, start, end):
    return svc.visit_schedule(actor=users["service"], ticket=ticket, technician=tech,
                              start=at(DAY, start), end=at(DAY, end))


@pytest.fixture
def busy_day(users, fw):
    """张工 (Shanghai): two visits, 4 hours; 李工 (Chongqing): one of rep2's customer."""
    t1 = open_ticket(users["service"], fw.a, fw, subject="水泵停机")
    t2 = open_ticket(users["service"], fw.a, fw, subject="控制柜报警")
    t3 = open_ticket(users["service"], fw.b, fw, subject="阀门泄漏")
    waiting = open_ticket(users["service"], fw.b, fw, subject="风机异响")
    book(users, fw.tech_east, t1, 9, 11)
    book(users, fw.tech_east, t2, 13, 15)
    book(users, fw.tech_west, t3, 10, 13)
    return {"t1": t1, "t2": t2, "t3": t3, "waiting": waiting}


def row_html(html: str, tech_pk: int) -> str:
    start = html.index(f'id="tech-{tech_pk}"')
    nxt = html.find('class="fb-row"', start + 1)
    return html[start:nxt if nxt > 0 else None]


def test_rows_carry_load_and_region(users, fw, busy_day):
    rows = {r.technician.pk: r for r in board_rows(users["service"], DAY)}
    east, west = rows[fw.tech_east.pk], rows[fw.tech_west.pk]
    assert (east.count, east.minutes, east.load_percent, east.region) == (2, 240, 50, "上海办事处")
    assert (west.count, west.minutes, west.region) == (1, 180, "重庆办事处")
    assert rows[fw.field_rep.pk].count == 0
    assert users["service"].pk in rows  # service agents go on site too
    assert users["rep"].pk not in rows


def test_board_page_shows_each_technician_with_load(client, users, fw, busy_day):
    client.force_login(users["service"])
    r = client.get(reverse("field:board"), {"date": DAY.isoformat()})
    assert r.status_code == 200
    html = r.content.decode()
    east = row_html(html, fw.tech_east.pk)
    assert "张工" in east and "上海办事处" in east
    assert "2 visits · 4.0/8 h" in east
    assert 'aria-valuenow="50"' in east
    assert "上海清源水务" in east and "09:00" in east
    west = row_html(html, fw.tech_west.pk)
    assert "1 visit · 3.0/8 h" in west and "重庆办事处" in west
    assert "servicedesk/field.css" in html


def test_the_manager_sees_busy_blocks_without_details(client, users, fw, busy_day):
    """The East manager dispatches but does not see rep2's (Chongqing) customer."""
    client.force_login(users["manager"])
    html = client.get(reverse("field:board"), {"date": DAY.isoformat()}).content.decode()
    west = row_html(html, fw.tech_west.pk)
    assert "1 visit · 3.0/8 h" in west
    assert "重庆兴瑞环保" not in west and "busy" in west


def test_region_filter(client, users, fw, org, busy_day):
    client.force_login(users["service"])
    html = client.get(reverse("field:board"), {"date": DAY.isoformat(),
                                               "region": org["west"].pk}).content.decode()
    assert f'id="tech-{fw.tech_west.pk}"' in html
    assert f'id="tech-{fw.tech_east.pk}"' not in html
    # Waiting tickets of the region's customers only.
    assert "风机异响" in html
    waiting = tickets_needing_visit(users["service"], org["east"])
    assert busy_day["waiting"] not in waiting


def test_waiting_tickets_have_a_dispatch_form_with_loads(client, users, fw, busy_day):
    client.force_login(users["service"])
    html = client.get(reverse("field:board"), {"date": DAY.isoformat()}).content.decode()
    side = html[html.index('id="fb-waiting"'):]
    waiting = busy_day["waiting"]
    assert f'id="wait-{waiting.pk}"' in side and "风机异响" in side
    for booked in ("水泵停机", "控制柜报警", "阀门泄漏"):
        assert booked not in side
    form = side[side.index(f'id="wait-{waiting.pk}"'):]
    assert reverse("field:visit_new") in form
    assert re.search(r"张工 · 上海办事处 · 2 visits, 4.0 h", form)
    assert f'value="{DAY.isoformat()}T09:00"' in form


def test_dispatch_from_the_board_warns_of_an_overlap(client, users, fw, busy_day):
    client.force_login(users["service"])
    board = f"{reverse('field:board')}?date={DAY.isoformat()}"
    waiting = busy_day["waiting"]
    r = client.post(f"{reverse('field:visit_new')}?ticket={waiting.pk}", {
        "ticket": waiting.pk, "technician": fw.tech_east.pk,
        "scheduled_start": f"{DAY.isoformat()}T10:00", "scheduled_end": f"{DAY.isoformat()}T12:00",
        "address": "", "next": board}, follow=True)
    assert r.redirect_chain[-1][0] == board
    html = r.content.decode()
    assert "already has a visit" in html
    visit = FieldVisit.objects.get(ticket=waiting)
    assert visit.technician == fw.tech_east and visit.scheduled_start == at(DAY, 10)
    assert f'id="wait-{waiting.pk}"' not in html
    assert "3 visits · 6.0/8 h" in row_html(html, fw.tech_east.pk)


def test_htmx_gets_the_board_fragment(client, users, fw, busy_day):
    client.force_login(users["service"])
    r = client.get(reverse("field:board"), {"date": DAY.isoformat()}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html and "fb-row" in html
    assert "HX-Request" in r.get("Vary", "")


def test_previous_and_next_day_links(client, users, fw):
    client.force_login(users["service"])
    html = client.get(reverse("field:board"), {"date": DAY.isoformat()}).content.decode()
    assert "?date=2030-04-16" in html and "?date=2030-04-18" in html


@pytest.mark.parametrize("role,status", [("rep", 403), ("readonly", 403), ("finance", 403),
                                         ("manager", 200), ("director", 200), ("admin", 200)])
def test_board_is_for_dispatchers(client, users, fw, role, status):
    client.force_login(users[role])
    assert client.get(reverse("field:board")).status_code == status


def test_a_follow_up_ticket_waits_again(users, fw):
    ticket = open_ticket(users["service"], fw.a, fw, subject="电机过热")
    visit = book(users, fw.tech_east, ticket, 9, 11)
    assert ticket not in tickets_needing_visit(users["service"])
    svc.visit_report(actor=fw.tech_east, visit=visit, work_done="诊断：需更换电机",
                     parts_used=[], signed_off_by="", time_spent_minutes=30,
                     travel_minutes=20, outcome="follow_up", version=visit.version)
    waiting = {t.pk: t for t in tickets_needing_visit(users["service"])}
    assert waiting[ticket.pk].done_visits == 1
    book(users, fw.tech_east, waiting[ticket.pk], 14, 15)
    assert ticket.pk not in {t.pk for t in tickets_needing_visit(users["service"])}
