import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import Interaction
from guanxi.parties.models import Customer
from guanxi.testing.factories import ContactFactory, InteractionFactory

URL = "/api/v1/interactions"


def _subjects(resp) -> set[str]:
    assert resp.status_code == 200, resp.content
    return {i["subject"] for i in resp.json()["items"]}


@pytest.mark.django_db
def test_list_is_scoped_and_filtered(api, world, users):
    a = world.customers["A"]
    assert _subjects(api("rep").get(URL)) == {"电话A", "电话P"}
    c = api("admin")
    assert _subjects(c.get(URL)) == {"电话A", "电话B", "电话P"}
    assert _subjects(c.get(URL, {"customer": a.pk})) == {"电话A"}
    InteractionFactory(customer=a, kind="visit", subject="拜访", created_by=users["rep"],
                       occurred_at=timezone.now() - dt.timedelta(days=10),
                       follow_up_on=timezone.localdate() - dt.timedelta(days=1))
    assert _subjects(c.get(URL, {"kind": "visit"})) == {"拜访"}
    week_ago = (timezone.now() - dt.timedelta(days=7)).isoformat()
    assert _subjects(c.get(URL, {"until": week_ago})) == {"拜访"}
    assert "拜访" not in _subjects(c.get(URL, {"since": week_ago}))
    assert _subjects(c.get(URL, {"follow_up_due": "true"})) == {"拜访"}
    assert "拜访" not in _subjects(c.get(URL, {"follow_up_due": "false"}))
    assert _subjects(c.get(URL, {"created_by": users["rep2"].pk})) == {"电话B"}
    items = c.get(URL, {"ordering": "occurred_at"}).json()["items"]
    assert items[0]["subject"] == "拜访"
    assert c.get(URL, {"kind": "telepathy"}).status_code == 422


@pytest.mark.django_db
def test_create_logs_and_updates_last_contact(api, world, users):
    a = world.customers["A"]
    ct = world.contacts["A"]
    resp = api("rep").post(URL, {
        "customer": a.pk, "kind": "visit", "contact": ct.pk, "body": "现场查看设备",
        "occurred_at": "2025-03-01T10:00:00", "follow_up_on": "2025-03-08",
        "participant_users": [users["manager"].pk],
    })
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["subject"]  # defaults to the kind's name
    assert body["channel"] == "in_person" and body["created_by"] == users["rep"].pk
    assert body["contact_name"] == "联系人A" and body["participant_users"] == [users["manager"].pk]
    # A naive time is read in the server's zone (Asia/Shanghai).
    expected = dt.datetime(2025, 3, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert dt.datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00")) == expected
    i = Interaction.objects.get(pk=body["id"])
    assert timezone.localtime(i.occurred_at).hour == 10
    assert Customer.objects.get(pk=a.pk).last_contact_at is not None


@pytest.mark.django_db
def test_create_refuses_foreign_contact_and_invisible_customer(api, world):
    a, b = world.customers["A"], world.customers["B"]
    before = Interaction.all_objects.count()
    resp = api("rep").post(URL, {"customer": a.pk, "contact": world.contacts["B"].pk})
    assert resp.status_code == 422 and "contact" in resp.json()["errors"]
    resp = api("rep").post(URL, {"customer": a.pk, "participant_contacts": [999999]})
    assert resp.status_code == 422 and "participant_contacts" in resp.json()["errors"]
    assert api("rep").post(URL, {"customer": b.pk}).status_code == 404
    assert api("rep").post(URL, {"customer": 999999}).status_code == 404
    assert api("readonly").post(URL, {"customer": a.pk}).status_code == 403
    assert Interaction.all_objects.count() == before


@pytest.mark.django_db
def test_patch_put_conflict_delete(api, world, users):
    from guanxi.activities.api import InteractionPut

    i = world.interactions["A"]
    url = f"{URL}/{i.pk}"
    c = api("rep")
    resp = c.patch(url, {"version": 1, "outcome": "interested", "next_step": "寄样品"})
    assert resp.status_code == 200, resp.content
    assert resp.json()["version"] == 2 and resp.json()["outcome"] == "interested"
    resp = c.patch(url, {"version": 2, "customer": world.customers["P"].pk})
    assert resp.status_code == 422 and "customer" in resp.json()["errors"]
    services.interaction_update(actor=users["manager"], interaction=i, version=2, body="补充")
    resp = c.patch(url, {"version": 2, "subject": "改"})
    assert resp.status_code == 409 and resp.json()["current_version"] == 3
    body = {k: v for k, v in c.get(url).json().items() if k in InteractionPut.model_fields}
    body["subject"] = "电话A（改）"
    resp = c.put(url, body)
    assert resp.status_code == 200, resp.content
    i.refresh_from_db()
    assert i.subject == "电话A（改）" and i.body == "补充" and i.version == 4
    assert c.delete(url).status_code == 204
    assert c.get(url).status_code == 404


@pytest.mark.django_db
def test_contacts_of_the_same_customer_only(api, world):
    a = world.customers["A"]
    extra = ContactFactory(customer=a, name="赵工")
    i = world.interactions["A"]
    resp = api("rep").patch(f"{URL}/{i.pk}", {"version": 1,
                                               "participant_contacts": [extra.pk]})
    assert resp.status_code == 200 and resp.json()["participant_contacts"] == [extra.pk]
