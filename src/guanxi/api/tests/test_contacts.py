import pytest

from guanxi.core.models import AuditEntry
from guanxi.parties import services
from guanxi.parties.models import Contact


@pytest.mark.django_db
def test_nested_list_and_detail(api, world):
    a = world.customers["A"]
    Contact.objects.create(customer=a, name="王经理", is_primary=True)
    resp = api("rep").get(f"/api/v1/customers/{a.pk}/contacts")
    assert resp.status_code == 200
    items = resp.json()["items"]
    assert [i["name"] for i in items] == ["王经理", "联系人A"]  # primary first
    detail = api("rep").get(f"/api/v1/contacts/{world.contacts['A'].pk}").json()
    assert detail["mobile"] == "+8613800138000" and detail["mobile_display"] == "138 0013 8000"
    assert detail["customer"] == a.pk
    b = world.customers["B"]
    assert api("rep").get(f"/api/v1/customers/{b.pk}/contacts").status_code == 404
    assert api("rep").get(f"/api/v1/contacts/{world.contacts['B'].pk}").status_code == 404


@pytest.mark.django_db
def test_create_normalises_phones(api, world):
    a = world.customers["A"]
    resp = api("rep").post(f"/api/v1/customers/{a.pk}/contacts", {
        "name": "李工", "mobile": "138-0013-8001", "phone": "(021)6532-1234转12",
    })
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["mobile"] == "+8613800138001" and body["phone"] == "+862165321234"
    assert body["phone_ext"] == "12" and body["phone_display"] == "021 6532 1234 转 12"
    assert Contact.objects.filter(customer=a, name="李工").exists()


@pytest.mark.django_db
def test_create_validation_names_the_field(api, world):
    a = world.customers["A"]
    before = Contact.all_objects.count()
    resp = api("rep").post(f"/api/v1/customers/{a.pk}/contacts",
                           {"name": "李工", "mobile": "12345", "email": "x@"})
    assert resp.status_code == 422
    assert {"mobile", "email"} <= set(resp.json()["errors"])
    resp = api("rep").post(f"/api/v1/customers/{a.pk}/contacts", {"title": "经理"})
    assert resp.status_code == 422 and "name" in resp.json()["errors"]
    assert Contact.all_objects.count() == before


@pytest.mark.django_db
def test_patch_conflict_and_delete(api, world, users):
    ct = world.contacts["A"]
    url = f"/api/v1/contacts/{ct.pk}"
    c = api("rep")
    resp = c.patch(url, {"version": 1, "title": "总经理"})
    assert resp.status_code == 200 and resp.json()["version"] == 2
    services.contact_update(actor=users["manager"], contact=ct, version=2, department="采购部")
    resp = c.patch(url, {"version": 2, "title": "副总"})
    assert resp.status_code == 409
    assert resp.json()["theirs"][0]["changes"]["department"] == ["", "采购部"]
    ct.refresh_from_db()
    assert ct.title == "总经理" and ct.version == 3
    assert c.delete(url).status_code == 204
    assert c.get(url).status_code == 404
    assert AuditEntry.objects.filter(model="parties.contact", object_id=ct.pk,
                                     action="delete").count() == 1


@pytest.mark.django_db
def test_put_contact(api, world):
    from guanxi.parties.api import ContactPut

    ct = world.contacts["A"]
    url = f"/api/v1/contacts/{ct.pk}"
    c = api("rep")
    body = {k: v for k, v in c.get(url).json().items() if k in ContactPut.model_fields}
    body.update(name="联系人甲", wechat="wx_1")
    resp = c.put(url, body)
    assert resp.status_code == 200, resp.content
    ct.refresh_from_db()
    assert ct.name == "联系人甲" and ct.wechat == "wx_1" and ct.mobile == "+8613800138000"
