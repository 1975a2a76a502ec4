"""Leads in the pool: claim (one daily limit with customers), release, assign, pool_leads."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.core.models import AuditAction, AuditEntry
from guanxi.sales import pool as svc
from guanxi.sales.models import Lead, LeadStatus, OwnerChange, OwnerChangeReason, Pool
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 3, 10, 10, 0, tzinfo=SH)


@pytest.fixture
def pools(org):
    return {
        "company": Pool.objects.create(name="总公司公海", team=org["company"], daily_claim_limit=5),
        "east": Pool.objects.create(name="华东公海", team=org["east"], daily_claim_limit=2),
    }


def lead(**kw) -> Lead:
    kw.setdefault("company", "苏州恒通机械有限公司")
    return Lead.objects.create(**kw)


def test_claim_lead_sets_owner_since_history_and_audit(org, users, pools):
    rep = users["rep"]
    item = lead(team=org["shanghai"], pool=pools["east"])
    svc.claim_lead(actor=rep, lead=item, now=NOW)
    item.refresh_from_db()
    assert item.owner == rep and item.owner_since == NOW and item.version == 2
    change = OwnerChange.objects.get(lead=item)
    assert change.customer is None
    assert (change.reason, change.from_user, change.to_user, change.by, change.pool) == (
        OwnerChangeReason.CLAIM, None, rep, rep, pools["east"])
    entry = AuditEntry.objects.get(model="sales.lead", object_id=item.pk)
    assert entry.action == AuditAction.UPDATE and entry.changes["owner"] == [None, str(rep)]
    assert svc.claims_today(rep, NOW) == 1


def test_customer_and_lead_claims_share_one_daily_limit(org, users, pools):
    rep = users["rep"]
    svc.claim(actor=rep, customer=CustomerFactory(team=org["shanghai"]), now=NOW)
    svc.claim_lead(actor=rep, lead=lead(team=org["shanghai"]), now=NOW)
    third = lead(team=org["hangzhou"])
    with pytest.raises(ValidationError) as exc:
        svc.claim_lead(actor=rep, lead=third, now=NOW)
    assert exc.value.messages == [
        "You have claimed 2 customers and leads today; the limit is 2."]
    with pytest.raises(ValidationError):  # and a customer claim is refused as well
        svc.claim(actor=rep, customer=CustomerFactory(team=org["shanghai"]), now=NOW)
    third.refresh_from_db()
    assert third.owner is None and third.version == 1
    assert OwnerChange.objects.count() == 2


def test_claim_lead_refusals(org, users, pools):
    owned = lead(team=org["shanghai"], owner=users["rep"])
    with pytest.raises(PermissionDenied):  # another rep does not see it
        svc.claim_lead(actor=users["rep2"], lead=owned, now=NOW)
    with pytest.raises(ValidationError):
        svc.claim_lead(actor=users["manager"], lead=owned, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.claim_lead(actor=users["service"], lead=lead(team=org["shanghai"]), now=NOW)
    with pytest.raises(ValidationError):
        svc.claim_lead(actor=users["rep"], now=NOW,
                       lead=lead(team=org["shanghai"], status=LeadStatus.CONVERTED))
    assert not OwnerChange.objects.exists()


def test_release_lead_puts_it_into_its_pool(org, users, pools):
    rep = users["rep"]
    item = lead(team=org["shanghai"], owner=rep, owner_since=NOW)
    with pytest.raises(PermissionDenied):
        svc.release_lead(actor=users["rep2"], lead=item)
    svc.release_lead(actor=rep, lead=item, note="暂无预算", now=NOW)
    item.refresh_from_db()
    assert item.owner is None and item.owner_since is None and item.pool == pools["east"]
    change = OwnerChange.objects.get(lead=item)
    assert (change.reason, change.from_user, change.note) == (
        OwnerChangeReason.RELEASE, rep, "暂无预算")
    assert item in svc.pool_leads(users["rep2"], pools["east"])
    with pytest.raises(ValidationError):
        svc.release_lead(actor=rep, lead=item)


def test_assign_leads(org, users, pools):
    a = lead(team=org["shanghai"], pool=pools["east"])
    b = lead(team=org["chongqing"], owner=users["rep2"])
    with pytest.raises(PermissionDenied):
        svc.assign_leads(actor=users["rep"], leads=[a], to_user=users["rep"])
    with pytest.raises(PermissionDenied):  # b is outside the East manager's subtree
        svc.assign_leads(actor=users["manager"], leads=[a, b], to_user=users["rep"])
    assert not OwnerChange.objects.exists()

    assert svc.assign_leads(actor=users["director"], leads=[a, b], to_user=users["rep"],
                            note="调整", now=NOW) == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.owner == b.owner == users["rep"] and a.owner_since == NOW
    pools_used = dict(OwnerChange.objects.values_list("lead_id", "pool_id"))
    assert pools_used == {a.pk: pools["east"].pk, b.pk: None}
    assert AuditEntry.objects.filter(model="sales.lead").count() == 2


def test_pool_leads_lists_unowned_leads_of_the_subtree(org, users, pools):
    sh = lead(team=org["shanghai"], pool=pools["east"])
    cq = lead(team=org["chongqing"], pool=pools["company"])
    loose = lead(team=None, pool=None)
    lead(team=org["shanghai"], owner=users["rep"])  # owned
    lead(team=org["shanghai"], status=LeadStatus.CONVERTED)
    lead(team=org["shanghai"], deleted_at=NOW)
    assert set(svc.pool_leads(users["rep"], pools["east"])) == {sh}
    assert set(svc.pool_leads(users["rep"], pools["company"])) == {sh, cq, loose}


def test_pools_for_user(org, users, pools):
    west = Pool.objects.create(name="西南公海", team=org["west"])
    assert set(svc.pools_for_user(users["rep"])) == {pools["company"], pools["east"]}
    assert set(svc.pools_for_user(users["rep2"])) == {pools["company"], west}
    assert set(svc.pools_for_user(users["director"])) == {pools["company"], pools["east"], west}
    assert svc.pool_for_team(org["hangzhou"]) == pools["east"]
    assert svc.pool_for_team(None) == pools["company"]
