"""Field-service pages: booking from a ticket, the visit page, moving and cancelling,
"my visits" on a phone and the visit report form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.parties.models import Customer
from guanxi.servicedesk import field_services as svc
from guanxi.servicedesk.models import FieldVisit, Ticket, TicketStatus, TimeEntry, VisitStatus

from . import test_field_support as support
from .test_field_support import DAY, at, open_ticket

pytestmark = pytest.mark.django_db
fw = support.fw  # the shared fixture


def book(users, tech, ticket, start: dt.datetime, hours: int = 2):
    return svc.visit_schedule(actor=users["service"], ticket=ticket, technician=tech,
                              start=start, end=start + dt.timedelta(hours=hours))


@pytest.fixture
def ticket(users, fw):
    return open_ticket(users["service"], fw.a, fw, contact=fw.contact)


def today_at(h: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(h, 0)))


# ---------------------------------------------------------------- booking


def test_visit_new_from_a_ticket(client, users, fw, ticket):
    client.force_login(users["service"])
    url = f"{reverse('field:visit_new')}?ticket={ticket.pk}&date={DAY.isoformat()}"
    r = client.get(url)
    html = r.content.decode()
    assert r.status_code == 200
    assert "水泵停机" in html and "上海市上海浦东新区张江路 88 号" in html
    assert f"{DAY.isoformat()}T09:00" in html
    assert "张工 · 上海办事处" in html and "李工 · 重庆办事处" in html
    assert users["rep"].username not in html
    r = client.post(url, {"technician": fw.tech_east.pk,
                          "scheduled_start": f"{DAY.isoformat()}T14:00",
                          "scheduled_end": f"{DAY.isoformat()}T16:00",
                          "address": "上海市浦东新区张江路 88 号 2 号泵房",
                          "instructions": "带万用表"})
    visit = FieldVisit.objects.get(ticket=ticket)
    assert r.status_code == 302 and r["Location"] == reverse("field:visit_detail",
                                                             args=[visit.pk])
    assert visit.address.endswith("2 号泵房") and visit.instructions == "带万用表"


def test_visit_new_loads_fragment_for_a_day(client, users, fw, ticket):
    book(users, fw.tech_east, ticket, at(DAY, 9))
    client.force_login(users["service"])
    r = client.get(reverse("field:visit_new"), {"ticket": ticket.pk,
                                                "scheduled_start": f"{DAY.isoformat()}T13:00"},
                   HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "<html" not in html and "张工" in html and "2.0 h" in html


def test_visit_new_shows_service_errors(client, users, fw, ticket):
    client.force_login(users["service"])
    r = client.post(f"{reverse('field:visit_new')}?ticket={ticket.pk}", {
        "technician": fw.tech_east.pk, "scheduled_start": f"{DAY.isoformat()}T14:00",
        "scheduled_end": f"{DAY.isoformat()}T13:00"})
    assert r.status_code == 200 and "must end after it starts" in r.content.decode()
    assert not FieldVisit.objects.exists()


def test_visit_new_refuses_non_dispatchers_and_hides_other_customers(client, users, fw,
                                                                     ticket):
    client.force_login(users["rep"])
    assert client.get(reverse("field:visit_new"), {"ticket": ticket.pk}).status_code == 403
    client.force_login(users["rep2"])
    assert client.get(reverse("field:visit_new"), {"ticket": ticket.pk}).status_code == 404


def test_visit_detail_shows_overlaps_and_scoping(client, users, fw, ticket):
    first = book(users, fw.tech_east, ticket, at(DAY, 9))
    second = book(users, fw.tech_east, ticket, at(DAY, 10))
    client.force_login(users["service"])
    html = client.get(reverse("field:visit_detail", args=[second.pk])).content.decode()
    assert "Overlaps with other visits" in html
    assert reverse("field:visit_detail", args=[first.pk]) in html
    client.force_login(users["rep2"])
    assert client.get(reverse("field:visit_detail", args=[first.pk])).status_code == 404


def test_move_and_cancel(client, users, fw, ticket):
    visit = book(users, fw.tech_east, ticket, at(DAY, 9))
    client.force_login(users["service"])
    url = reverse("field:visit_edit", args=[visit.pk])
    assert client.get(url).status_code == 200
    r = client.post(url, {"technician": fw.tech_west.pk,
                          "scheduled_start": f"{DAY.isoformat()}T15:00",
                          "scheduled_end": f"{DAY.isoformat()}T16:00", "address": visit.address,
                          "version": visit.version})
    assert r.status_code == 302
    visit.refresh_from_db()
    assert visit.technician == fw.tech_west and visit.scheduled_start == at(DAY, 15)
    # A stale version shows the conflict and keeps the input.
    r = client.post(url, {"technician": fw.tech_east.pk,
                          "scheduled_start": f"{DAY.isoformat()}T08:00",
                          "scheduled_end": f"{DAY.isoformat()}T09:00", "version": 1})
    assert r.status_code == 200 and 'id="conflict"' in r.content.decode()
    r = client.post(reverse("field:visit_cancel", args=[visit.pk]),
                    {"reason": "客户要求改期", "version": visit.version})
    visit.refresh_from_db()
    assert r.status_code == 302 and visit.status == VisitStatus.CANCELLED
    client.force_login(users["rep"])
    other = book(users, fw.tech_east, ticket, at(DAY, 11))
    assert client.post(reverse("field:visit_cancel", args=[other.pk])).status_code == 403
    other.refresh_from_db()
    assert other.status == VisitStatus.SCHEDULED


# ---------------------------------------------------------------- my visits


def test_my_visits_lists_only_mine_today_and_next_days(client, users, fw, ticket):
    mine_today = book(users, fw.tech_east, ticket, today_at(9))
    mine_later = book(users, fw.tech_east, ticket, today_at(9) + dt.timedelta(days=2))
    overdue = book(users, fw.tech_east, ticket, today_at(9) - dt.timedelta(days=1))
    far = book(users, fw.tech_east, ticket, today_at(9) + dt.timedelta(days=30))
    theirs = book(users, fw.tech_west, open_ticket(users["service"], fw.b, fw,
                                                   subject="阀门泄漏"), today_at(13))
    client.force_login(fw.tech_east)
    r = client.get(reverse("field:my_visits"))
    html = r.content.decode()
    assert r.status_code == 200
    for v in (mine_today, mine_later, overdue):
        assert f'id="visit-{v.pk}"' in html
    assert f'id="visit-{far.pk}"' not in html and f'id="visit-{theirs.pk}"' not in html
    assert "阀门泄漏" not in html
    assert "Reports still to file" in html
    # Phone friendly: tel: link for the contact, the problem, the address, a report button.
    assert 'href="tel:+8613800138000"' in html
    assert "泵房二号泵无法启动" in html and "张江路 88 号" in html
    assert reverse("field:visit_report", args=[mine_today.pk]) in html
    assert "maps." not in html and "map.baidu" not in html


def test_my_visits_empty(client, users, fw):
    client.force_login(fw.tech_west)
    assert "No visits planned" in client.get(reverse("field:my_visits")).content.decode()


# ---------------------------------------------------------------- the report form


def report_data(visit, **kw):
    data = {"version": visit.version, "lines": 4, "work_done": "更换密封，试车正常",
            "part_0": "机械密封", "quantity_0": "2", "part_1": "润滑脂", "quantity_1": "0.5",
            "time_spent_minutes": "75", "travel_minutes": "30", "signed_off_by": "王经理",
            "outcome": "resolved"}
    data.update(kw)
    return data


def test_report_form_resolves_the_ticket(client, users, fw, ticket):
    visit = book(users, fw.tech_east, ticket, at(DAY, 9))
    client.force_login(fw.tech_east)
    url = reverse("field:visit_report", args=[visit.pk])
    page = client.get(url).content.decode()
    assert 'name="part_3"' in page and "servicedesk/field.css" in page
    assert 'name="viewport"' in page and 'inputmode="numeric"' in page
    r = client.post(url, report_data(visit))
    assert r.status_code == 302 and r["Location"] == reverse("field:my_visits")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DONE
    assert visit.parts_used == [{"part": "机械密封", "quantity": 2},
                                {"part": "润滑脂", "quantity": 0.5}]
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED
    assert sorted(TimeEntry.objects.filter(visit=visit).values_list("kind", "minutes")) == [
        ("travel", 30), ("visit", 75)]
    # Filed once: the report page now sends back to the visit.
    assert client.get(url).status_code == 302


def test_report_form_errors_keep_the_input(client, users, fw, ticket):
    visit = book(users, fw.tech_east, ticket, at(DAY, 9))
    client.force_login(fw.tech_east)
    r = client.post(reverse("field:visit_report", args=[visit.pk]),
                    report_data(visit, signed_off_by="", quantity_0="-3"))
    html = r.content.decode()
    assert r.status_code == 200
    assert "signed it off" in html and "positive number" in html
    assert "更换密封，试车正常" in html
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SCHEDULED


def test_more_part_lines_without_script(client, users, fw, ticket):
    visit = book(users, fw.tech_east, ticket, at(DAY, 9))
    client.force_login(fw.tech_east)
    r = client.post(reverse("field:visit_report", args=[visit.pk]),
                    report_data(visit, more_lines="1"))
    html = r.content.decode()
    assert 'name="part_7"' in html and 'value="机械密封"' in html
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SCHEDULED


def test_report_form_only_for_technician_or_dispatcher(client, users, fw):
    ticket = open_ticket(users["service"], fw.pool, fw)
    visit = book(users, fw.field_rep, ticket, at(DAY, 9))
    assert Customer.objects.visible_to(users["rep"]).filter(pk=fw.pool.pk).exists()
    client.force_login(users["rep"])
    url = reverse("field:visit_report", args=[visit.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, report_data(visit)).status_code == 403
    client.force_login(fw.field_rep)
    assert client.get(url).status_code == 200


def test_customer_timeline_shows_the_visit(client, users, fw, ticket):
    visit = book(users, fw.tech_east, ticket, at(DAY, 9))
    client.force_login(users["rep"])
    html = client.get(reverse("parties:customer_detail", args=[fw.a.pk])).content.decode()
    assert reverse("field:visit_detail", args=[visit.pk]) in html
