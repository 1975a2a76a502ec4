import pytest
from django.urls import reverse

from guanxi.core import site_settings
from guanxi.parties.models import CustomFieldDef, Industry
from guanxi.testing.factories import CustomerFactory

PAGES = ["ui:settings", "ui:custom_field_list", "ui:custom_field_create", "ui:industry_list",
         "ui:pack_list", "ui:contact_intervals"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["director", "manager", "rep", "service", "marketing",
                                  "finance", "readonly"])
def test_settings_are_404_for_non_admins(client, users, role):
    client.force_login(users[role])
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 404, name
    assert client.post(reverse("ui:pack_apply", args=["equipment"])).status_code == 404
    assert client.post(reverse("ui:contact_intervals"),
                       {"A": 1, "B": 1, "C": 1}).status_code == 404
    assert CustomFieldDef.objects.count() == 0
    assert site_settings.get("industry_pack") is None


@pytest.mark.django_db
def test_settings_pages_render_for_admin(client, users):
    client.force_login(users["admin"])
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    nav = client.get(reverse("ui:settings")).context["nav_items"]
    assert any(i["url"] == reverse("ui:settings") and i["active"] for i in nav)


@pytest.mark.django_db
def test_apply_pack_from_the_screen_twice(client, users):
    client.force_login(users["admin"])
    page = client.get(reverse("ui:pack_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "需求确认" in page and "经销商级别" in page
    page = client.get(reverse("ui:pack_list"), HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "需求確認" in page and "經銷商級別" in page
    for _ in range(2):
        resp = client.post(reverse("ui:pack_apply", args=["equipment"]))
        assert resp.status_code == 302
    assert CustomFieldDef.objects.filter(pack="equipment").count() == 7
    assert Industry.objects.filter(code="pharma").count() == 1
    assert client.post(reverse("ui:pack_apply", args=["nope"])).status_code == 404
    # The field list shows English labels when the user reads English.
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("ui:custom_field_list")).content.decode()
    assert "Capacity (t/day)" in page and "Pharmaceuticals" in page


@pytest.mark.django_db
def test_custom_field_crud_through_the_screens(client, users):
    client.force_login(users["admin"])
    resp = client.post(reverse("ui:custom_field_create"), {
        "key": "level", "label": "级别", "field_type": "choice", "industry": "",
        "choices": "一级\n二级", "help_text": "", "order": 5})
    assert resp.status_code == 302
    d = CustomFieldDef.objects.get(key="level")
    assert d.choices == ["一级", "二级"] and d.order == 5
    resp = client.post(reverse("ui:custom_field_create"), {
        "key": "level", "label": "", "field_type": "multi", "choices": "", "order": 1})
    assert set(resp.context["form"].errors) >= {"label", "choices"}
    # Edit: the key cannot change even if posted.
    resp = client.post(reverse("ui:custom_field_edit", args=[d.pk]), {
        "key": "hacked", "label": "客户级别", "field_type": "choice", "choices": "一级\n二级\n三级",
        "required": "on", "order": 5})
    assert resp.status_code == 302
    d.refresh_from_db()
    assert (d.key, d.label, d.required, len(d.choices)) == ("level", "客户级别", True, 3)
    # Delete warns how many customers hold a value.
    CustomerFactory(custom={"level": "一级"})
    CustomerFactory(custom={"level": "二级"})
    CustomerFactory(custom={})
    resp = client.get(reverse("ui:custom_field_delete", args=[d.pk]))
    assert resp.context["usage"] == 2
    resp = client.post(reverse("ui:custom_field_delete", args=[d.pk]))
    assert resp.status_code == 302 and not CustomFieldDef.objects.filter(pk=d.pk).exists()


@pytest.mark.django_db
def test_industry_create_screen(client, users):
    client.force_login(users["admin"])
    resp = client.post(reverse("ui:industry_list"), {"name": "市政水务", "code": "municipal"})
    assert resp.status_code == 302 and Industry.objects.filter(code="municipal").exists()
    resp = client.post(reverse("ui:industry_list"), {"name": "市政水务", "code": "municipal"})
    assert resp.status_code == 200 and "code" in resp.context["form"].errors


@pytest.mark.django_db
def test_bad_intervals_are_refused(client, users):
    client.force_login(users["admin"])
    resp = client.post(reverse("ui:contact_intervals"), {"A": 0, "B": 30, "C": ""})
    assert resp.status_code == 200 and set(resp.context["form"].errors) == {"A", "C"}
    assert site_settings.contact_interval_days() == {"A": 14, "B": 30, "C": 90}
