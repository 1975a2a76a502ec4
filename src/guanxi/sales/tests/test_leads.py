"""Lead services: normalisation, permissions, status changes, duplicates and conversion
into customer + contact + opportunity in one transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditAction, AuditEntry
from guanxi.core.registry import timeline_page
from guanxi.parties.models import Contact, Customer
from guanxi.sales import leads as svc
from guanxi.sales.models import (
    Lead,
    LeadStatus,
    Opportunity,
    OwnerChange,
    Pipeline,
    Pool,
    ProductLine,
    StageChange,
)
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def new_lead(actor, **kw) -> Lead:
    data = {"company": "重庆兴瑞环保有限公司", "name": "张伟", "phone": "138 0013 8000",
            "city": "重庆"}
    data.update(kw)
    return svc.lead_create(actor=actor, **data)


# --- create / normalise / permissions ----------------------------------------------------


def test_create_normalises_and_audits(users):
    lead = new_lead(users["rep"], company="重慶興瑞環保(集團)有限公司", phone="138-0013-8000",
                    email=" Zhang@XR.CN ", name="张伟")
    assert lead.phone == "+8613800138000"
    assert lead.email == "zhang@xr.cn"
    assert lead.name_key == "重庆兴瑞环保"
    assert lead.owner == users["rep"]  # a rep's lead is theirs
    assert lead.team == users["rep"].team
    entry = AuditEntry.objects.get(model="sales.lead", object_id=lead.pk)
    assert entry.action == AuditAction.CREATE
    assert entry.changes["phone"] == [None, "+8613800138000"]


def test_create_validation_is_keyed_by_field(users):
    with pytest.raises(ValidationError) as exc:
        svc.lead_create(actor=users["marketing"], company="", name="", phone="12")
    assert set(exc.value.message_dict) >= {"company", "phone"}
    assert not Lead.all_objects.exists()


@pytest.mark.parametrize("role", ["service", "finance", "readonly"])
def test_roles_that_may_not_create(users, role):
    with pytest.raises(PermissionDenied):
        new_lead(users[role])
    assert not Lead.all_objects.exists()


@pytest.mark.parametrize("role", ["admin", "director", "manager", "rep", "marketing"])
def test_roles_that_create(users, role):
    assert new_lead(users[role]).pk


def test_lead_without_owner_goes_to_its_teams_pool(users, org):
    company_pool = Pool.objects.create(name="总公司公海", team=org["company"])
    east_pool = Pool.objects.create(name="华东公海", team=org["east"])
    lead = new_lead(users["marketing"], team=org["shanghai"])
    assert lead.owner is None and lead.pool == east_pool
    lead2 = new_lead(users["marketing"], team=org["chongqing"], phone="13900139000")
    assert lead2.pool == company_pool


def test_rep_may_not_edit_pool_or_colleague_leads(users, org):
    pool_lead = new_lead(users["marketing"], team=org["shanghai"])
    assert pool_lead.owner is None
    with pytest.raises(PermissionDenied):
        svc.lead_update(actor=users["rep"], lead=pool_lead, version=pool_lead.version,
                        company="改名")
    other = new_lead(users["rep2"], phone="13900139000")
    with pytest.raises(PermissionDenied):
        svc.lead_qualify(actor=users["rep"], lead=other)
    pool_lead.refresh_from_db()
    assert pool_lead.company == "重庆兴瑞环保有限公司" and pool_lead.version == 1


def test_manager_edits_team_leads_only(users, org):
    in_team = new_lead(users["rep"])
    out_team = new_lead(users["rep2"], phone="13900139000")
    assert svc.lead_update(actor=users["manager"], lead=in_team, version=1,
                           title="总经理").title == "总经理"
    with pytest.raises(PermissionDenied):
        svc.lead_update(actor=users["manager"], lead=out_team, version=1, title="总经理")


def test_update_checks_version_and_audits(users):
    lead = new_lead(users["rep"])
    svc.lead_update(actor=users["rep"], lead=lead, version=1, city="成都")
    with pytest.raises(ConflictError):
        svc.lead_update(actor=users["rep"], lead=lead, version=1, city="重庆")
    lead.refresh_from_db()
    assert (lead.city, lead.version) == ("成都", 2)
    entry = AuditEntry.objects.filter(model="sales.lead", action=AuditAction.UPDATE).get()
    assert entry.changes == {"city": ["重庆", "成都"]}


def test_rep_cannot_reassign_but_manager_can(users):
    lead = new_lead(users["rep"])
    with pytest.raises(ValidationError) as exc:
        svc.lead_update(actor=users["rep"], lead=lead, version=1, owner=users["manager"])
    assert "owner" in exc.value.message_dict
    svc.lead_update(actor=users["manager"], lead=lead, version=1, owner=None)
    lead.refresh_from_db()
    assert lead.owner is None
    assert OwnerChange.objects.filter(lead=lead, to_user=None).exists()


def test_delete_is_soft(users):
    lead = new_lead(users["rep"])
    svc.lead_delete(actor=users["rep"], lead=lead)
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert Lead.all_objects.get(pk=lead.pk).deleted_at is not None


# --- status ------------------------------------------------------------------------------


def test_qualify_disqualify_reopen(users):
    lead = new_lead(users["rep"])
    with pytest.raises(ValidationError) as exc:
        svc.lead_disqualify(actor=users["rep"], lead=lead, reason=" ")
    assert "unqualified_reason" in exc.value.message_dict
    lead = svc.lead_disqualify(actor=users["rep"], lead=lead, reason="没有预算")
    assert (lead.status, lead.unqualified_reason) == (LeadStatus.UNQUALIFIED, "没有预算")
    with pytest.raises(ValidationError):
        svc.lead_convert(actor=users["rep"], lead=lead)
    lead = svc.lead_reopen(actor=users["rep"], lead=lead)
    assert (lead.status, lead.unqualified_reason) == (LeadStatus.WORKING, "")
    lead = svc.lead_qualify(actor=users["rep"], lead=lead, version=lead.version)
    assert lead.status == LeadStatus.QUALIFIED


# --- duplicates --------------------------------------------------------------------------


def test_duplicates_by_name_phone_email_and_near_name(users, org):
    same_name = CustomerFactory(name="重庆兴瑞环保有限公司", name_key="重庆兴瑞环保", city="重庆")
    same_phone = CustomerFactory(name="别的公司", name_key="别的", phone="+8613800138000")
    same_mail = CustomerFactory(name="第三家", name_key="第三家", email="zhang@xr.cn")
    near = CustomerFactory(name="重庆兴瑞环保科技有限公司", name_key="重庆兴瑞环保科技",
                           city="重庆")
    CustomerFactory(name="完全无关贸易", name_key="完全无关贸易")
    lead = new_lead(users["admin"], company="重慶興瑞環保(集團)有限公司",
                    email="zhang@xr.cn")
    found = {d["customer"].pk: d["codes"] for d in svc.duplicates_for_lead(users["admin"], lead)}
    assert found[same_name.pk] == ["name"]
    assert found[same_phone.pk] == ["phone"]
    assert found[same_mail.pk] == ["email"]
    assert found[near.pk] == ["similar_name"]
    assert len(found) == 4


def test_duplicates_only_among_visible_customers(users, org):
    hidden = CustomerFactory(name="重庆兴瑞环保有限公司", name_key="重庆兴瑞环保",
                             owner=users["rep2"], team=org["chongqing"])
    lead = new_lead(users["rep"])
    assert svc.duplicates_for_lead(users["rep"], lead) == []
    assert [d["customer"] for d in svc.duplicates_for_lead(users["director"], lead)] == [hidden]


# --- conversion --------------------------------------------------------------------------


def test_convert_creates_customer_contact_opportunity(users):
    pl = ProductLine.objects.create(code="env", name="环保设备")
    lead = new_lead(users["rep"], email="zhang@xr.cn", estimated_amount=Decimal(50000),
                    product_line=pl, source="website", title="采购经理", consent=True)
    lead = svc.lead_convert(actor=users["rep"], lead=lead,
                            opportunity={"name": "污水处理设备"})
    customer, contact, opp = (lead.converted_customer, lead.converted_contact,
                              lead.converted_opportunity)
    assert lead.status == LeadStatus.CONVERTED and lead.converted_by == users["rep"]
    assert (customer.name, customer.phone, customer.owner, customer.source) == (
        "重庆兴瑞环保有限公司", "+8613800138000", users["rep"], "website")
    assert customer.consent_phone
    assert (contact.customer, contact.name, contact.mobile, contact.title) == (
        customer, "张伟", "+8613800138000", "采购经理")
    assert (opp.customer, opp.name, opp.amount, opp.product_line, opp.contact) == (
        customer, "污水处理设备", Decimal("50000.00"), pl, contact)
    assert Opportunity.objects.get(pk=opp.pk).lead_id == lead.pk
    actions = set(AuditEntry.objects.filter(customer_id=customer.pk)
                  .values_list("model", "action"))
    assert {("parties.customer", "create"), ("parties.contact", "create"),
            ("sales.opportunity", "create"), ("sales.lead", "update")} <= actions
    # The customer's timeline shows the creation from the lead and the new deal.
    entries, _cursor = timeline_page(customer=customer, user=users["rep"])
    kinds = [e.kind for e in entries]
    assert "lead" in kinds and "deal" in kinds
    assert any("重庆兴瑞环保有限公司" in e.title and e.kind == "lead" for e in entries)


def test_convert_without_opportunity(users):
    lead = svc.lead_convert(actor=users["rep"], lead=new_lead(users["rep"]),
                            create_opportunity=False)
    assert lead.converted_opportunity is None
    assert not Opportunity.objects.exists()
    assert lead.converted_customer.stage == "prospect"


def test_convert_attaches_to_duplicate_in_traditional_script(users, org):
    existing = CustomerFactory(name="重庆兴瑞环保有限公司", name_key="重庆兴瑞环保",
                               owner=users["rep"], team=org["shanghai"])
    lead = new_lead(users["rep"], company="重慶興瑞環保(集團)有限公司")
    [dup] = svc.duplicates_for_lead(users["rep"], lead)
    assert dup["customer"] == existing
    lead = svc.lead_convert(actor=users["rep"], lead=lead, customer=dup["customer"])
    assert lead.converted_customer == existing
    assert Customer.objects.count() == 1
    assert lead.converted_contact.customer == existing
    assert lead.converted_opportunity.customer == existing
    entries, _cursor = timeline_page(customer=existing, user=users["rep"])
    assert any(e.kind == "lead" and "added" in e.title for e in entries)


def test_convert_reuses_existing_contact_of_attached_customer(users, org):
    existing = CustomerFactory(name="兴瑞", owner=users["rep"])
    contact = Contact.objects.create(customer=existing, name="张伟", mobile="+8613800138000")
    lead = svc.lead_convert(actor=users["rep"], lead=new_lead(users["rep"]), customer=existing)
    assert lead.converted_contact == contact
    assert Contact.objects.count() == 1


def test_convert_refuses_customer_the_actor_may_not_edit(users, org):
    theirs = CustomerFactory(name="重庆兴瑞环保有限公司", owner=users["rep2"])
    lead = new_lead(users["rep"])
    with pytest.raises(PermissionDenied):
        svc.lead_convert(actor=users["rep"], lead=lead, customer=theirs)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and not Opportunity.objects.exists()


def test_convert_is_atomic(users):
    """A failing opportunity (no active pipeline) leaves no customer, contact or change."""
    Pipeline.objects.update(active=False)
    lead = new_lead(users["rep"])
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        svc.lead_convert(actor=users["rep"], lead=lead)
    assert not Customer.all_objects.exists()
    assert not Contact.all_objects.exists()
    assert not StageChange.objects.exists()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and lead.converted_customer_id is None
    assert lead.version == 1
    assert AuditEntry.objects.count() == audits


def test_convert_twice_is_refused(users):
    lead = svc.lead_convert(actor=users["rep"], lead=new_lead(users["rep"]))
    with pytest.raises(ValidationError):
        svc.lead_convert(actor=users["rep"], lead=lead)
    assert Customer.objects.count() == 1


def test_rep_may_not_convert_pool_lead(users, org):
    lead = new_lead(users["marketing"], team=org["shanghai"])
    with pytest.raises(PermissionDenied):
        svc.lead_convert(actor=users["rep"], lead=lead)
    assert not Customer.all_objects.exists()


def test_marketing_converts_pool_lead_into_pool_customer(users, org):
    lead = new_lead(users["marketing"], team=org["shanghai"])
    lead = svc.lead_convert(actor=users["marketing"], lead=lead)
    assert lead.converted_customer.owner is None
    assert lead.converted_customer.team == org["shanghai"]


def test_web_form_submission(users, org):
    from guanxi.sales.models import LeadForm

    form = LeadForm.objects.create(name="官网", key="site", source="website", campaign="春季",
                                   team=org["shanghai"])
    lead = svc.lead_submit(form=form, submitted_ip="10.0.0.1", name="李雷",
                           phone="13900139000", consent=True, owner=users["admin"])
    assert (lead.source, lead.campaign, lead.team, lead.form) == ("website", "春季",
                                                                  org["shanghai"], form)
    assert lead.owner is None  # not taken from the visitor's data
    assert str(lead.submitted_ip) == "10.0.0.1" and lead.consent
    assert AuditEntry.objects.get(model="sales.lead", object_id=lead.pk).actor is None
