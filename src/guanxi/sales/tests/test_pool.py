"""The customer pool (公海): pool_for, claiming with a daily limit, releasing, assigning
and the automatic return of neglected customers, with a controllable clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.core.models import AuditAction, AuditEntry, JobStatus
from guanxi.sales import pool as svc
from guanxi.sales.models import (
    Opportunity,
    OpportunityStatus,
    OwnerChange,
    OwnerChangeReason,
    Pipeline,
    Pool,
)
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 3, 10, 10, 0, tzinfo=SH)


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


@pytest.fixture
def pools(org):
    """A company-wide pool and an East-region pool (Shanghai and Hangzhou have none)."""
    return {
        "company": Pool.objects.create(name="总公司公海", team=org["company"], daily_claim_limit=5,
                                       return_after_days_without_contact=30,
                                       return_after_days_without_open_deal=90),
        "east": Pool.objects.create(name="华东公海", team=org["east"], daily_claim_limit=2,
                                    return_after_days_without_contact=30,
                                    return_after_days_without_open_deal=90),
    }


def owned(user, *, team, since: dt.datetime, last_contact: dt.datetime | None = None, **kw):
    """A customer the user got at `since` (created long before), last contacted at `last_contact`."""
    c = CustomerFactory(team=team, owner=user, last_contact_at=last_contact,
                        created_at=days_ago(400), **kw)
    OwnerChange.objects.create(customer=c, to_user=user, reason=OwnerChangeReason.CLAIM, by=user,
                               at=since)
    return c


def deal(customer, *, status=OpportunityStatus.OPEN, closed_on=None, deleted=False):
    pipeline = Pipeline.objects.get(is_default=True)
    return Opportunity.objects.create(
        customer=customer, name="设备采购", pipeline=pipeline, stage=pipeline.stages.first(),
        status=status, closed_on=closed_on, deleted_at=NOW if deleted else None)


# --- pool_for / pool_customers ----------------------------------------------------------


def test_pool_for_picks_the_nearest_active_ancestor(org, pools):
    assert svc.pool_for(CustomerFactory(team=org["shanghai"])) == pools["east"]
    assert svc.pool_for(CustomerFactory(team=org["east"])) == pools["east"]
    assert svc.pool_for(CustomerFactory(team=org["chongqing"])) == pools["company"]
    assert svc.pool_for(CustomerFactory(team=None)) == pools["company"]

    shanghai = Pool.objects.create(name="上海公海", team=org["shanghai"])
    assert svc.pool_for(CustomerFactory(team=org["shanghai"])) == shanghai
    assert svc.pool_for(CustomerFactory(team=org["hangzhou"])) == pools["east"]

    Pool.objects.filter(pk__in=[shanghai.pk, pools["east"].pk]).update(active=False)
    assert svc.pool_for(CustomerFactory(team=org["shanghai"])) == pools["company"]


def test_pool_for_without_any_pool_is_none(org):
    assert svc.pool_for(CustomerFactory(team=org["shanghai"])) is None
    assert svc.pool_for(CustomerFactory(team=None)) is None


def test_pool_customers_lists_unowned_customers_of_the_subtree(org, users, pools):
    sh = CustomerFactory(team=org["shanghai"])
    hz = CustomerFactory(team=org["hangzhou"])
    CustomerFactory(team=org["shanghai"], owner=users["rep"])  # owned
    CustomerFactory(team=org["shanghai"], deleted_at=NOW)  # recycle bin
    cq = CustomerFactory(team=org["chongqing"])
    loose = CustomerFactory(team=None)

    assert set(svc.pool_customers(users["rep"], pools["east"])) == {sh, hz}
    assert set(svc.pool_customers(users["rep2"], pools["east"])) == {sh, hz}
    assert set(svc.pool_customers(users["director"], pools["company"])) == {sh, hz, cq, loose}
    inactive = users["rep"]
    inactive.is_active = False
    assert not svc.pool_customers(inactive, pools["east"]).exists()


# --- claim --------------------------------------------------------------------------------


def test_claim_sets_owner_team_version_history_and_audit(org, users, pools):
    rep = users["rep"]
    c = CustomerFactory(team=None)
    version = c.version

    svc.claim(actor=rep, customer=c, now=NOW)

    c.refresh_from_db()
    assert c.owner == rep and c.team == org["shanghai"] and c.version == version + 1
    change = OwnerChange.objects.get(customer=c)
    assert (change.reason, change.from_user, change.to_user, change.by, change.pool, change.at) == (
        OwnerChangeReason.CLAIM, None, rep, rep, pools["company"], NOW)
    entry = AuditEntry.objects.get(customer_id=c.pk)
    assert entry.action == AuditAction.UPDATE and entry.actor == rep
    assert entry.changes["owner"] == [None, str(rep)]
    assert entry.changes["team"] == [None, str(org["shanghai"])]
    assert entry.version == version + 1
    assert svc.claims_today(rep, NOW) == 1


def test_claim_keeps_the_customers_own_team(org, users, pools):
    c = CustomerFactory(team=org["hangzhou"])
    svc.claim(actor=users["rep"], customer=c, now=NOW)
    c.refresh_from_db()
    assert c.team == org["hangzhou"]
    assert "team" not in AuditEntry.objects.get(customer_id=c.pk).changes


def test_daily_claim_limit_is_enforced_and_resets_at_local_midnight(org, users, pools):
    rep = users["rep"]
    late = dt.datetime(2025, 3, 10, 23, 50, tzinfo=SH)
    first, second, third = (CustomerFactory(team=org["shanghai"]) for _ in range(3))
    svc.claim(actor=rep, customer=first, now=NOW)
    svc.claim(actor=rep, customer=second, now=late)
    assert svc.claims_today(rep, late) == 2

    with pytest.raises(ValidationError) as exc:
        svc.claim(actor=rep, customer=third, now=late)
    assert exc.value.messages == ["You have claimed 2 customers today; the limit is 2."]
    third.refresh_from_db()
    assert third.owner is None and third.version == 1
    assert not OwnerChange.objects.filter(customer=third).exists()
    assert not AuditEntry.objects.filter(customer_id=third.pk).exists()

    next_day = dt.datetime(2025, 3, 11, 0, 5, tzinfo=SH)  # 16:05 UTC on the 10th
    assert svc.claims_today(rep, next_day) == 0
    svc.claim(actor=rep, customer=third, now=next_day)
    third.refresh_from_db()
    assert third.owner == rep
    # Another rep has a limit of their own.
    assert svc.claims_today(users["manager"], late) == 0


def test_claiming_an_owned_customer_is_refused(org, users, pools):
    c = CustomerFactory(team=org["shanghai"], owner=users["rep"])
    with pytest.raises(PermissionDenied):  # another rep does not even see it
        svc.claim(actor=users["rep2"], customer=c, now=NOW)
    with pytest.raises(ValidationError) as exc:  # the manager sees it, but it has an owner
        svc.claim(actor=users["manager"], customer=c, now=NOW)
    assert exc.value.messages == ["This customer already has an owner."]
    with pytest.raises(ValidationError):  # nor can the owner claim it again
        svc.claim(actor=users["rep"], customer=c, now=NOW)
    c.refresh_from_db()
    assert c.owner == users["rep"] and c.version == 1
    assert not OwnerChange.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["service", "marketing", "finance", "readonly"])
def test_roles_that_do_not_own_customers_cannot_claim(org, users, pools, role):
    c = CustomerFactory(team=org["shanghai"])
    with pytest.raises(PermissionDenied):
        svc.claim(actor=users[role], customer=c, now=NOW)
    c.refresh_from_db()
    assert c.owner is None


@pytest.mark.parametrize("role", ["admin", "director", "manager", "rep"])
def test_owner_roles_can_claim(org, users, pools, role):
    c = CustomerFactory(team=org["shanghai"])
    svc.claim(actor=users[role], customer=c, now=NOW)
    c.refresh_from_db()
    assert c.owner == users[role]


def test_a_deleted_customer_cannot_be_claimed(org, users, pools):
    c = CustomerFactory(team=org["shanghai"], deleted_at=NOW)
    with pytest.raises(PermissionDenied):
        svc.claim(actor=users["rep"], customer=c, now=NOW)
    assert not OwnerChange.objects.exists()


# --- release --------------------------------------------------------------------------------


def test_the_owner_releases_a_customer_to_the_pool(org, users, pools):
    rep = users["rep"]
    c = CustomerFactory(team=org["shanghai"], owner=rep)
    svc.release(actor=rep, customer=c, note="客户暂无需求", now=NOW)
    c.refresh_from_db()
    assert c.owner is None and c.version == 2
    change = OwnerChange.objects.get(customer=c)
    assert (change.reason, change.from_user, change.to_user, change.by, change.pool, change.note) == (
        OwnerChangeReason.RELEASE, rep, None, rep, pools["east"], "客户暂无需求")
    entry = AuditEntry.objects.get(customer_id=c.pk)
    assert entry.action == AuditAction.UPDATE and entry.changes == {"owner": [str(rep), None]}
    assert c in svc.pool_customers(users["rep2"], pools["east"])


def test_release_permissions(org, users, pools):
    c = CustomerFactory(team=org["shanghai"], owner=users["rep"])
    for actor in (users["rep2"], users["service"], users["marketing"]):
        with pytest.raises(PermissionDenied):
            svc.release(actor=actor, customer=c)
    far = CustomerFactory(team=org["chongqing"], owner=users["rep2"])
    with pytest.raises(PermissionDenied):  # outside the East manager's subtree
        svc.release(actor=users["manager"], customer=far)
    assert not OwnerChange.objects.exists()

    svc.release(actor=users["manager"], customer=c)
    svc.release(actor=users["director"], customer=far)
    assert OwnerChange.objects.filter(reason=OwnerChangeReason.RELEASE).count() == 2

    with pytest.raises(ValidationError):  # already in the pool
        svc.release(actor=users["director"], customer=far)


# --- assign -----------------------------------------------------------------------------------


def test_director_assigns_any_customers(org, users, pools):
    rep2 = users["rep2"]
    a = CustomerFactory(team=org["shanghai"], owner=users["rep"])
    b = CustomerFactory(team=None)
    already = CustomerFactory(team=org["chongqing"], owner=rep2)

    n = svc.assign(actor=users["director"], customers=[a, b, already], to_user=rep2,
                   note="区域调整", now=NOW)

    assert n == 2
    for c in (a, b, already):
        c.refresh_from_db()
        assert c.owner == rep2
    assert b.team == org["chongqing"]
    changes = {ch.customer_id: ch for ch in OwnerChange.objects.all()}
    assert set(changes) == {a.pk, b.pk}
    assert changes[a.pk].from_user == users["rep"] and changes[a.pk].pool is None
    assert changes[b.pk].pool == pools["company"]  # came from the pool
    assert all(ch.reason == OwnerChangeReason.ASSIGN and ch.by == users["director"]
               and ch.note == "区域调整" for ch in changes.values())
    entries = AuditEntry.objects.filter(action=AuditAction.UPDATE)
    assert sorted(e.customer_id for e in entries) == sorted([a.pk, b.pk])
    assert AuditEntry.objects.get(customer_id=a.pk).changes["owner"] == [str(users["rep"]),
                                                                          str(rep2)]


def test_manager_assigns_within_the_subtree(org, users, pools):
    mine = [CustomerFactory(team=org["shanghai"]), CustomerFactory(team=org["hangzhou"])]
    assert svc.assign(actor=users["manager"], customers=mine, to_user=users["rep"]) == 2
    assert OwnerChange.objects.filter(reason=OwnerChangeReason.ASSIGN).count() == 2


def test_manager_outside_the_subtree_is_refused_and_nothing_is_written(org, users, pools):
    inside = CustomerFactory(team=org["shanghai"])
    outside = CustomerFactory(team=org["chongqing"], owner=users["rep2"])
    with pytest.raises(PermissionDenied):
        svc.assign(actor=users["manager"], customers=[inside, outside], to_user=users["rep"])
    with pytest.raises(PermissionDenied):  # target user outside the subtree
        svc.assign(actor=users["manager"], customers=[inside], to_user=users["rep2"])
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert inside.owner is None and outside.owner == users["rep2"]
    assert (inside.version, outside.version) == (1, 1)
    assert not OwnerChange.objects.exists() and not AuditEntry.objects.exists()


def test_assign_refusals(org, users, pools):
    c = CustomerFactory(team=org["shanghai"])
    with pytest.raises(PermissionDenied):  # reps do not assign
        svc.assign(actor=users["rep"], customers=[c], to_user=users["rep"])
    with pytest.raises(ValidationError):  # a service agent does not own customers
        svc.assign(actor=users["director"], customers=[c], to_user=users["service"])
    gone = CustomerFactory(team=org["shanghai"], deleted_at=NOW)
    with pytest.raises(PermissionDenied):
        svc.assign(actor=users["admin"], customers=[c, gone], to_user=users["rep"])
    assert not OwnerChange.objects.exists() and not AuditEntry.objects.exists()
    assert svc.assign(actor=users["admin"], customers=[], to_user=users["rep"]) == 0


# --- automatic return -------------------------------------------------------------------------


def test_auto_return_after_no_follow_up(org, users, pools):
    rep = users["rep"]
    sh = org["shanghai"]
    neglected = owned(rep, team=sh, since=days_ago(60), last_contact=days_ago(40))
    never_contacted = owned(rep, team=sh, since=days_ago(31))
    contacted = owned(rep, team=sh, since=days_ago(60), last_contact=days_ago(5))
    just_claimed = owned(rep, team=sh, since=days_ago(10))  # created 400 days ago
    claimed_old_contact = owned(rep, team=sh, since=days_ago(3), last_contact=days_ago(100))
    for c in (neglected, never_contacted, contacted, just_claimed, claimed_old_contact):
        deal(c)  # the deal rule does not apply here

    assert set(svc.due_for_return(NOW)) == {neglected, never_contacted}
    assert set(svc.due_for_return(days_ago(5))) == {neglected}  # the clock is `now`
    assert svc.auto_return(NOW) == 2

    for c in (neglected, never_contacted):
        c.refresh_from_db()
        assert c.owner is None and c.version == 2
        change = OwnerChange.objects.get(customer=c, reason=OwnerChangeReason.AUTO_RETURN)
        assert (change.from_user, change.to_user, change.by, change.pool, change.at) == (
            rep, None, None, pools["east"], NOW)
        assert change.note == "No follow-up for 30 days"
        entry = AuditEntry.objects.get(customer_id=c.pk)
        assert entry.actor is None and entry.action == AuditAction.UPDATE
        assert entry.changes == {"owner": [str(rep), None]} and entry.version == 2
    for c in (contacted, just_claimed, claimed_old_contact):
        c.refresh_from_db()
        assert c.owner == rep
    assert svc.auto_return(NOW) == 0  # idempotent


def test_auto_return_without_an_open_deal(org, users, pools):
    rep = users["rep"]
    sh = org["shanghai"]
    recent = days_ago(2)  # every one was followed up lately
    no_deal = owned(rep, team=sh, since=days_ago(100), last_contact=recent)
    old_lost = owned(rep, team=sh, since=days_ago(100), last_contact=recent)
    deal(old_lost, status=OpportunityStatus.LOST, closed_on=days_ago(200).date())
    deleted_open = owned(rep, team=sh, since=days_ago(100), last_contact=recent)
    deal(deleted_open, deleted=True)
    with_open = owned(rep, team=sh, since=days_ago(100), last_contact=recent)
    deal(with_open)
    won_lately = owned(rep, team=sh, since=days_ago(100), last_contact=recent)
    deal(won_lately, status=OpportunityStatus.WON, closed_on=days_ago(10).date())
    young = owned(rep, team=sh, since=days_ago(80), last_contact=recent)

    assert set(svc.due_for_return(NOW)) == {no_deal, old_lost, deleted_open}
    assert svc.auto_return(NOW) == 3
    notes = set(OwnerChange.objects.filter(reason=OwnerChangeReason.AUTO_RETURN)
                .values_list("note", flat=True))
    assert notes == {"No open opportunity for 90 days"}
    for c in (with_open, won_lately, young):
        c.refresh_from_db()
        assert c.owner == rep
    # Ten days later the young one has also gone 90 days without a deal.
    assert set(svc.due_for_return(NOW + dt.timedelta(days=11))) == {young}


def test_auto_return_uses_the_rules_of_the_nearest_pool(org, users, pools):
    Pool.objects.create(name="上海公海", team=org["shanghai"], return_after_days_without_contact=10,
                        return_after_days_without_open_deal=0)  # deal rule off
    sh = owned(users["rep"], team=org["shanghai"], since=days_ago(200), last_contact=days_ago(15))
    hz = owned(users["rep"], team=org["hangzhou"], since=days_ago(200), last_contact=days_ago(15))
    deal(hz)
    cq = owned(users["rep2"], team=org["chongqing"], since=days_ago(60), last_contact=days_ago(35))
    loose = owned(users["rep2"], team=None, since=days_ago(60), last_contact=days_ago(35))
    assert set(svc.due_for_return(NOW)) == {sh, cq, loose}
    assert svc.auto_return(NOW, batch_size=1) == 3
    pools_used = dict(OwnerChange.objects.filter(reason=OwnerChangeReason.AUTO_RETURN)
                      .values_list("customer_id", "pool__name"))
    assert pools_used == {sh.pk: "上海公海", cq.pk: "总公司公海", loose.pk: "总公司公海"}


def test_no_pool_no_auto_return(org, users):
    owned(users["rep"], team=org["shanghai"], since=days_ago(500))
    assert not svc.due_for_return(NOW).exists()
    assert svc.auto_return(NOW) == 0


def test_auto_return_reports_progress_in_batches(org, users, pools):
    for _ in range(3):
        owned(users["rep"], team=org["shanghai"], since=days_ago(60))
    seen = []
    assert svc.auto_return(NOW, batch_size=2, progress=lambda d, t: seen.append((d, t))) == 3
    assert seen == [(2, 3), (3, 3)]


def test_auto_return_job(org, users, pools, django_capture_on_commit_callbacks):
    c = owned(users["rep"], team=org["shanghai"], since=days_ago(60))
    with django_capture_on_commit_callbacks(execute=True):
        job = svc.start_auto_return(now=NOW)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.kind == svc.AUTO_RETURN
    assert job.result == {"returned": 1}
    c.refresh_from_db()
    assert c.owner is None
    assert timezone.is_aware(OwnerChange.objects.get(reason="auto_return").at)
