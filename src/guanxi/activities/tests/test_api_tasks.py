"""The tasks REST API: create, edit with version (409), complete (logs the interaction on
the customer's timeline), cancel, recurrence, visibility and refusals. Permission
outcomes of every route are in api/tests/test_matrix.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.activities.models import Interaction, Task
from guanxi.api.tests.conftest import ApiClient
from guanxi.core.models import AuditEntry
from guanxi.core.registry import timeline_page
from guanxi.parties.models import Contact
from guanxi.sales.models import Lead, Opportunity, Pipeline
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DUE = "2030-03-02T10:00:00+08:00"


@pytest.fixture
def api(users):
    def make(role: str) -> ApiClient:
        _token, key = ApiToken.issue(user=users[role], name=f"test {role}")
        return ApiClient(key)

    return make


@pytest.fixture
def customer(users, org):
    return CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"])


def new_task(client, **body):
    resp = client.post("/api/v1/tasks", {"title": "回访报价", "due_at": DUE, **body})
    assert resp.status_code == 201, resp.content
    return resp.json()


def test_completing_a_call_logs_the_interaction_on_the_timeline(api, users, customer):
    contact = Contact.objects.create(customer=customer, name="王总")
    client = api("rep")
    task = new_task(client, kind="call", customer=customer.pk, contact=contact.pk,
                    remind_minutes_before=30)
    assert task["assignee"] == users["rep"].pk and task["status"] == "open"
    assert task["remind_at"] is not None
    assert dt.datetime.fromisoformat(task["due_at"]) == dt.datetime.fromisoformat(DUE)
    resp = client.post(f"/api/v1/tasks/{task['id']}/complete",
                       {"outcome": "interested", "notes": "对方要求下周发方案"})
    assert resp.status_code == 200, resp.content
    done = resp.json()
    assert done["status"] == "done" and done["outcome"] == "interested"
    assert done["done_at"] is not None and done["next_occurrence"] is None
    interaction = Interaction.objects.get(pk=done["interaction"])
    assert interaction.customer == customer and interaction.kind == "call"
    assert interaction.subject == "回访报价" and interaction.outcome == "interested"
    assert interaction.contact == contact and "下周发方案" in interaction.body
    assert interaction.created_by == users["rep"]
    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds={"call"})
    assert [e.title for e in entries if e.kind == "call"]
    assert AuditEntry.objects.filter(model="activities.task", object_id=task["id"],
                                     action="update", customer_id=customer.pk).exists()
    # Only an open task can be completed.
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", {})
    assert again.status_code == 422 and "status" in again.json()["errors"]
    assert Interaction.objects.filter(customer=customer).count() == 1


def test_a_todo_or_log_interaction_false_logs_nothing(api, customer):
    client = api("rep")
    todo = new_task(client, kind="todo", customer=customer.pk)
    assert client.post(f"/api/v1/tasks/{todo['id']}/complete", {}).json()["interaction"] is None
    call = new_task(client, kind="call", customer=customer.pk)
    resp = client.post(f"/api/v1/tasks/{call['id']}/complete", {"log_interaction": False})
    assert resp.json()["interaction"] is None and resp.json()["status"] == "done"
    assert not Interaction.objects.exists()


def test_a_task_on_a_deal_logs_the_interaction_on_the_deal(api, users, customer):
    pipeline = Pipeline.objects.get(is_default=True)
    deal = Opportunity.objects.create(customer=customer, name="超滤系统", pipeline=pipeline,
                                      stage=pipeline.stages.first(), owner=users["rep"])
    client = api("rep")
    task = new_task(client, kind="visit", opportunity=deal.pk)
    assert task["customer"] == customer.pk  # the deal's customer
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", {"outcome": "reached"}).json()
    assert Interaction.objects.get(pk=done["interaction"]).opportunity_id == deal.pk


def test_recurring_task_creates_the_next_occurrence(api):
    client = api("rep")
    task = new_task(client, kind="todo", recurrence="weekly")
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", {}).json()
    nxt = client.get(f"/api/v1/tasks/{done['next_occurrence']}").json()
    assert nxt["series"] == task["id"] and nxt["status"] == "open"
    assert (dt.datetime.fromisoformat(nxt["due_at"]) - dt.datetime.fromisoformat(DUE)
            == dt.timedelta(days=7))
    resp = client.post(f"/api/v1/tasks/{nxt['id']}/cancel", {"stop_series": True})
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert resp.json()["next_occurrence"] is None


def test_edit_with_version_and_conflict(api, users, customer):
    rep, manager = api("rep"), api("manager")
    task = new_task(rep, customer=customer.pk)
    url = f"/api/v1/tasks/{task['id']}"
    resp = manager.patch(url, {"version": 1, "location": "客户现场"})
    assert resp.status_code == 200 and resp.json()["version"] == 2
    resp = rep.patch(url, {"version": 1, "title": "旧版本"})
    assert resp.status_code == 409 and resp.json()["current_version"] == 2
    assert resp.json()["theirs"][0]["changes"]["location"] == ["", "客户现场"]
    assert Task.objects.get(pk=task["id"]).title == "回访报价"
    resp = rep.patch(url, {"version": 2, "end_at": "2030-03-02T09:00:00+08:00"})
    assert resp.status_code == 422 and "end_at" in resp.json()["errors"]
    body = {k: v for k, v in rep.get(url).json().items()
            if k in ("title", "kind", "assignee", "due_at", "end_at", "all_day", "location",
                     "notes", "remind_minutes_before", "recurrence", "recurrence_interval",
                     "recurrence_until", "customer", "contact", "lead", "opportunity",
                     "version")}
    body.update(title="签合同", kind="meeting", end_at="2030-03-02T11:30:00+08:00")
    resp = rep.put(url, body)
    assert resp.status_code == 200, resp.content
    assert resp.json()["kind"] == "meeting" and resp.json()["version"] == 3


def test_visibility_refusals_and_assignment(api, users, customer, org):
    task = new_task(api("rep"), customer=customer.pk)
    url = f"/api/v1/tasks/{task['id']}"
    assert api("rep2").get(url).status_code == 404
    assert api("rep2").post(url + "/complete", {}).status_code == 404
    assert api("service").patch(url, {"version": 1, "title": "x"}).status_code == 403
    assert api("readonly").post("/api/v1/tasks", {"title": "x", "due_at": DUE}).status_code == 403
    # A customer the user can't see is 404, and nothing is written.
    theirs = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    before = Task.all_objects.count()
    assert api("rep").post("/api/v1/tasks", {"title": "x", "due_at": DUE,
                                             "customer": theirs.pk}).status_code == 404
    # Reps give tasks only to themselves; managers within their region.
    assert api("rep").post("/api/v1/tasks", {"title": "x", "due_at": DUE,
                                             "assignee": users["rep2"].pk}).status_code == 403
    assert Task.all_objects.count() == before
    resp = api("manager").post("/api/v1/tasks", {"title": "拜访", "due_at": DUE,
                                                 "assignee": users["rep"].pk,
                                                 "customer": customer.pk})
    assert resp.status_code == 201 and resp.json()["assignee"] == users["rep"].pk
    assert api("rep").delete(url).status_code == 204
    assert api("rep").get(url).status_code == 404


def test_list_filters(api, users, customer):
    client = api("rep")
    lead = Lead.objects.create(company="线索公司", owner=users["rep"])
    a = new_task(client, customer=customer.pk, kind="call")
    b = new_task(client, lead=lead.pk, due_at=(timezone.now() - dt.timedelta(days=1)).isoformat())
    c = api("manager").post("/api/v1/tasks", {"title": "经理自己的", "due_at": DUE}).json()

    def ids(**params):
        resp = client.get("/api/v1/tasks", params)
        assert resp.status_code == 200, resp.content
        return {item["id"] for item in resp.json()["items"]}

    assert ids() == {a["id"], b["id"]}  # not the manager's own unlinked task
    assert ids(overdue="true") == {b["id"]}
    assert ids(customer=customer.pk) == {a["id"]}
    assert ids(lead=lead.pk) == {b["id"]}
    assert ids(kind="call") == {a["id"]}
    assert ids(assignee="me") == {a["id"], b["id"]}
    assert [i["id"] for i in client.get("/api/v1/tasks").json()["items"]] == [b["id"], a["id"]]
    assert c["id"] in {i["id"] for i in api("manager").get("/api/v1/tasks",
                                                           {"assignee": "me"}).json()["items"]}
