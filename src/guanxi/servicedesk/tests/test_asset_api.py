"""REST API of installed equipment: /api/v1/assets."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.servicedesk import asset_services as svc
from guanxi.servicedesk import field_services as field
from guanxi.servicedesk.models import Asset

from . import test_field_support as support
from .test_field_support import DAY, ApiClient, at, open_ticket

pytestmark = pytest.mark.django_db
fw = support.fw  # the shared fixture
URL = "/api/v1/assets"


def test_create_get_list_patch_delete(users, fw):
    api = ApiClient(users["rep"])
    r = api.post(URL, {"customer": fw.a.pk, "name": "离心泵", "serial_number": "SN-1",
                       "installed_on": "2025-01-01", "warranty_ends_on": "2030-01-01"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["customer"] == fw.a.pk and body["warranty_state"] == "in"
    assert body["status"] == "in_service" and body["version"] == 1
    asset_id = body["id"]
    assert api.get(f"{URL}/{asset_id}").json()["serial_number"] == "SN-1"
    listed = api.get(URL, {"customer": fw.a.pk, "q": "sn-"}).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == asset_id
    assert api.get(URL, {"warranty": "expired"}).json()["count"] == 0
    r = api.patch(f"{URL}/{asset_id}", {"version": 1, "status": "faulty"})
    assert r.status_code == 200 and r.json()["status"] == "faulty" and r.json()["version"] == 2
    r = api.patch(f"{URL}/{asset_id}", {"version": 1, "location": "泵房"})
    assert r.status_code == 409 and r.json()["current_version"] == 2
    assert api.delete(f"{URL}/{asset_id}").status_code == 204
    assert api.get(f"{URL}/{asset_id}").status_code == 404


def test_validation_errors_are_422_by_field(users, fw):
    api = ApiClient(users["rep"])
    r = api.post(URL, {"customer": fw.a.pk, "name": "泵", "installed_on": "2025-01-01",
                       "warranty_ends_on": "2024-01-01"})
    assert r.status_code == 422 and "warranty_ends_on" in r.json()["errors"]
    api.post(URL, {"customer": fw.a.pk, "name": "泵", "serial_number": "X1"})
    r = api.post(URL, {"customer": fw.a.pk, "name": "泵", "serial_number": "x1"})
    assert r.status_code == 422 and "serial_number" in r.json()["errors"]
    r = api.post(URL, {"customer": fw.a.pk, "name": "泵", "order": 999})
    assert r.status_code == 422 and "order" in r.json()["errors"]
    assert Asset.objects.count() == 1


def test_scoping_and_permissions(users, fw):
    theirs = svc.asset_create(actor=users["rep2"], customer=fw.b, name="风机")
    rep = ApiClient(users["rep"])
    assert rep.get(f"{URL}/{theirs.pk}").status_code == 404
    assert rep.patch(f"{URL}/{theirs.pk}", {"version": 1, "notes": "x"}).status_code == 404
    assert rep.delete(f"{URL}/{theirs.pk}").status_code == 404
    assert rep.get(f"{URL}/{theirs.pk}/history").status_code == 404
    assert rep.post(URL, {"customer": fw.b.pk, "name": "x"}).status_code == 404
    assert rep.get(URL).json()["count"] == 0
    readonly = ApiClient(users["readonly"])
    assert readonly.get(f"{URL}/{theirs.pk}").status_code == 200
    assert readonly.post(URL, {"customer": fw.b.pk, "name": "x"}).status_code == 403
    assert readonly.delete(f"{URL}/{theirs.pk}").status_code == 403
    assert Asset.objects.count() == 1


def test_history(users, fw):
    asset = svc.asset_create(actor=users["rep"], customer=fw.a, name="离心泵",
                             serial_number="SN-1")
    ticket = open_ticket(users["service"], fw.a, fw, asset=asset, subject="泵体渗漏")
    visit = field.visit_schedule(actor=users["service"], ticket=ticket,
                                 technician=fw.tech_east, start=at(DAY, 9), end=at(DAY, 11))
    field.visit_report(actor=fw.tech_east, visit=visit, work_done="更换密封",
                       parts_used=[{"part": "密封", "quantity": 1.5}], signed_off_by="王经理",
                       time_spent_minutes=60, travel_minutes=0, outcome="resolved",
                       version=visit.version)
    body = ApiClient(users["rep"]).get(f"{URL}/{asset.pk}/history").json()
    assert body["asset"] == asset.pk
    assert [t["reference"] for t in body["tickets"]] == [ticket.reference]
    assert body["tickets"][0]["status"] == "resolved"
    assert body["visits"][0]["work_done"] == "更换密封"
    assert body["parts"] == [{"part": "密封", "quantity": 1.5}]
    assert body["changes"][0]["action"] == "create"
    assert dt.datetime.fromisoformat(body["visits"][0]["scheduled_start"]) == at(DAY, 9)
