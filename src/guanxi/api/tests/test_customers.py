import datetime as dt

import pytest
from django.utils import timezone

from guanxi.core.models import AuditEntry
from guanxi.parties import services
from guanxi.parties.models import Customer, CustomFieldDef, Industry, Tag

URL = "/api/v1/customers"


def _names(resp) -> set[str]:
    return {item["name"] for item in resp.json()["items"]}


@pytest.mark.django_db
def test_list_is_scoped_and_paginated(api, world):
    resp = api("rep").get(URL)
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 2 and _names(resp) == {"上海清源水务", "杭州公海客户"}
    assert body["next"] is None and body["previous"] is None

    page = api("admin").get(URL, {"limit": 2, "ordering": "name"})
    body = page.json()
    assert body["count"] == 3 and len(body["items"]) == 2
    assert "offset=2" in body["next"] and body["next"].startswith("http")
    rest = api("admin").get(body["next"])
    assert len(rest.json()["items"]) == 1 and rest.json()["next"] is None
    assert "offset=0" in rest.json()["previous"]


@pytest.mark.django_db
def test_list_filters(api, world, org, users):
    c = api("admin")
    assert _names(c.get(URL, {"tier": "A"})) == {"上海清源水务"}
    assert _names(c.get(URL, {"stage": "lead"})) == {"杭州公海客户"}
    assert _names(c.get(URL, {"owner": users["rep2"].pk})) == {"重庆兴瑞环保"}
    assert _names(c.get(URL, {"owner": "none"})) == {"杭州公海客户"}
    assert _names(api("rep").get(URL, {"owner": "me"})) == {"上海清源水务"}
    # A region includes its offices.
    assert _names(c.get(URL, {"team": org["east"].pk})) == {"上海清源水务"}
    assert _names(c.get(URL, {"q": "清源"})) == {"上海清源水务"}
    assert _names(c.get(URL, {"q": "qingyuan"})) == {"上海清源水务"}
    assert _names(c.get(URL, {"q": "清源", "tier": "B"})) == set()
    assert _names(api("rep").get(URL, {"q": "兴瑞"})) == set()  # rep2's customer
    tag = Tag.objects.create(name="重点")
    world.customers["B"].tags.add(tag)
    assert _names(c.get(URL, {"tag": "重点"})) == {"重庆兴瑞环保"}
    ind = Industry.objects.create(code="water", name="水处理")
    Customer.objects.filter(pk=world.customers["P"].pk).update(industry=ind)
    assert _names(c.get(URL, {"industry": ind.pk})) == {"杭州公海客户"}
    old = timezone.now() - dt.timedelta(days=3)
    Customer.objects.exclude(pk=world.customers["A"].pk).update(updated_at=old)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert _names(c.get(URL, {"updated_since": since})) == {"上海清源水务"}
    names = [i["name"] for i in c.get(URL, {"ordering": "-name"}).json()["items"]]
    assert names == sorted(names, reverse=True)


@pytest.mark.django_db
def test_bad_filters_name_the_parameter(api, world):
    resp = api("admin").get(URL, {"ordering": "search_text", "tier": "Z", "limit": 1000,
                                   "owner": "bogus"})
    assert resp.status_code == 422
    assert set(resp.json()["errors"]) == {"ordering", "tier", "limit", "owner"}


@pytest.mark.django_db
def test_detail_has_e164_and_display_phone(api, world):
    a = world.customers["A"]
    resp = api("rep").get(f"{URL}/{a.pk}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["phone"] == "+862165321234"
    assert body["phone_display"] == "021 6532 1234"
    assert body["owner"] == a.owner_id and body["team_name"] == "上海办事处"
    assert body["version"] == 1 and body["tier"] == "A"
    assert api("rep").get(f"{URL}/{world.customers['B'].pk}").status_code == 404
    assert api("rep").get(f"{URL}/999999").status_code == 404


@pytest.mark.django_db
def test_create_with_custom_fields_and_tags(api, users):
    CustomFieldDef.objects.create(key="capacity", label="产能", field_type="number")
    resp = api("rep").post(URL, {
        "name": "苏州新水科技", "phone": "(0512)6532-1234转808", "email": " Info@XS.cn ",
        "tags": ["重点", "展会"], "custom": {"capacity": "1,200"}, "tier": "B",
    })
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["phone"] == "+8651265321234" and body["phone_ext"] == "808"
    assert body["phone_display"].endswith("转 808")
    assert body["email"] == "info@xs.cn" and sorted(body["tags"]) == ["展会", "重点"]
    assert body["custom"] == {"capacity": 1200}
    assert body["owner"] == users["rep"].pk  # a rep's new customer is the rep's
    c = Customer.objects.get(pk=body["id"])
    assert c.tier == "B" and c.custom == {"capacity": 1200}
    assert AuditEntry.objects.filter(model="parties.customer", object_id=c.pk,
                                     action="create").exists()


@pytest.mark.django_db
def test_validation_errors_name_the_field_and_write_nothing(api):
    CustomFieldDef.objects.create(key="capacity", label="产能", field_type="number")
    resp = api("rep").post(URL, {"name": "X", "phone": "12", "email": "nope",
                                 "custom": {"capacity": "lots", "colour": "red"}})
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert {"phone", "email", "custom.capacity", "custom.colour"} <= set(errors)
    assert all(isinstance(m, str) and m for msgs in errors.values() for m in msgs)
    assert Customer.all_objects.count() == 0 and AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_schema_errors_name_the_field(api, world):
    c = api("rep")
    resp = c.post(URL, {"city": "上海", "nmae": "typo", "tier": "Z"})
    assert resp.status_code == 422
    assert {"name", "nmae", "tier"} <= set(resp.json()["errors"])
    resp = c.post(URL, {"name": "X", "owner": 999999, "industry": 424242})
    assert resp.status_code == 422 and {"owner", "industry"} <= set(resp.json()["errors"])
    assert Customer.all_objects.count() == 3


@pytest.mark.django_db
def test_patch_changes_only_what_is_sent(api, world):
    CustomFieldDef.objects.create(key="capacity", label="产能", field_type="number")
    CustomFieldDef.objects.create(key="note2", label="备注", field_type="text")
    a = world.customers["A"]
    Customer.objects.filter(pk=a.pk).update(custom={"capacity": 5, "note2": "keep"})
    resp = api("rep").patch(f"{URL}/{a.pk}", {"version": 1, "city": "苏州",
                                              "custom": {"capacity": 7}})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["city"] == "苏州" and body["version"] == 2
    assert body["custom"] == {"capacity": 7, "note2": "keep"}
    a.refresh_from_db()
    assert a.name == "上海清源水务" and a.tier == "A" and a.owner_id is not None


@pytest.mark.django_db
def test_update_needs_version(api, world):
    a = world.customers["A"]
    resp = api("rep").patch(f"{URL}/{a.pk}", {"city": "苏州"})
    assert resp.status_code == 422 and "version" in resp.json()["errors"]
    a.refresh_from_db()
    assert a.city == "上海" and a.version == 1


@pytest.mark.django_db
def test_stale_version_is_a_409_with_their_change(api, world, users):
    a = world.customers["A"]
    services.customer_update(actor=users["manager"], customer=a, version=1, city="杭州")
    resp = api("rep").patch(f"{URL}/{a.pk}", {"version": 1, "city": "苏州"})
    assert resp.status_code == 409
    body = resp.json()
    assert body["current_version"] == 2
    assert body["theirs"][0]["changes"]["city"] == ["上海", "杭州"]
    assert body["theirs"][0]["actor"] == str(users["manager"])
    a.refresh_from_db()
    assert a.city == "杭州" and a.version == 2


@pytest.mark.django_db
def test_put_replaces_and_requires_every_field(api, world):
    a = world.customers["A"]
    c = api("rep")
    resp = c.put(f"{URL}/{a.pk}", {"version": 1, "name": "只有名字"})
    assert resp.status_code == 422 and "city" in resp.json()["errors"]
    full = {k: v for k, v in c.get(f"{URL}/{a.pk}").json().items()
            if k in _put_fields()}
    full.update(name="上海清源水务集团", tier="B")
    resp = c.put(f"{URL}/{a.pk}", full)
    assert resp.status_code == 200, resp.content
    a.refresh_from_db()
    assert a.name == "上海清源水务集团" and a.tier == "B" and a.version == 2
    assert a.owner_id == resp.json()["owner"]


def _put_fields() -> set[str]:
    from guanxi.parties.api import CustomerPut

    return set(CustomerPut.model_fields)


@pytest.mark.django_db
def test_delete_moves_to_recycle_bin(api, world):
    a = world.customers["A"]
    c = api("rep")
    assert c.delete(f"{URL}/{a.pk}").status_code == 204
    assert c.get(f"{URL}/{a.pk}").status_code == 404
    assert c.delete(f"{URL}/{a.pk}").status_code == 404
    assert Customer.all_objects.get(pk=a.pk).deleted_at is not None


@pytest.mark.django_db
def test_me(api, users):
    body = api("manager").get("/api/v1/me").json()
    assert body["username"] == "manager" and body["role"] == "manager"
    assert body["team_name"] == "华东区" and body["sees_all_customers"] is False
