"""Merging customers and undoing a merge (the services)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.activities import services as activity_services
from guanxi.activities.models import Interaction
from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditAction, AuditEntry
from guanxi.parties import services
from guanxi.parties.merge import Value, merge_customers, undo_blocker, undo_merge
from guanxi.parties.models import (
    Contact,
    Customer,
    CustomFieldDef,
    DuplicateCandidate,
    MergeRecord,
)
from guanxi.parties.normalize import name_block

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj)._base_manager.get(pk=obj.pk)


def ids_of(qs):
    return sorted(qs.values_list("pk", flat=True))


@pytest.fixture
def world(users):
    rep = users["rep"]
    keep = services.customer_create(actor=rep, name="上海清源水务有限公司", city="上海",
                                     phone="13800138000", tags=["重点", "水务"],
                                     notes="老客户")
    dup = services.customer_create(actor=rep, name="上海清源水務", city="上海",
                                   email="info@qingyuan.cn", tags=["水务", "展会"],
                                   notes="展会名片", shared_with=[users["manager"]])
    alive = services.contact_create(actor=rep, customer=dup, name="李娜", mobile="13900139000")
    gone = services.contact_create(actor=rep, customer=dup, name="赵强")
    services.contact_delete(actor=rep, contact=gone)
    own_contact = services.contact_create(actor=rep, customer=keep, name="王伟")
    earlier = timezone.now() - dt.timedelta(days=30)
    later = timezone.now() - dt.timedelta(days=2)
    activity_services.interaction_create(actor=rep, customer=keep, kind="call",
                                         occurred_at=earlier, subject="询价")
    calls = [
        activity_services.interaction_create(actor=rep, customer=fresh(dup), kind="visit",
                                             occurred_at=later, subject="拜访"),
        activity_services.interaction_create(actor=rep, customer=fresh(dup), kind="note",
                                             occurred_at=earlier, subject="备注"),
    ]
    pair = DuplicateCandidate.objects.create(first=keep, second=dup, score=60, reasons=["name"])
    return {"keep": fresh(keep), "dup": fresh(dup), "contacts": [alive, gone],
            "own_contact": own_contact, "calls": calls, "pair": pair, "later": later,
            "earlier": earlier}


def test_merge_moves_everything_and_undo_puts_it_back(users, world):
    keep, dup = world["keep"], world["dup"]
    contact_ids = sorted(c.pk for c in world["contacts"])
    call_ids = sorted(i.pk for i in world["calls"])
    keep_calls = ids_of(Interaction.all_objects.filter(customer=keep))
    audit_before = AuditEntry.objects.count()

    record = merge_customers(actor=users["rep"], survivor=keep, others=[dup],
                             values={"email": dup.pk, "notes": dup.pk},
                             versions={keep.pk: keep.version, dup.pk: dup.version})

    keep_after, dup_after = fresh(keep), fresh(dup)
    # Related rows (including the contact in the recycle bin) now hang off the survivor.
    assert ids_of(Contact.all_objects.filter(customer=keep)) == sorted(
        contact_ids + [world["own_contact"].pk])
    assert ids_of(Interaction.all_objects.filter(customer=keep)) == sorted(call_ids + keep_calls)
    assert record.moved == {
        "parties.contact": {"customer": {str(dup.pk): contact_ids}},
        "activities.interaction": {"customer": {str(dup.pk): call_ids}},
    }
    # Chosen values applied, tags and shares unioned, version bumped.
    assert keep_after.email == "info@qingyuan.cn" and keep_after.notes == "展会名片"
    assert keep_after.phone == "+8613800138000" and keep_after.name == "上海清源水务有限公司"
    assert sorted(keep_after.tags.values_list("name", flat=True)) == ["展会", "水务", "重点"]
    assert list(keep_after.shared_with.all()) == [users["manager"]]
    assert keep_after.version == keep.version + 1
    assert keep_after.last_contact_at == world["later"]
    assert "李娜" in keep_after.search_text
    # The other is in the recycle bin, pointing at the survivor.
    assert dup_after.deleted_at is not None and dup_after.merged_into_id == keep.pk
    assert dup_after.deleted_by == users["rep"] and dup_after.version == dup.version + 1
    assert not Customer.objects.filter(pk=dup.pk).exists()
    # One audit entry, on the survivor, shown on its history.
    entries = AuditEntry.objects.all()[: AuditEntry.objects.count() - audit_before]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.object_id, entry.customer_id) == (AuditAction.MERGE, keep.pk,
                                                                  keep.pk)
    assert entry.changes["merged"] == [None, [f"#{dup.pk} 上海清源水務"]]
    assert entry.changes["email"] == ["", "info@qingyuan.cn"]
    assert entry.changes["tags"][1] == ["展会", "水务", "重点"]
    assert fresh(world["pair"]).status == "merged"
    assert record.merged_ids == [dup.pk] and record.undone_at is None

    undo_merge(actor=users["rep"], record=record)

    keep_back, dup_back = fresh(keep), fresh(dup)
    assert ids_of(Contact.all_objects.filter(customer=dup)) == contact_ids
    assert ids_of(Contact.all_objects.filter(customer=keep)) == [world["own_contact"].pk]
    assert ids_of(Interaction.all_objects.filter(customer=dup)) == call_ids
    assert ids_of(Interaction.all_objects.filter(customer=keep)) == keep_calls
    assert Contact.all_objects.get(pk=world["contacts"][1].pk).deleted_at is not None
    assert keep_back.email == "" and keep_back.notes == "老客户"
    assert sorted(keep_back.tags.values_list("name", flat=True)) == ["水务", "重点"]
    assert list(keep_back.shared_with.all()) == []
    assert keep_back.version == keep.version + 2
    assert keep_back.last_contact_at == world["earlier"]
    assert "李娜" not in keep_back.search_text and "李娜" in dup_back.search_text
    assert dup_back.deleted_at is None and dup_back.merged_into_id is None
    assert dup_back.last_contact_at == world["later"]
    assert sorted(dup_back.tags.values_list("name", flat=True)) == ["展会", "水务"]
    assert fresh(world["pair"]).status == "open"
    record.refresh_from_db()
    assert record.undone_by == users["rep"] and record.undone_at is not None
    unmerge = AuditEntry.objects.filter(action=AuditAction.UNMERGE)
    assert unmerge.count() == 1 and unmerge[0].customer_id == keep.pk
    assert AuditEntry.objects.count() == audit_before + 2
    # Undo happens once.
    with pytest.raises(ValidationError):
        undo_merge(actor=users["rep"], record=record)


def test_undo_keeps_later_edits_and_later_rows(users, world):
    keep, dup = world["keep"], world["dup"]
    record = merge_customers(actor=users["rep"], survivor=keep, others=[dup],
                             values={"email": dup.pk, "notes": dup.pk})
    keep = services.customer_update(actor=users["rep"], customer=fresh(keep), version=None,
                                    notes="合并后改过")
    moved_contact = Contact.objects.get(pk=world["contacts"][0].pk)
    services.contact_update(actor=users["rep"], contact=moved_contact, version=None,
                            title="经理")
    services.contact_delete(actor=users["rep"], contact=moved_contact)
    new_call = activity_services.interaction_create(actor=users["rep"], customer=fresh(keep),
                                                    kind="call", subject="合并后")
    undo_merge(actor=users["rep"], record=record)
    keep = fresh(keep)
    assert keep.notes == "合并后改过"  # edited after the merge: the newer value stays
    assert keep.email == ""  # untouched since the merge: restored
    back = Contact.all_objects.get(pk=moved_contact.pk)
    assert back.customer_id == dup.pk and back.title == "经理" and back.deleted_at is not None
    assert Interaction.objects.get(pk=new_call.pk).customer_id == keep.pk
    assert keep.last_contact_at == new_call.occurred_at


def test_merging_several_and_literal_and_custom_values(users, world):
    CustomFieldDef.objects.create(key="capacity", label="产能", field_type="number")
    third = services.customer_create(actor=users["rep"], name="清源水务(上海)",
                                     custom={"capacity": "120"}, credit_days=30)
    record = merge_customers(
        actor=users["manager"], survivor=world["keep"], others=[world["dup"], third],
        values={"custom.capacity": third.pk, "credit_days": third.pk,
                "short_name": Value("清源"), "phone": world["dup"].pk, "name": third.pk})
    keep = fresh(world["keep"])
    assert keep.name == "清源水务(上海)"
    assert (keep.name_key, keep.name_block) == ("清源水务上海", name_block("上海", "清源水务上海"))
    assert keep.custom == {"capacity": 120}
    assert keep.credit_days == 30 and keep.short_name == "清源"
    assert keep.phone == "" and keep.phone_ext == ""  # taken from dup, which had none
    assert sorted(record.merged_ids) == sorted([world["dup"].pk, third.pk])
    assert fresh(third).merged_into_id == keep.pk
    undo_merge(actor=users["manager"], record=record)
    keep = fresh(keep)
    assert keep.custom == {} and keep.credit_days == 0 and keep.short_name == ""
    assert (keep.name, keep.name_key, keep.name_block) == (
        "上海清源水务有限公司", "上海清源水务", name_block("上海", "上海清源水务"))
    assert keep.phone == "+8613800138000"
    assert Customer.objects.filter(pk__in=[world["dup"].pk, third.pk]).count() == 2


def test_chosen_values_are_validated(users, world):
    with pytest.raises(ValidationError) as exc:
        merge_customers(actor=users["rep"], survivor=world["keep"], others=[world["dup"]],
                        values={"email": Value("not-an-email")})
    assert "email" in exc.value.message_dict
    with pytest.raises(ValidationError):
        merge_customers(actor=users["rep"], survivor=world["keep"], others=[world["dup"]],
                        values={"email": 999999})
    with pytest.raises(ValidationError):
        merge_customers(actor=users["rep"], survivor=world["keep"], others=[world["keep"]])
    assert fresh(world["dup"]).deleted_at is None and not MergeRecord.objects.exists()


def _unchanged(world, audit_count):
    assert fresh(world["dup"]).deleted_at is None
    assert Contact.all_objects.filter(customer=world["dup"]).count() == 2
    assert not MergeRecord.objects.exists()
    assert AuditEntry.objects.count() == audit_count
    assert fresh(world["pair"]).status == "open"


def test_rep_cannot_merge_a_colleagues_customer(users, world):
    theirs = services.customer_create(actor=users["rep2"], name="上海清源")
    pool = services.customer_create(actor=users["director"], name="清源水务")
    count = AuditEntry.objects.count()
    for other in (theirs, pool):
        with pytest.raises(PermissionDenied):
            merge_customers(actor=users["rep"], survivor=world["keep"],
                            others=[world["dup"], other])
    # Marketing may edit every customer but does not merge; readonly neither.
    for role in ("marketing", "readonly", "service"):
        with pytest.raises(PermissionDenied):
            merge_customers(actor=users[role], survivor=world["keep"], others=[world["dup"]])
    # rep2 can edit their own customer but not the rep's.
    with pytest.raises(PermissionDenied):
        merge_customers(actor=users["rep2"], survivor=theirs, others=[world["dup"]])
    _unchanged(world, count)


def test_manager_merges_within_the_team_not_outside(users, world):
    theirs = services.customer_create(actor=users["rep2"], name="重庆清源")
    count = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        merge_customers(actor=users["manager"], survivor=world["keep"], others=[theirs])
    _unchanged(world, count)
    merge_customers(actor=users["manager"], survivor=world["keep"], others=[world["dup"]])


def test_version_conflict_changes_nothing(users, world):
    keep, dup = world["keep"], world["dup"]
    services.customer_update(actor=users["manager"], customer=dup, version=dup.version,
                             city="苏州")
    count = AuditEntry.objects.count()
    with pytest.raises(ConflictError) as exc:
        merge_customers(actor=users["rep"], survivor=keep, others=[dup],
                        versions={keep.pk: keep.version, dup.pk: dup.version})
    assert exc.value.theirs[0]["changes"]["city"] == ["上海", "苏州"]
    _unchanged(world, count)


def test_undo_order_and_blockers(users, world):
    third = services.customer_create(actor=users["rep"], name="清源水务三号")
    first = merge_customers(actor=users["rep"], survivor=world["keep"], others=[world["dup"]])
    second = merge_customers(actor=users["rep"], survivor=world["keep"], others=[third])
    assert "later merge" in undo_blocker(first)
    with pytest.raises(ValidationError):
        undo_merge(actor=users["rep"], record=first)
    with pytest.raises(PermissionDenied):
        undo_merge(actor=users["rep2"], record=second)
    undo_merge(actor=users["rep"], record=second)
    assert undo_blocker(first) is None
    services.customer_delete(actor=users["rep"], customer=fresh(world["keep"]))
    assert "recycle bin" in undo_blocker(first)
    with pytest.raises(ValidationError):
        undo_merge(actor=users["admin"], record=first)


def test_a_merged_customer_cannot_be_merged_again(users, world):
    merge_customers(actor=users["rep"], survivor=world["keep"], others=[world["dup"]])
    other = services.customer_create(actor=users["rep"], name="另一个")
    with pytest.raises(ValidationError):
        merge_customers(actor=users["rep"], survivor=other, others=[fresh(world["dup"])])
