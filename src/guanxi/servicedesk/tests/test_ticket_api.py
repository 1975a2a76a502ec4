"""The tickets REST API: create (routing, 422 by field), list filters and scope, PATCH
with version (409), messages (notes vs replies), assign, status, merge, types, queues.
Refused writes (403) change nothing; invisible tickets are 404."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import ApiToken
from guanxi.api.tests.conftest import ApiClient
from guanxi.servicedesk import services
from guanxi.servicedesk.models import Queue, Ticket, TicketMessage, TicketType
from guanxi.testing.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1"


@pytest.fixture
def api(users):
    def make(role: str) -> ApiClient:
        _token, key = ApiToken.issue(user=users[role], name=f"test {role}")
        return ApiClient(key)

    return make


@pytest.fixture
def world(users, org):
    mine = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"],
                           tier="B", email="info@qingyuan.example")
    contact = ContactFactory(customer=mine, name="李经理", email="li@qingyuan.example")
    theirs = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"])
    far = services.ticket_create(actor=users["service"], customer=theirs,
                                 type=TicketType.objects.get(code="system_fault"),
                                 subject="系统无法登录")
    return {"mine": mine, "contact": contact, "theirs": theirs, "far": far}


def create(client: ApiClient, world, **kw):
    body = {"customer": world["mine"].pk, "type": "equipment_fault",
            "subject": "反渗透设备压力报警", "contact": world["contact"].pk}
    body.update(kw)
    return client.post(f"{BASE}/tickets", body)


def test_create_routes_by_type_code_or_id(api, users, world):
    r = create(api("rep"), world)
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["queue_code"] == "engineering" and data["priority"] == "high"
    assert data["status"] == "new" and data["reference"] == f"T{data['id']:06d}"
    assert data["first_response_due_at"] is not None
    assert data["created_by"] == users["rep"].pk
    payment = TicketType.objects.get(code="payment")
    r = create(api("service"), world, type=payment.pk, priority="low",
               assignee=users["service"].pk)
    assert r.status_code == 201
    assert (r.json()["queue_code"], r.json()["priority"], r.json()["status"]) == (
        "finance", "low", "open")


def test_create_errors(api, users, world):
    client = api("service")
    r = create(client, world, type="no_such_type")
    assert r.status_code == 422 and "type" in r.json()["errors"]
    foreign = ContactFactory(customer=world["theirs"])
    r = create(client, world, contact=foreign.pk)
    assert r.status_code == 422 and "contact" in r.json()["errors"]
    r = create(client, world, subject="")
    assert r.status_code == 422
    r = create(client, world, unknown_field=1)
    assert r.status_code == 422
    assert Ticket.objects.filter(customer=world["mine"]).count() == 0
    # Invisible customer: 404; read-only: 403, nothing written.
    assert create(api("rep2"), world).status_code == 404
    assert create(api("readonly"), world).status_code == 403
    assert Ticket.objects.filter(customer=world["mine"]).count() == 0


def test_list_filters_and_scope(api, users, world):
    create(api("service"), world)
    create(api("service"), world, type="payment", subject="发票", assignee=users["service"].pk)
    client = api("service")
    assert client.get(f"{BASE}/tickets").json()["count"] == 3
    eng = Queue.objects.get(code="engineering")
    r = client.get(f"{BASE}/tickets", {"queue": eng.pk})
    assert [t["subject"] for t in r.json()["items"]] == ["反渗透设备压力报警"]
    r = client.get(f"{BASE}/tickets", {"assignee": "me"})
    assert [t["subject"] for t in r.json()["items"]] == ["发票"]
    r = client.get(f"{BASE}/tickets", {"customer": world["theirs"].pk})
    assert [t["subject"] for t in r.json()["items"]] == ["系统无法登录"]
    r = client.get(f"{BASE}/tickets", {"status": "unresolved", "assignee": "none"})
    assert r.json()["count"] == 2
    assert client.get(f"{BASE}/tickets", {"status": "closed"}).json()["count"] == 0
    assert client.get(f"{BASE}/tickets", {"status": "bogus"}).status_code == 422
    rep = api("rep").get(f"{BASE}/tickets").json()
    assert {t["subject"] for t in rep["items"]} == {"反渗透设备压力报警", "发票"}


def test_get_is_404_when_invisible(api, world):
    url = f"{BASE}/tickets/{world['far'].pk}"
    assert api("rep").get(url).status_code == 404
    assert api("rep2").get(url).status_code == 200
    assert api("rep").get(f"{url}/messages").status_code == 404


def test_patch_with_version_and_conflict(api, users, world):
    t = create(api("service"), world).json()
    url = f"{BASE}/tickets/{t['id']}"
    r = api("service").patch(url, {"version": 1, "type": "payment", "priority": "urgent"})
    assert r.status_code == 200, r.content
    assert r.json()["queue_code"] == "finance" and r.json()["priority"] == "urgent"
    assert r.json()["version"] == 2
    r = api("director").patch(url, {"version": 1, "subject": "过期"})
    assert r.status_code == 409
    assert r.json()["current_version"] == 2
    r = api("rep").patch(url, {"version": 2, "subject": "rep 改"})
    assert r.status_code == 403
    assert Ticket.objects.get(pk=t["id"]).subject == "反渗透设备压力报警"
    r = api("service").patch(url, {"version": 2, "priority": None})
    assert r.status_code == 422


def test_messages_reply_note_and_listing(api, users, world,
                                         django_capture_on_commit_callbacks):
    from django.core import mail

    t = create(api("service"), world).json()
    url = f"{BASE}/tickets/{t['id']}/messages"
    with django_capture_on_commit_callbacks(execute=True):
        r = api("service").post(url, {"kind": "reply", "body": "已收到。",
                                      "time_spent_minutes": 10})
    assert r.status_code == 201
    assert r.json()["emailed_to"] == "li@qingyuan.example"
    assert len([m for m in mail.outbox if t["reference"] in m.subject]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        r = api("rep").post(url, {"kind": "note", "body": "重点客户"})
    assert r.status_code == 201 and r.json()["emailed_to"] == ""
    assert len(mail.outbox) == 1
    assert api("rep").post(url, {"kind": "reply", "body": "x"}).status_code == 403
    assert api("readonly").post(url, {"kind": "note", "body": "x"}).status_code == 403
    assert api("service").post(url, {"kind": "system", "body": "x"}).status_code == 422
    kinds = [m["kind"] for m in api("readonly").get(url).json()]
    assert kinds == ["system", "reply", "note"]
    detail = api("service").get(f"{BASE}/tickets/{t['id']}").json()
    assert detail["first_responded_at"] is not None and detail["time_spent_minutes"] == 10


def test_assign_status_merge(api, users, world):
    a = create(api("service"), world).json()
    b = create(api("service"), world, subject="重复").json()
    client = api("service")
    fin = Queue.objects.get(code="finance")
    r = client.post(f"{BASE}/tickets/{a['id']}/assign",
                    {"assignee": users["service"].pk, "queue": fin.pk})
    assert r.status_code == 200
    assert (r.json()["assignee"], r.json()["queue_code"], r.json()["status"]) == (
        users["service"].pk, "finance", "open")
    r = client.post(f"{BASE}/tickets/{a['id']}/assign", {"assignee": users["rep2"].pk})
    assert r.status_code == 422 and "assignee" in r.json()["errors"]
    r = client.post(f"{BASE}/tickets/{a['id']}/status", {"status": "resolved", "note": "ok"})
    assert r.status_code == 200 and r.json()["resolved_at"] is not None
    r = client.post(f"{BASE}/tickets/{a['id']}/status", {"status": "pending"})
    assert r.status_code == 422
    assert api("rep").post(f"{BASE}/tickets/{b['id']}/status",
                           {"status": "closed"}).status_code == 403
    r = client.post(f"{BASE}/tickets/{b['id']}/merge", {"into": a["id"]})
    assert r.status_code == 200 and r.json()["id"] == a["id"]
    merged = client.get(f"{BASE}/tickets/{b['id']}").json()
    assert merged["status"] == "merged" and merged["merged_into"] == a["id"]
    r = client.post(f"{BASE}/tickets/{a['id']}/merge", {"into": world["far"].pk})
    assert r.status_code == 422
    r = api("rep").post(f"{BASE}/tickets/{a['id']}/merge", {"into": world["far"].pk})
    assert r.status_code == 403
    assert TicketMessage.objects.filter(ticket_id=a["id"], kind="system",
                                        body__contains=b["reference"]).exists()


def test_types_and_queues(api, users, world):
    types = api("rep").get(f"{BASE}/ticket-types").json()
    by_code = {t["code"]: t for t in types}
    assert by_code["equipment_fault"]["queue_code"] == "engineering"
    assert by_code["complaint"]["is_complaint"] is True
    queues = {q["code"]: q for q in api("rep2").get(f"{BASE}/queues").json()}
    assert queues["systems"]["open_tickets"] == 1
    assert {q["code"]: q for q in api("rep").get(f"{BASE}/queues").json()}[
        "systems"]["open_tickets"] == 0
