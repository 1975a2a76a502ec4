"""Pool pages: list, claim within and over the limit, release, allocation, bulk
reassignment, owner history, settings, the auto-return button and the customer panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from guanxi.core.models import AuditAction, AuditEntry, Job
from guanxi.sales import pool as svc
from guanxi.sales.models import Lead, OwnerChange, OwnerChangeReason, Pool
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pools(org):
    return {
        "company": Pool.objects.create(name="总公司公海", team=org["company"], daily_claim_limit=5),
        "east": Pool.objects.create(name="华东公海", team=org["east"], daily_claim_limit=2),
        "west": Pool.objects.create(name="西南公海", team=org["west"], daily_claim_limit=3),
    }


def login(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ---------------------------------------------------------------- list


def test_pool_page_lists_only_pool_records_the_user_may_see(client, org, users, pools):
    free = CustomerFactory(name="上海新风贸易有限公司", team=org["shanghai"])
    CustomerFactory(name="已有负责人有限公司", team=org["shanghai"], owner=users["rep"])
    CustomerFactory(name="回收站客户有限公司", team=org["shanghai"],
                    deleted_at="2025-01-01T00:00:00Z")
    CustomerFactory(name="重庆客户有限公司", team=org["chongqing"])
    login(client, users["rep"])

    r = client.get(reverse("pools:list"))
    assert r.status_code == 200
    assert r.context["chosen"] == pools["east"]  # the rep's own region by default
    assert [c.pk for c in r.context["page"].object_list] == [free.pk]
    html = r.content.decode()
    assert f'data-testid="claim-{free.pk}"' in html
    assert "已有负责人" not in html and "回收站客户" not in html and "重庆客户" not in html
    assert "2 of 2 claims left today" in html
    assert [row["pool"] for row in r.context["pools"]] == [pools["company"], pools["east"]]

    # A pool of another region is not there for this rep.
    assert client.get(reverse("pools:list"), {"pool": pools["west"].pk}).status_code == 404


def test_pool_page_filters_and_lead_tab(client, org, users, pools):
    a = CustomerFactory(name="甲公司", team=org["shanghai"], city="上海", tier="A")
    CustomerFactory(name="乙公司", team=org["hangzhou"], city="杭州", tier="C")
    item = Lead.objects.create(company="丙公司", team=org["shanghai"], pool=pools["east"],
                               city="上海")
    login(client, users["rep"])
    r = client.get(reverse("pools:list"), {"city": "上海", "tier": "A"})
    assert [c.pk for c in r.context["page"].object_list] == [a.pk]
    r = client.get(reverse("pools:list"), {"tab": "leads"})
    assert [x.pk for x in r.context["page"].object_list] == [item.pk]
    assert reverse("pools:claim_lead", args=[item.pk]) in r.content.decode()


@pytest.mark.parametrize("role", ["service", "finance", "readonly", "marketing"])
def test_roles_without_customers_of_their_own_do_not_use_the_pool(client, users, pools, role):
    login(client, users[role])
    assert client.get(reverse("pools:list")).status_code == 403


# ---------------------------------------------------------------- claim


def test_claim_within_and_over_the_limit(client, org, users, pools):
    rep = users["rep"]
    first, second, third = (CustomerFactory(team=org["shanghai"]) for _ in range(3))
    login(client, rep)
    for c in (first, second):
        r = client.post(reverse("pools:claim", args=[c.pk]), follow=True)
        assert r.status_code == 200
        c.refresh_from_db()
        assert c.owner == rep
    assert "0 of 2 claims left today" in r.content.decode()
    assert f'data-testid="claim-{third.pk}" disabled' in r.content.decode()

    r = client.post(reverse("pools:claim", args=[third.pk]), follow=True)
    assert messages_of(r) == ["You have claimed 2 customers today; the limit is 2."]
    third.refresh_from_db()
    assert third.owner is None and third.version == 1
    assert not OwnerChange.objects.filter(customer=third).exists()
    assert not AuditEntry.objects.filter(customer_id=third.pk).exists()


def test_lead_claims_count_in_the_same_limit(client, org, users, pools):
    rep = users["rep"]
    leads = [Lead.objects.create(company=f"线索{i}", team=org["shanghai"], pool=pools["east"])
             for i in range(2)]
    customer = CustomerFactory(team=org["shanghai"])
    login(client, rep)
    for item in leads:
        client.post(reverse("pools:claim_lead", args=[item.pk]))
    assert Lead.objects.filter(owner=rep).count() == 2
    r = client.post(reverse("pools:claim", args=[customer.pk]), follow=True)
    assert messages_of(r)[-1] == "You have claimed 2 customers today; the limit is 2."
    customer.refresh_from_db()
    assert customer.owner is None
    assert svc.claims_today(rep) == 2


def test_claim_needs_post_and_a_visible_customer(client, org, users, pools):
    owned = CustomerFactory(team=org["chongqing"], owner=users["rep2"])
    login(client, users["rep"])
    assert client.get(reverse("pools:claim", args=[owned.pk])).status_code == 405
    assert client.post(reverse("pools:claim", args=[owned.pk])).status_code == 404
    login(client, users["service"])
    free = CustomerFactory(team=org["shanghai"])
    assert client.post(reverse("pools:claim", args=[free.pk])).status_code == 403
    assert not OwnerChange.objects.exists()


# ---------------------------------------------------------------- release


def test_release_from_the_customer_page(client, org, users, pools):
    rep = users["rep"]
    c = CustomerFactory(team=org["shanghai"], owner=rep)
    login(client, users["rep2"])
    assert client.post(reverse("pools:release", args=[c.pk])).status_code == 404
    login(client, rep)
    r = client.post(reverse("pools:release", args=[c.pk]), {"note": "客户暂无需求"})
    assert r.status_code == 302 and r.url == c.get_absolute_url()
    c.refresh_from_db()
    assert c.owner is None
    change = OwnerChange.objects.get(customer=c)
    assert (change.reason, change.note) == (OwnerChangeReason.RELEASE, "客户暂无需求")


def test_release_lead(client, org, users, pools):
    item = Lead.objects.create(company="丁公司", team=org["shanghai"], owner=users["rep"])
    login(client, users["rep"])
    client.post(reverse("pools:release_lead", args=[item.pk]), {"note": "无预算"})
    item.refresh_from_db()
    assert item.owner is None and item.pool == pools["east"]


def test_owner_history_panel_and_release_partial_on_the_customer_page(client, org, users, pools):
    rep = users["rep"]
    c = CustomerFactory(name="戊公司", team=org["shanghai"])
    svc.claim(actor=rep, customer=c)
    login(client, rep)
    html = client.get(c.get_absolute_url()).content.decode()
    assert "Owner history" in html
    assert reverse("pools:release", args=[c.pk]) in html


# ---------------------------------------------------------------- allocate, reassign


def test_director_bulk_reassigns_with_history_and_audit(client, org, users, pools):
    a = CustomerFactory(team=org["shanghai"], owner=users["rep"])
    b = CustomerFactory(team=org["shanghai"], owner=users["rep"])
    login(client, users["director"])
    r = client.get(reverse("pools:reassign"), {"owner": users["rep"].pk})
    assert {c.pk for c in r.context["page"].object_list} == {a.pk, b.pk}
    r = client.post(reverse("pools:reassign"), {
        "ids": [a.pk, b.pk], "to_user": users["rep2"].pk, "note": "区域调整"}, follow=True)
    assert messages_of(r) == [f"2 given to {users['rep2']}."]
    changes = OwnerChange.objects.filter(reason=OwnerChangeReason.ASSIGN)
    assert sorted(changes.values_list("customer_id", flat=True)) == sorted([a.pk, b.pk])
    assert all(ch.note == "区域调整" and ch.by == users["director"]
               and ch.from_user == users["rep"] and ch.to_user == users["rep2"] for ch in changes)
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE,
                                     customer_id__in=[a.pk, b.pk]).count() == 2


def test_a_rep_cannot_reassign(client, org, users, pools):
    c = CustomerFactory(team=org["shanghai"], owner=users["rep"])
    login(client, users["rep"])
    assert client.get(reverse("pools:reassign")).status_code == 403
    r = client.post(reverse("pools:reassign"), {"ids": [c.pk], "to_user": users["rep2"].pk})
    assert r.status_code == 403
    assert client.post(reverse("pools:allocate"), {"ids": [c.pk], "to_user": users["rep"].pk,
                                                   "kind": "customers"}).status_code == 403
    c.refresh_from_db()
    assert c.owner == users["rep"] and not OwnerChange.objects.exists()


def test_manager_cannot_reassign_outside_the_subtree(client, org, users, pools):
    far = CustomerFactory(team=org["chongqing"], owner=users["rep2"])
    login(client, users["manager"])
    r = client.post(reverse("pools:reassign"), {"ids": [far.pk], "to_user": users["rep"].pk},
                    follow=True)
    assert r.status_code == 200
    far.refresh_from_db()
    assert far.owner == users["rep2"] and not OwnerChange.objects.exists()
    # The rep of another region is not offered as a target.
    assert users["rep2"] not in r.context["form"].fields["to_user"].queryset


def test_allocate_pool_leads_from_the_pool_page(client, org, users, pools):
    item = Lead.objects.create(company="己公司", team=org["shanghai"], pool=pools["east"])
    login(client, users["manager"])
    client.post(reverse("pools:allocate"), {"ids": [item.pk], "to_user": users["rep"].pk,
                                            "kind": "leads"})
    item.refresh_from_db()
    assert item.owner == users["rep"]
    assert OwnerChange.objects.get(lead=item).reason == OwnerChangeReason.ASSIGN


# ---------------------------------------------------------------- history


def test_history_is_filtered_and_scoped(client, org, users, pools):
    mine = CustomerFactory(name="庚公司", team=org["shanghai"])
    theirs = CustomerFactory(name="辛公司", team=org["chongqing"])
    svc.claim(actor=users["rep"], customer=mine)
    svc.claim(actor=users["rep2"], customer=theirs)
    login(client, users["rep"])
    r = client.get(reverse("pools:history"))
    assert [ch.customer_id for ch in r.context["page"].object_list] == [mine.pk]
    login(client, users["director"])
    r = client.get(reverse("pools:history"), {"user": users["rep2"].pk, "reason": "claim"})
    assert [ch.customer_id for ch in r.context["page"].object_list] == [theirs.pk]
    r = client.get(reverse("pools:history"), {"customer": "庚"})
    assert [ch.customer_id for ch in r.context["page"].object_list] == [mine.pk]


# ---------------------------------------------------------------- settings and auto-return


def test_pool_settings_by_director_only(client, org, users, pools):
    login(client, users["rep"])
    assert client.get(reverse("pools:settings")).status_code == 403
    assert client.post(reverse("pools:pool_edit", args=[pools["east"].pk]),
                       {"name": "x"}).status_code == 403
    login(client, users["director"])
    assert "华东公海" in client.get(reverse("pools:settings")).content.decode()
    assert client.get(reverse("pools:pool_create")).status_code == 200
    assert client.get(reverse("pools:pool_edit", args=[pools["east"].pk])).status_code == 200
    r = client.post(reverse("pools:pool_edit", args=[pools["east"].pk]), {
        "name": "华东公海", "team": org["east"].pk, "daily_claim_limit": 7,
        "return_after_days_without_contact": 15, "return_after_days_without_open_deal": 0,
        "active": "on"})
    assert r.status_code == 302
    pools["east"].refresh_from_db()
    assert (pools["east"].daily_claim_limit, pools["east"].return_after_days_without_contact,
            pools["east"].return_after_days_without_open_deal) == (7, 15, 0)
    entry = AuditEntry.objects.get(model="sales.pool", object_id=pools["east"].pk)
    assert entry.changes["daily_claim_limit"] == [2, 7]


def test_auto_return_button_for_admin(client, org, users, pools,
                                      django_capture_on_commit_callbacks):
    login(client, users["director"])
    assert client.post(reverse("pools:auto_return")).status_code == 403
    login(client, users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("pools:auto_return"))
    assert r.status_code == 302
    job = Job.objects.get(kind=svc.AUTO_RETURN)
    assert job.created_by == users["admin"] and job.result == {"returned": 0}
    html = client.get(reverse("pools:list")).content.decode()
    assert 'id="last-auto-return"' in html and "0 customers returned" in html
