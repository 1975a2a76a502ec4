"""Customer web UI: list filters and sorting, forms, conflicts, 360 page, history, bin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEntry
from guanxi.parties import services
from guanxi.parties.models import Contact, Customer, CustomFieldDef, Industry, Tag
from guanxi.testing.factories import ContactFactory, CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions below read English source strings, whatever translations exist."""
    settings.LANGUAGE_CODE = "en"


def login(client, user):
    client.force_login(user)
    return client


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


# ---------------------------------------------------------------- list


@pytest.fixture
def three(users, org):
    food = Industry.objects.create(code="food", name="食品")
    water = Industry.objects.create(code="water", name="水处理")
    a = CustomerFactory(name="安徽甲公司", tier="A", stage="customer", owner=users["rep"],
                        team=org["shanghai"], industry=water, source="referral")
    b = CustomerFactory(name="北京乙公司", tier="B", stage="lead", owner=users["rep2"],
                        team=org["chongqing"], industry=food, source="website")
    c = CustomerFactory(name="重庆丙公司", tier="C", stage="prospect", owner=None,
                        team=org["hangzhou"], industry=water)
    now = timezone.now()
    Customer.objects.filter(pk=a.pk).update(last_contact_at=now - dt.timedelta(days=3),
                                            updated_at=now - dt.timedelta(days=1))
    Customer.objects.filter(pk=b.pk).update(last_contact_at=now - dt.timedelta(days=1),
                                            updated_at=now - dt.timedelta(days=3))
    Customer.objects.filter(pk=c.pk).update(updated_at=now - dt.timedelta(days=2))
    vip = Tag.objects.create(name="VIP")
    a.tags.add(vip)
    c.tags.add(vip)
    return {"a": a, "b": b, "c": c, "food": food, "water": water, "vip": vip}


@pytest.mark.parametrize("query, expected", [
    ({}, ["安徽甲公司", "重庆丙公司", "北京乙公司"]),  # default: recently updated first
    ({"q": "乙"}, ["北京乙公司"]),
    ({"q": "重慶"}, ["重庆丙公司"]),  # Traditional script finds the Simplified name
    ({"q": "beijing"}, ["北京乙公司"]),  # pinyin, through the search index
    ({"q": "a"}, []),  # too short for the index: a name scan
    ({"tier": "A"}, ["安徽甲公司"]),
    ({"stage": "lead"}, ["北京乙公司"]),
    ({"owner": "none"}, ["重庆丙公司"]),
    ({"source": "website"}, ["北京乙公司"]),
    ({"sort": "name"}, ["北京乙公司", "安徽甲公司", "重庆丙公司"]),  # by code point
    ({"sort": "-tier"}, ["重庆丙公司", "北京乙公司", "安徽甲公司"]),
    ({"sort": "-last_contact"}, ["北京乙公司", "安徽甲公司", "重庆丙公司"]),
    ({"sort": "updated"}, ["北京乙公司", "重庆丙公司", "安徽甲公司"]),
    ({"sort": "password; DROP TABLE"}, ["安徽甲公司", "重庆丙公司", "北京乙公司"]),
])
def test_list_filters_and_sorting(client, users, three, query, expected):
    r = login(client, users["director"]).get(reverse("parties:customer_list"), query)
    assert r.status_code == 200
    assert names(r) == expected


def test_list_filters_by_related_rows(client, users, org, three):
    c = login(client, users["director"])
    url = reverse("parties:customer_list")
    assert set(names(c.get(url, {"tag": three["vip"].pk}))) == {"安徽甲公司", "重庆丙公司"}
    assert set(names(c.get(url, {"industry": three["water"].pk}))) == {"安徽甲公司", "重庆丙公司"}
    # A region includes its offices.
    assert set(names(c.get(url, {"team": org["east"].pk}))) == {"安徽甲公司", "重庆丙公司"}
    assert names(c.get(url, {"team": org["chongqing"].pk})) == ["北京乙公司"]
    assert names(c.get(url, {"owner": users["rep"].pk})) == ["安徽甲公司"]


def test_list_custom_field_filters(client, users, three):
    CustomFieldDef.objects.create(key="size", label="规模", field_type="choice",
                                  choices=["大", "小"])
    CustomFieldDef.objects.create(key="iso", label="ISO认证", field_type="bool")
    Customer.objects.filter(pk=three["a"].pk).update(custom={"size": "大", "iso": True})
    Customer.objects.filter(pk=three["b"].pk).update(custom={"size": "小", "iso": False})
    c = login(client, users["director"])
    url = reverse("parties:customer_list")
    assert names(c.get(url, {"cf_size": "大"})) == ["安徽甲公司"]
    assert names(c.get(url, {"cf_iso": "no"})) == ["北京乙公司"]
    assert "cf_size" in c.get(url).context["form"].fields


def test_list_is_scoped_and_htmx_returns_the_table_only(client, users, three):
    c = login(client, users["rep"])
    r = c.get(reverse("parties:customer_list"), HTTP_HX_REQUEST="true",
              HTTP_HX_TARGET="customer-results")
    assert set(names(r)) == {"安徽甲公司", "重庆丙公司"}  # own + pool, not rep2's
    html = r.content.decode()
    assert "<html" not in html and "customer-table" in html
    assert "tier-A" in html and "stage-customer" in html
    full = c.get(reverse("parties:customer_list")).content.decode()
    assert "<html" in full and 'id="customer-filters"' in full


def test_list_query_count_does_not_grow_with_rows(client, users, org,
                                                  django_assert_max_num_queries):
    for i in range(30):
        cust = CustomerFactory(name=f"客户{i}", owner=users["rep"], team=org["shanghai"])
        cust.tags.add(Tag.objects.get_or_create(name=f"t{i % 3}")[0])
    c = login(client, users["director"])
    with django_assert_max_num_queries(12):
        r = c.get(reverse("parties:customer_list"), HTTP_HX_REQUEST="true")
    assert len(r.context["page"].object_list) == 30


def test_list_pages_by_fifty(client, users, settings):
    Customer.objects.bulk_create([Customer(name=f"批量{i:03d}") for i in range(55)])
    c = login(client, users["director"])
    r = c.get(reverse("parties:customer_list"), {"sort": "name"})
    page = r.context["page"]
    assert len(page.object_list) == 50 and page.has_next and page.total == 55
    r2 = c.get(reverse("parties:customer_list"), {"sort": "name", "page": 2})
    assert names(r2) == [f"批量{i:03d}" for i in range(50, 55)]
    assert not r2.context["page"].has_next


def test_empty_list_says_what_to_do(client, users):
    html = login(client, users["rep"]).get(reverse("parties:customer_list")).content.decode()
    assert "No customers yet" in html and reverse("parties:customer_create") in html
    html = client.get(reverse("parties:customer_list"), {"q": "nothing"}).content.decode()
    assert "No customers yet" in html  # still nothing at all
    CustomerFactory(name="甲", owner=users["rep"])
    html = client.get(reverse("parties:customer_list"), {"q": "nothing"}).content.decode()
    assert "No customers match these filters" in html


def test_new_button_only_for_creators(client, users):
    url = reverse("parties:customer_create")
    assert url in login(client, users["rep"]).get(reverse("parties:customer_list")).content.decode()
    html = login(client, users["readonly"]).get(reverse("parties:customer_list")).content.decode()
    assert url not in html


# ---------------------------------------------------------------- create / edit


def customer_post(**over):
    data = {"kind": "org", "name": "上海清源水务", "country": "CN", "province": "上海市",
            "city": "上海", "phone": "", "email": "", "tier": "B", "stage": "prospect",
            "credit_days": "30", "tags": "", "consent_phone": "on"}
    data.update(over)
    return data


def test_create_customer_through_the_form(client, users, org):
    c = login(client, users["manager"])
    r = c.post(reverse("parties:customer_create"), customer_post(
        phone="138 0013 8000", tags="VIP，华东、 大客户", owner=users["rep"].pk,
        team=org["shanghai"].pk))
    customer = Customer.objects.get(name="上海清源水务")
    assert r.status_code == 302 and r["Location"] == customer.get_absolute_url()
    assert customer.phone == "+8613800138000" and customer.owner == users["rep"]
    assert sorted(t.name for t in customer.tags.all()) == ["VIP", "华东", "大客户"]
    assert AuditEntry.objects.filter(object_id=customer.pk, action="create").exists()


def test_create_with_bad_phone_shows_error_on_phone_and_keeps_input(client, users):
    c = login(client, users["rep"])
    r = c.post(reverse("parties:customer_create"),
               customer_post(phone="12345", street="浦东新区世纪大道100号", tags="VIP"))
    assert r.status_code == 200
    form = r.context["form"]
    assert "phone" in form.errors and "name" not in form.errors
    html = r.content.decode()
    assert 'value="12345"' in html and "浦东新区世纪大道100号" in html and 'value="VIP"' in html
    assert 'aria-invalid="true"' in html
    assert Customer.all_objects.count() == 0


def test_custom_field_errors_land_on_the_custom_field(client, users):
    water = Industry.objects.create(code="water", name="水处理")
    CustomFieldDef.objects.create(key="capacity", label="处理能力", field_type="number",
                                  industry=water, required=True)
    c = login(client, users["rep"])
    r = c.post(reverse("parties:customer_create"), customer_post(industry=water.pk))
    assert r.status_code == 200 and "cf_capacity" in r.context["form"].errors
    r = c.post(reverse("parties:customer_create"),
               customer_post(industry=water.pk, cf_capacity="1200"))
    assert r.status_code == 302
    assert Customer.objects.get().custom == {"capacity": 1200}


def test_service_errors_are_mapped_to_form_fields(users):
    from django.core.exceptions import ValidationError

    from guanxi.parties.forms import CustomerForm, apply_service_errors

    CustomFieldDef.objects.create(key="grade", label="等级", field_type="text")
    form = CustomerForm(customer_post(), user=users["rep"])
    assert form.is_valid()
    apply_service_errors(form, ValidationError({"custom.grade": ["太长"], "phone": ["不对"],
                                                "external_id": ["重复"]}))
    assert form.errors["cf_grade"] == ["太长"] and form.errors["phone"] == ["不对"]
    assert form.non_field_errors() == ["external_id: 重复"]


def test_industry_change_swaps_in_its_custom_fields(client, users):
    water = Industry.objects.create(code="water", name="水处理")
    CustomFieldDef.objects.create(key="capacity", label="处理能力", field_type="number",
                                  industry=water)
    c = login(client, users["rep"])
    r = c.get(reverse("parties:customer_create"), {"industry": water.pk, "cf_capacity": "7"},
              HTTP_HX_REQUEST="true", HTTP_HX_TARGET="custom-fields")
    html = r.content.decode()
    assert "处理能力" in html and 'value="7"' in html and "<html" not in html


def test_rep_form_has_no_ownership_fields(client, users):
    customer = services.customer_create(actor=users["rep"], name="甲")
    form = login(client, users["rep"]).get(
        reverse("parties:customer_edit", args=[customer.pk])).context["form"]
    assert not {"owner", "team", "shared_with"} & set(form.fields)
    form = login(client, users["manager"]).get(
        reverse("parties:customer_edit", args=[customer.pk])).context["form"]
    assert {"owner", "team", "shared_with"} <= set(form.fields)


def test_edit_saves_through_the_service_with_version(client, users):
    customer = services.customer_create(actor=users["rep"], name="甲", city="上海")
    c = login(client, users["rep"])
    r = c.get(reverse("parties:customer_edit", args=[customer.pk]))
    assert 'name="version" value="1"' in r.content.decode()
    r = c.post(reverse("parties:customer_edit", args=[customer.pk]),
               customer_post(name="甲", city="苏州", version="1"))
    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "苏州" and customer.version == 2


def test_edit_conflict_shows_the_other_change_and_keeps_input(client, users):
    customer = services.customer_create(actor=users["rep"], name="上海清源水务")
    # The manager saves first.
    services.customer_update(actor=users["manager"], customer=customer, version=1,
                             city="上海", tier="A")
    c = login(client, users["rep"])
    r = c.post(reverse("parties:customer_edit", args=[customer.pk]),
               customer_post(city="苏州", street="我输入的地址", version="1"))
    assert r.status_code == 200
    html = r.content.decode()
    assert "Someone else changed this record" in html
    assert str(users["manager"]) in html
    assert "<del>—</del> → <ins>上海</ins>" in html  # city: empty → 上海
    assert 'value="苏州"' in html and "我输入的地址" in html  # the user's input survives
    assert 'name="version" value="2"' in html  # re-submit against the current version
    customer.refresh_from_db()
    assert customer.city == "上海" and customer.version == 2  # no silent overwrite
    r = c.post(reverse("parties:customer_edit", args=[customer.pk]),
               customer_post(city="苏州", version="2"))
    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "苏州" and customer.version == 3


# ---------------------------------------------------------------- 360 page


def test_customer_360_shows_header_contacts_timeline_and_value(client, users):
    customer = services.customer_create(actor=users["rep"], name="重庆兴瑞",
                                        phone="(023)6532-1234转808", tags=["VIP"])
    services.contact_create(actor=users["rep"], customer=customer, name="王经理",
                            mobile="13800138000")
    InteractionFactory(customer=customer, subject="报价跟进", created_by=users["rep"])
    html = login(client, users["rep"]).get(customer.get_absolute_url()).content.decode()
    assert "重庆兴瑞" in html and "tier-C" in html and "stage-prospect" in html
    assert 'href="tel:+862365321234;ext=808"' in html and "023 6532 1234 转 808" in html
    assert "王经理" in html and "138 0013 8000" in html
    assert "报价跟进" in html and 'id="quick-log"' in html
    assert "Computed once sales and analytics exist." in html and "Lifetime value" in html
    assert "VIP" in html


def test_timeline_filters_by_kind_and_loads_more(client, users):
    customer = CustomerFactory(owner=users["rep"])
    now = timezone.now()
    for i in range(25):
        InteractionFactory(customer=customer, kind="call", subject=f"电话{i:02d}",
                           occurred_at=now - dt.timedelta(hours=i))
    InteractionFactory(customer=customer, kind="visit", subject="拜访",
                       occurred_at=now - dt.timedelta(minutes=30))
    c = login(client, users["rep"])
    url = customer.get_absolute_url()
    r = c.get(url, {"kind": "visit"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    html = r.content.decode()
    assert "拜访" in html and "电话00" not in html and "<html" not in html
    r = c.get(url)
    assert len(r.context["timeline_items"]) == 20
    cursor = r.context["timeline_cursor"]
    assert cursor
    more = c.get(url, {"before": cursor, "kind": "call"}, HTTP_HX_REQUEST="true",
                 HTTP_HX_TARGET="timeline-list")
    html = more.content.decode()
    assert "电话24" in html and "电话18" not in html and "<li" in html


def test_panels_are_rendered_when_registered(client, users, monkeypatch, tmp_path):
    from guanxi.core import registry

    monkeypatch.setattr(registry, "_panels", {})
    registry.register_panel(registry.Panel(
        key="deals", title="Deals", template="parties/partials/badges.html",
        context=lambda customer, user: {"c": customer}))
    registry.register_panel(registry.Panel(
        key="hidden", title="Hidden", template="parties/partials/badges.html",
        context=lambda customer, user: None))
    customer = CustomerFactory(owner=users["rep"], tier="A")
    html = login(client, users["rep"]).get(customer.get_absolute_url()).content.decode()
    assert "panel-deals" in html and "panel-hidden" not in html


def test_history_tab_lists_audit_entries(client, users):
    customer = services.customer_create(actor=users["rep"], name="甲")
    services.customer_update(actor=users["rep"], customer=customer, version=1, city="杭州",
                             stage="lead")
    contact = services.contact_create(actor=users["rep"], customer=customer, name="李四")
    r = login(client, users["rep"]).get(reverse("parties:customer_history", args=[customer.pk]))
    html = r.content.decode()
    assert r.status_code == 200
    assert "<del>—</del> → <ins>杭州</ins>" in html
    assert "<del>prospect</del> → <ins>lead</ins>" in html
    assert contact.name in html and str(users["rep"]) in html
    assert len(r.context["entries"]) == 3


# ---------------------------------------------------------------- contacts


def test_contact_add_edit_delete(client, users):
    customer = services.customer_create(actor=users["rep"], name="甲")
    c = login(client, users["rep"])
    r = c.post(reverse("parties:contact_create", args=[customer.pk]),
               {"name": "王五", "mobile": "13800138000"})
    assert r.status_code == 302
    contact = Contact.objects.get(name="王五")
    assert contact.mobile == "+8613800138000"
    r = c.post(reverse("parties:contact_create", args=[customer.pk]),
               {"name": "赵六", "mobile": "123"})
    assert r.status_code == 200 and "mobile" in r.context["form"].errors
    r = c.post(reverse("parties:contact_edit", args=[contact.pk]),
               {"name": "王五", "title": "经理", "version": "1"})
    assert r.status_code == 302
    contact.refresh_from_db()
    assert contact.title == "经理" and contact.version == 2
    r = c.post(reverse("parties:contact_edit", args=[contact.pk]),
               {"name": "王五", "title": "总监", "version": "1"})
    assert r.status_code == 200 and "Someone else changed this record" in r.content.decode()
    r = c.post(reverse("parties:contact_delete", args=[contact.pk]))
    assert r.status_code == 302 and not Contact.objects.filter(pk=contact.pk).exists()


# ---------------------------------------------------------------- delete and recycle bin


def test_delete_and_restore_from_recycle_bin(client, users):
    customer = services.customer_create(actor=users["rep"], name="将被删除")
    contact = ContactFactory(customer=CustomerFactory(name="另一个"), name="被删联系人")
    services.contact_delete(actor=users["admin"], contact=contact)
    r = login(client, users["rep"]).post(reverse("parties:customer_delete", args=[customer.pk]))
    assert r.status_code == 302 and not Customer.objects.filter(pk=customer.pk).exists()
    assert client.get(reverse("parties:recycle_bin")).status_code == 404
    c = login(client, users["admin"])
    html = c.get(reverse("parties:recycle_bin")).content.decode()
    assert "将被删除" in html and str(users["rep"]) in html
    html = c.get(reverse("parties:recycle_bin"), {"kind": "contact"}).content.decode()
    assert "被删联系人" in html
    r = c.post(reverse("parties:restore", args=["customer", customer.pk]))
    assert r.status_code == 302
    assert Customer.objects.filter(pk=customer.pk).exists()
    c.post(reverse("parties:restore", args=["contact", contact.pk]))
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert c.post(reverse("parties:restore", args=["nope", 1])).status_code == 404


def test_interaction_restore_from_bin(client, users):
    ix = InteractionFactory(customer=CustomerFactory(owner=users["rep"]), created_by=users["rep"])
    login(client, users["rep"]).post(reverse("activities:interaction_delete", args=[ix.pk]))
    assert not Interaction.objects.filter(pk=ix.pk).exists()
    c = login(client, users["admin"])
    assert ix.subject in c.get(reverse("parties:recycle_bin"),
                               {"kind": "interaction"}).content.decode()
    c.post(reverse("parties:restore", args=["interaction", ix.pk]))
    assert Interaction.objects.filter(pk=ix.pk).exists()


def test_login_page_renders(client):
    r = client.get(reverse("login"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'name="username"' in html and "auth-card" in html


def test_pager_gives_the_same_rows_whichever_plan_it_picks(users):
    from guanxi.parties.list_selectors import filter_customers, page_of

    Customer.objects.bulk_create(
        [Customer(name=f"池{i:02d}", tier="ABC"[i % 3]) for i in range(30)]
        + [Customer(name=f"别人{i:02d}", owner=users["rep2"]) for i in range(5)])
    qs = filter_customers(Customer.objects.visible_to(users["rep"]), {}, user=users["rep"])
    for sort in ("name", "-name", "tier", "-updated", "-last_contact"):
        for number in (1, 2, 3, 4):
            few = page_of(qs, number, 10, sort=sort)  # counted: sorts the matches
            many = page_of(qs, number, 10, sort=sort, count_cap=5)  # walks the index
            assert not few.total_capped and many.total_capped
            assert [c.pk for c in few.object_list] == [c.pk for c in many.object_list]
            assert few.has_next == many.has_next == (number < 3)
    first = page_of(qs, 1, 10, sort="name").object_list
    assert [c.name for c in first] == [f"池{i:02d}" for i in range(10)]


def test_manager_keeps_an_owner_outside_the_subtree(client, users, org):
    # In the East subtree by office, owned by the Chongqing rep: the manager sees it.
    customer = CustomerFactory(name="跨区客户", owner=users["rep2"], team=org["shanghai"])
    c = login(client, users["manager"])
    form = c.get(reverse("parties:customer_edit", args=[customer.pk])).context["form"]
    owners = set(form.fields["owner"].queryset)
    assert users["rep2"] in owners and users["rep"] in owners
    r = c.post(reverse("parties:customer_edit", args=[customer.pk]),
               customer_post(name="跨区客户", owner=users["rep2"].pk, team=org["shanghai"].pk,
                             city="南京", version=str(customer.version)))
    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "南京" and customer.owner == users["rep2"]
