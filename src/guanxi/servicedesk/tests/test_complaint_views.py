"""Complaint pages and API: list filters, the handling page, the follow-up form, the
box partial, visibility (404) and permissions (403, nothing written)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from guanxi.servicedesk import complaint_services as svc
from guanxi.servicedesk.models import Complaint, Ticket, TicketType

from .test_complaints import open_complaint, resolve
from .test_sla import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(users):
    from guanxi.testing.factories import CustomerFactory

    mine = CustomerFactory(name="甲公司", owner=users["rep"], team=users["rep"].team)
    other = CustomerFactory(name="乙公司", owner=users["rep2"], team=users["rep2"].team)
    open_one = open_complaint(users["service"], mine, subject="安装师傅迟到")
    done = open_complaint(users["service"], mine, subject="设备噪音大")
    svc.complaint_update(actor=users["service"], ticket=done, version=None,
                         severity="critical", root_cause_category="product_quality")
    resolve(users["service"], done)
    theirs = open_complaint(users["service"], other, subject="发票开错")
    request = _request_ticket(users, mine)
    return {"mine": mine, "open": open_one, "done": done, "theirs": theirs,
            "request": request}


def _request_ticket(users, customer) -> Ticket:
    from guanxi.servicedesk import services

    return services.ticket_create(actor=users["service"], customer=customer,
                                  type=TicketType.objects.get(code="request"), subject="咨询",
                                  now=at(2026, 9, 16, 10))


def subjects(response) -> set[str]:
    return {t.subject for t in response.context["page"].object_list}


def test_list_filters(client, cases, users):
    url = reverse("complaints:list")
    client.force_login(users["service"])
    r = client.get(url)
    assert r.status_code == 200
    assert subjects(r) == {"安装师傅迟到", "设备噪音大", "发票开错"}  # not the request
    assert subjects(client.get(url, {"severity": "critical"})) == {"设备噪音大"}
    assert subjects(client.get(url, {"severity": "minor"})) == {"安装师傅迟到", "发票开错"}
    assert subjects(client.get(url, {"root_cause": "product_quality"})) == {"设备噪音大"}
    assert subjects(client.get(url, {"root_cause": "none"})) == {"安装师傅迟到", "发票开错"}
    assert subjects(client.get(url, {"state": "open"})) == {"安装师傅迟到", "发票开错"}
    assert subjects(client.get(url, {"state": "follow_up"})) == {"设备噪音大"}
    assert subjects(client.get(url, {"state": "closed"})) == set()
    assert subjects(client.get(url, {"follow_up_due": "on"})) == {"设备噪音大"}  # due 09-22
    assert subjects(client.get(url, {"q": "乙公司"})) == {"发票开错"}
    r = client.get(url, {"state": "open"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "<html" not in r.content.decode()


def test_a_rep_lists_only_their_customers_complaints(client, cases, users):
    client.force_login(users["rep"])
    r = client.get(reverse("complaints:list"))
    assert subjects(r) == {"安装师傅迟到", "设备噪音大"}
    assert client.get(reverse("complaints:detail", args=[cases["theirs"].pk])).status_code \
        == 404


def test_handling_page_saves_with_version_check(client, cases, users):
    ticket = cases["open"]
    url = reverse("complaints:detail", args=[ticket.pk])
    client.force_login(users["service"])
    r = client.get(url)
    assert r.status_code == 200 and r.context["form"] is not None
    version = Complaint.objects.get(ticket=ticket).version
    data = {"action": "handle", "version": version, "severity": "major",
            "root_cause_category": "installation", "root_cause": "师傅走错地址",
            "corrective_action": "派单附地图", "corrective_done_on": "2026-09-17"}
    assert client.post(url, data).status_code == 302
    c = Complaint.objects.get(ticket=ticket)
    assert (c.severity, c.root_cause_category, c.corrective_done_on) == (
        "major", "installation", dt.date(2026, 9, 17))
    r = client.post(url, data | {"severity": "critical"})  # the old version again
    assert r.status_code == 409 and r.context["conflict"]
    assert Complaint.objects.get(ticket=ticket).severity == "major"
    r = client.post(url, data | {"version": c.version, "corrective_action": ""})
    assert r.status_code == 422 and "corrective_done_on" in r.context["form"].errors


def test_handling_page_is_read_only_for_others(client, cases, users):
    url = reverse("complaints:detail", args=[cases["open"].pk])
    client.force_login(users["rep"])
    r = client.get(url)
    assert r.status_code == 200 and r.context["form"] is None
    assert client.post(url, {"action": "handle", "severity": "critical"}).status_code == 403
    assert Complaint.objects.get(ticket=cases["open"]).severity == "minor"
    client.force_login(users["service"])
    assert client.get(reverse("complaints:detail",
                              args=[cases["request"].pk])).status_code == 404


def test_follow_up_form(client, cases, users):
    ticket = cases["done"]
    url = reverse("complaints:detail", args=[ticket.pk])
    client.force_login(users["rep"])  # the follow-up call is the owner's task
    r = client.get(url)
    assert r.context["follow_form"] is not None
    r = client.post(url, {"action": "follow_up", "satisfied": "yes", "notes": "满意"})
    assert r.status_code == 302
    c = Complaint.objects.get(ticket=ticket)
    assert c.follow_up_satisfied is True and c.follow_up_notes == "满意"
    assert client.get(url).context["follow_form"] is None
    assert client.post(url, {"action": "follow_up", "satisfied": "no"}).status_code == 403
    client.force_login(users["service"])
    r = client.get(reverse("complaints:list"), {"state": "closed"})
    assert subjects(r) == {"设备噪音大"}


def test_complaint_box_partial(cases, users):
    ctx = svc.complaint_box_context(cases["done"])
    html = render_to_string("servicedesk/partials/complaint_box.html", ctx)
    assert "critical" in html and reverse("complaints:detail", args=[cases["done"].pk]) in html
    assert render_to_string("servicedesk/partials/complaint_box.html",
                            svc.complaint_box_context(cases["request"])).strip() == ""


# ---------------------------------------------------------------- API


def test_complaints_api(client, cases, users):
    client.force_login(users["rep"])
    r = client.get("/api/v1/complaints")
    assert r.status_code == 200
    assert {c["subject"] for c in r.json()["items"]} == {"安装师傅迟到", "设备噪音大"}
    r = client.get("/api/v1/complaints", {"state": "follow_up"})
    assert [c["subject"] for c in r.json()["items"]] == ["设备噪音大"]
    assert client.get(f"/api/v1/complaints/{cases['theirs'].pk}").status_code == 404
    assert client.get(f"/api/v1/complaints/{cases['request'].pk}").status_code == 404
    body = client.get(f"/api/v1/complaints/{cases['done'].pk}").json()
    assert body["severity"] == "critical" and body["follow_up_task"] is not None
    assert body["state"] == "follow_up"

    url = f"/api/v1/complaints/{cases['open'].pk}"
    patch = {"version": 1, "severity": "major"}
    assert client.patch(url, patch, content_type="application/json").status_code == 403
    client.force_login(users["service"])
    r = client.patch(url, patch, content_type="application/json")
    assert r.status_code == 200 and r.json()["severity"] == "major" and r.json()["version"] == 2
    assert client.patch(url, patch, content_type="application/json").status_code == 409
    r = client.patch(url, {"version": 2, "severity": "huge"}, content_type="application/json")
    assert r.status_code == 422
    r = client.patch(url, {"version": 2, "corrective_done_on": "2026-09-01"},
                     content_type="application/json")
    assert r.status_code == 422 and "corrective_done_on" in r.json()["errors"]

    follow = f"/api/v1/complaints/{cases['done'].pk}/follow-up"
    client.force_login(users["marketing"])
    assert client.post(follow, {"satisfied": True},
                       content_type="application/json").status_code == 403
    client.force_login(users["rep"])
    r = client.post(follow, {"satisfied": False, "notes": "仍有噪音"},
                    content_type="application/json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["follow_up_satisfied"] is False and body["renewed_ticket"]
    renewed = Ticket.objects.get(pk=body["renewed_ticket"])
    assert renewed.type.is_complaint and "仍有噪音" in renewed.description
    assert client.post(follow, {"satisfied": True},
                       content_type="application/json").status_code == 422
    early = f"/api/v1/complaints/{cases['open'].pk}/follow-up"
    # The rep neither works the ticket nor holds a follow-up call for it yet.
    assert client.post(early, {"satisfied": True},
                       content_type="application/json").status_code == 403
    client.force_login(users["service"])
    r = client.post(early, {"satisfied": True}, content_type="application/json")
    assert r.status_code == 422 and "satisfied" in r.json()["errors"]  # not resolved yet
