"""REST API of field service: /api/v1/visits."""

from __future__ import annotations

import pytest

from guanxi.servicedesk.models import FieldVisit, Ticket, TimeEntry

from . import test_field_support as support
from .test_field_support import DAY, ApiClient, at, open_ticket

pytestmark = pytest.mark.django_db
fw = support.fw  # the shared fixture
URL = "/api/v1/visits"


@pytest.fixture
def ticket(users, fw):
    return open_ticket(users["service"], fw.a, fw)


def booking(ticket, tech, start=9, end=11, **kw):
    return {"ticket": ticket.pk, "technician": tech.pk,
            "scheduled_start": at(DAY, start).isoformat(),
            "scheduled_end": at(DAY, end).isoformat(), **kw}


def test_book_with_overlap_warning_and_list_filters(users, fw, ticket):
    api = ApiClient(users["service"])
    r = api.post(URL, booking(ticket, fw.tech_east))
    assert r.status_code == 201, r.content
    first = r.json()
    assert first["overlaps"] == [] and first["address"] == fw.a.address
    assert first["ticket_reference"] == ticket.reference and first["status"] == "scheduled"
    r = api.post(URL, booking(ticket, fw.tech_east, 10, 12, address="仓库"))
    assert r.status_code == 201
    assert [o["id"] for o in r.json()["overlaps"]] == [first["id"]]
    api.post(URL, booking(ticket, fw.tech_west))
    listed = api.get(URL, {"technician": fw.tech_east.pk, "date": DAY.isoformat()}).json()
    assert listed["count"] == 2
    assert ApiClient(fw.tech_west).get(URL, {"technician": "me"}).json()["count"] == 1
    assert api.get(URL, {"date": "2030-04-18"}).json()["count"] == 0


def test_booking_errors(users, fw, ticket):
    api = ApiClient(users["service"])
    r = api.post(URL, booking(ticket, users["rep"]))
    assert r.status_code == 422 and "technician" in r.json()["errors"]
    r = api.post(URL, booking(ticket, fw.tech_east, 11, 9))
    assert r.status_code == 422 and "scheduled_end" in r.json()["errors"]
    assert ApiClient(users["rep"]).post(URL, booking(ticket, fw.tech_east)).status_code == 403
    assert ApiClient(users["rep2"]).post(URL, booking(ticket, fw.tech_east)).status_code == 404
    assert not FieldVisit.objects.exists()


def test_patch_report_and_cancel(users, fw, ticket):
    api = ApiClient(users["service"])
    visit = api.post(URL, booking(ticket, fw.tech_east)).json()
    url = f"{URL}/{visit['id']}"
    r = api.patch(url, {"version": 1, "scheduled_start": at(DAY, 13).isoformat(),
                        "scheduled_end": at(DAY, 15).isoformat()})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert api.patch(url, {"version": 1, "address": "x"}).status_code == 409
    tech = ApiClient(fw.tech_east)
    r = tech.post(f"{url}/report", {"version": 2, "outcome": "resolved", "work_done": ""})
    assert r.status_code == 422
    assert {"work_done", "signed_off_by"} <= set(r.json()["errors"])
    assert ApiClient(users["rep"]).post(f"{url}/report", {
        "version": 2, "outcome": "follow_up"}).status_code == 403
    r = tech.post(f"{url}/report", {
        "version": 2, "outcome": "resolved", "work_done": "更换密封", "signed_off_by": "王经理",
        "parts_used": [{"part": "密封", "quantity": 2}], "time_spent_minutes": 50,
        "travel_minutes": 25})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "done" and r.json()["parts_used"][0]["quantity"] == 2
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    assert TimeEntry.objects.filter(visit_id=visit["id"]).count() == 2
    assert api.post(f"{url}/cancel", {}).status_code == 422  # done: nothing to cancel
    other = api.post(URL, booking(open_ticket(users["service"], fw.a, fw), fw.tech_west)).json()
    r = api.post(f"{URL}/{other['id']}/cancel", {"reason": "客户改期"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_scoping(users, fw):
    ticket_b = open_ticket(users["service"], fw.b, fw)
    visit = ApiClient(users["service"]).post(URL, booking(ticket_b, fw.tech_west)).json()
    rep = ApiClient(users["rep"])
    assert rep.get(f"{URL}/{visit['id']}").status_code == 404
    assert rep.post(f"{URL}/{visit['id']}/cancel", {}).status_code == 404
    assert rep.get(URL).json()["count"] == 0
    assert ApiClient(users["rep2"]).get(f"{URL}/{visit['id']}").status_code == 200
