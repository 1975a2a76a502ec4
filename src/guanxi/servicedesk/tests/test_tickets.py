"""Ticket services: routing by type, assignment rules, replies vs internal notes (mail),
the first-response stamp, status transitions, merging, complaints, conflicts, and that a
refused write changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.accounts.models import Role
from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.sales.models import Product, ProductLine
from guanxi.servicedesk import hooks, services
from guanxi.servicedesk.models import (
    Asset,
    Complaint,
    FieldVisit,
    Queue,
    Survey,
    Ticket,
    TicketMessage,
    TicketType,
    TimeEntry,
)
from guanxi.testing.factories import ContactFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a Tuesday


def ttype(code: str) -> TicketType:
    return TicketType.objects.select_related("queue").get(code=code)


def queue(code: str) -> Queue:
    return Queue.objects.get(code=code)


@pytest.fixture
def desk(users, org):
    """An engineer in the engineering queue (its default assignee), a customer of the
    Shanghai rep with a contact, and one of the Chongqing rep."""
    engineer = UserFactory(username="engineer", display_name="王工", role=Role.MANAGER,
                           team=org["company"], email="wang@example.com")
    eng = queue("engineering")
    eng.members.add(engineer)
    eng.default_assignee = engineer
    eng.save()
    customer = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"],
                               tier="A", email="info@qingyuan.example")
    contact = ContactFactory(customer=customer, name="李经理", email="li@qingyuan.example")
    other = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"])
    return {"engineer": engineer, "customer": customer, "contact": contact, "other": other,
            "eng": eng}


def fault(desk, actor, **kw):
    data = {"actor": actor, "customer": desk["customer"], "type": ttype("equipment_fault"),
            "subject": "反渗透设备压力报警", "contact": desk["contact"], "now": NOW}
    data.update(kw)
    return services.ticket_create(**data)


# ---------------------------------------------------------------- create and routing


def test_equipment_fault_routes_to_engineering_and_its_default_assignee(users, desk):
    t = fault(desk, users["service"])
    assert t.queue.code == "engineering"
    assert t.assignee == desk["engineer"]
    assert t.status == "open"
    assert t.priority == "high"  # the type's default
    assert t.created_by == users["service"]
    assert t.created_at == NOW
    # The SLA clock started (tier A, high: first response within 2 business hours).
    assert t.sla_policy is not None and t.first_response_due_at is not None
    assert t.first_response_due_at > NOW
    system = TicketMessage.objects.get(ticket=t)
    assert system.kind == "system" and "工程部" in system.body
    entry = AuditEntry.objects.get(model="servicedesk.ticket", object_id=t.pk, action="create")
    assert entry.customer_id == desk["customer"].pk
    assert t.reference == f"T{t.pk:06d}"


def test_type_without_default_assignee_stays_new_in_its_queue(users, desk):
    t = fault(desk, users["rep"], type=ttype("payment"), subject="发票什么时候开")
    assert t.queue.code == "finance"
    assert t.assignee is None
    assert t.status == "new"
    assert t.priority == "normal"
    t2 = fault(desk, users["rep"], type=ttype("system_fault"), priority="urgent")
    assert t2.queue.code == "systems" and t2.priority == "urgent"


def test_a_given_assignee_must_work_the_queue(users, desk):
    with pytest.raises(ValidationError) as exc:
        fault(desk, users["service"], type=ttype("payment"), assignee=desk["engineer"])
    assert "assignee" in exc.value.message_dict
    assert not Ticket.all_objects.exists()
    # Desk staff work every queue.
    t = fault(desk, users["service"], type=ttype("payment"), assignee=users["service"])
    assert t.assignee == users["service"] and t.status == "open"


def test_links_must_belong_to_the_customer_and_product_comes_from_the_asset(users, desk):
    foreign = ContactFactory(customer=desk["other"], name="外人")
    with pytest.raises(ValidationError) as exc:
        fault(desk, users["service"], contact=foreign)
    assert "contact" in exc.value.message_dict
    their_asset = Asset.objects.create(customer=desk["other"], name="设备")
    with pytest.raises(ValidationError) as exc:
        fault(desk, users["service"], asset=their_asset)
    assert "asset" in exc.value.message_dict
    assert not Ticket.all_objects.exists()

    line = ProductLine.objects.create(code="water", name="水处理")
    product = Product.objects.create(product_line=line, code="RO-500", name="RO-500",
                                     unit_price=Decimal(1))
    asset = Asset.objects.create(customer=desk["customer"], name="纯水机", product=product,
                                 serial_number="SN-1")
    t = fault(desk, users["service"], asset=asset)
    assert t.product == product


def test_subject_is_required(users, desk):
    with pytest.raises(ValidationError) as exc:
        fault(desk, users["service"], subject="  ")
    assert "subject" in exc.value.message_dict


def test_who_may_open_a_ticket(users, desk):
    with pytest.raises(PermissionDenied):
        fault(desk, users["readonly"])
    with pytest.raises(PermissionDenied):  # rep2 does not see the Shanghai customer
        fault(desk, users["rep2"])
    assert not Ticket.all_objects.exists()
    assert fault(desk, users["rep"]).pk  # the rep picks up the phone: one point of contact


def test_complaint_type_gets_its_complaint_row(users, desk):
    t = fault(desk, users["service"], type=ttype("complaint"), subject="响应太慢")
    complaint = Complaint.objects.get(ticket=t)
    assert complaint.severity == "minor"
    assert t.queue.code == "customer_service"
    plain = fault(desk, users["service"])
    assert not Complaint.objects.filter(ticket=plain).exists()


# ---------------------------------------------------------------- update


def test_type_change_reroutes_and_priority_change_recomputes_sla(users, desk):
    t = fault(desk, users["service"])
    assert t.assignee == desk["engineer"]
    first_due = t.first_response_due_at
    t = services.ticket_update(actor=users["service"], ticket=t, version=t.version,
                               type=ttype("payment"), now=NOW)
    assert t.queue.code == "finance"
    assert t.assignee is None  # the engineer does not work the finance queue
    assert t.status == "new"
    assert t.version == 2
    t = services.ticket_update(actor=users["service"], ticket=t, version=t.version,
                               priority="urgent", now=NOW)
    t.refresh_from_db()
    assert t.priority == "urgent"
    assert t.first_response_due_at < first_due  # tier A urgent: 1 h instead of 2 h
    bodies = list(TicketMessage.objects.filter(ticket=t, kind="system")
                  .values_list("body", flat=True))
    assert any("财务部" in b for b in bodies)
    update = AuditEntry.objects.filter(model="servicedesk.ticket", object_id=t.pk,
                                       action="update").first()
    assert update.customer_id == desk["customer"].pk


def test_changing_to_a_complaint_type_adds_the_complaint(users, desk):
    t = fault(desk, users["service"])
    services.ticket_update(actor=users["service"], ticket=t, version=t.version,
                           type=ttype("complaint"))
    assert Complaint.objects.filter(ticket=t).exists()


def test_stale_version_is_a_conflict(users, desk):
    t = fault(desk, users["service"])
    services.ticket_update(actor=users["director"], ticket=t, version=1, subject="新的主题")
    with pytest.raises(ConflictError) as exc:
        services.ticket_update(actor=users["service"], ticket=t, version=1, subject="别的")
    assert exc.value.current_version == 2
    assert exc.value.theirs[0]["changes"]["subject"][1] == "新的主题"
    t.refresh_from_db()
    assert t.subject == "新的主题"


def test_rep_may_not_edit_or_assign(users, desk):
    t = fault(desk, users["rep"], type=ttype("payment"))
    with pytest.raises(PermissionDenied):
        services.ticket_update(actor=users["rep"], ticket=t, version=t.version, subject="x")
    with pytest.raises(PermissionDenied):
        services.ticket_assign(actor=users["rep"], ticket=t, assignee=users["service"])
    t.refresh_from_db()
    assert t.assignee is None and t.version == 1


# ---------------------------------------------------------------- assign


def test_assignment_rules(users, desk, org):
    t = fault(desk, users["service"], type=ttype("payment"))
    # Not a member of finance.
    with pytest.raises(ValidationError) as exc:
        services.ticket_assign(actor=users["service"], ticket=t, assignee=desk["engineer"])
    assert "assignee" in exc.value.message_dict
    # Moving to engineering at the same time makes the engineer eligible.
    t = services.ticket_assign(actor=users["service"], ticket=t, assignee=desk["engineer"],
                               queue=desk["eng"])
    assert t.queue.code == "engineering" and t.assignee == desk["engineer"]
    assert t.status == "open"
    # The queue's manager may be assigned too.
    boss = UserFactory(username="boss", role=Role.MANAGER, team=org["east"])
    fin = queue("finance")
    fin.manager = boss
    fin.save()
    t = services.ticket_assign(actor=users["service"], ticket=t, assignee=boss, queue=fin)
    assert t.assignee == boss
    # A read-only user never.
    with pytest.raises(ValidationError):
        services.ticket_assign(actor=users["service"], ticket=t, assignee=users["readonly"])
    # Unassigning puts it back to new.
    t = services.ticket_assign(actor=users["service"], ticket=t, assignee=None)
    assert t.assignee is None and t.status == "new"
    assert TicketMessage.objects.filter(ticket=t, kind="system",
                                        body__contains=str(boss)).exists()


def test_queue_members_work_the_ticket_and_assignees_must_see_the_customer(users, desk):
    t = fault(desk, users["rep"])
    with pytest.raises(PermissionDenied):
        services.ticket_add_message(actor=users["rep"], ticket=t, kind="reply", body="x")
    desk["eng"].members.add(users["rep"], users["rep2"])
    msg = services.ticket_add_message(actor=users["rep"], ticket=t, kind="reply",
                                      body="工程师明天上门。")
    assert msg.kind == "reply"
    t = services.ticket_assign(actor=users["service"], ticket=t, assignee=users["rep"])
    assert t.assignee == users["rep"]
    with pytest.raises(ValidationError) as exc:  # rep2 does not see this customer
        services.ticket_assign(actor=users["service"], ticket=t, assignee=users["rep2"])
    assert "assignee" in exc.value.message_dict


def test_default_assignee_who_cannot_see_the_customer_is_skipped(users, desk, org):
    outsider = UserFactory(username="outsider", role=Role.REP, team=org["chongqing"])
    desk["eng"].members.add(outsider)
    desk["eng"].default_assignee = outsider
    desk["eng"].save()
    t = fault(desk, users["service"])
    assert t.assignee is None and t.status == "new"


# ---------------------------------------------------------------- messages


def test_reply_is_emailed_and_stamps_the_first_response(users, desk,
                                                        django_capture_on_commit_callbacks):
    t = fault(desk, users["service"])
    later = NOW + dt.timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        msg = services.ticket_add_message(actor=users["service"], ticket=t, kind="reply",
                                          body="您好，我们已收到。", time_spent_minutes=15,
                                          now=later)
    assert msg.emailed_to == "li@qingyuan.example"
    replies = [m for m in mail.outbox if t.reference in m.subject]
    assert len(replies) == 1
    assert replies[0].to == ["li@qingyuan.example"]
    assert "您好，我们已收到。" in replies[0].body
    t.refresh_from_db()
    assert t.first_responded_at == later
    assert t.response_breached is False
    assert t.time_spent_minutes == 15
    entry = TimeEntry.objects.get(ticket=t)
    assert (entry.kind, entry.minutes, entry.user) == ("ticket", 15, users["service"])
    # A second reply does not move the first-response time.
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_add_message(actor=users["service"], ticket=t, kind="reply",
                                    body="工程师已出发。", now=later + dt.timedelta(hours=1))
    t.refresh_from_db()
    assert t.first_responded_at == later
    assert len([m for m in mail.outbox if t.reference in m.subject]) == 2
    audit = AuditEntry.objects.filter(model="servicedesk.ticketmessage", object_id=msg.pk).get()
    assert audit.customer_id == desk["customer"].pk


def test_internal_note_is_never_emailed_nor_a_response(users, desk,
                                                       django_capture_on_commit_callbacks):
    t = fault(desk, users["service"])
    with django_capture_on_commit_callbacks(execute=True):
        note = services.ticket_add_message(actor=users["rep"], ticket=t, kind="note",
                                           body="客户上月投诉过同一问题。")
    assert note.kind == "note" and note.emailed_to == ""
    assert mail.outbox == []
    t.refresh_from_db()
    assert t.first_responded_at is None


def test_reply_without_an_address_is_kept_but_not_sent(users, desk,
                                                       django_capture_on_commit_callbacks):
    desk["customer"].email = ""
    desk["customer"].save()
    t = fault(desk, users["service"], contact=None)
    with django_capture_on_commit_callbacks(execute=True):
        msg = services.ticket_add_message(actor=users["service"], ticket=t, kind="reply",
                                          body="已电话告知。")
    assert msg.emailed_to == "" and mail.outbox == []
    t.refresh_from_db()
    assert t.first_responded_at is not None


def test_customer_email_when_the_contact_has_none(users, desk,
                                                  django_capture_on_commit_callbacks):
    desk["contact"].email = ""
    desk["contact"].save()
    t = fault(desk, users["service"])
    with django_capture_on_commit_callbacks(execute=True):
        msg = services.ticket_add_message(actor=users["service"], ticket=t, kind="reply",
                                          body="收到。")
    assert msg.emailed_to == "info@qingyuan.example"
    assert mail.outbox[0].to == ["info@qingyuan.example"]


def test_who_may_write_what(users, desk):
    t = fault(desk, users["rep"], type=ttype("payment"))
    with pytest.raises(PermissionDenied):  # a rep outside the queue does not reply
        services.ticket_add_message(actor=users["rep"], ticket=t, kind="reply", body="x")
    with pytest.raises(PermissionDenied):
        services.ticket_add_message(actor=users["readonly"], ticket=t, kind="note", body="x")
    with pytest.raises(PermissionDenied):  # rep2 does not see the customer
        services.ticket_add_message(actor=users["rep2"], ticket=t, kind="note", body="x")
    assert not TicketMessage.objects.filter(ticket=t).exclude(kind="system").exists()
    with pytest.raises(ValidationError) as exc:
        services.ticket_add_message(actor=users["service"], ticket=t, kind="system", body="x")
    assert "kind" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.ticket_add_message(actor=users["service"], ticket=t, kind="note", body=" ")
    assert "body" in exc.value.message_dict


def test_customer_message_reopens_a_waiting_ticket(users, desk):
    t = fault(desk, users["service"])
    services.ticket_set_status(actor=users["service"], ticket=t, status="pending")
    services.ticket_add_message(actor=users["service"], ticket=t, kind="inbound",
                                body="客户回电：报警仍在。")
    t.refresh_from_db()
    assert t.status == "open"


# ---------------------------------------------------------------- status


@pytest.fixture
def resolved_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(hooks, "ticket_resolved",
                        lambda *, ticket, actor: calls.append((ticket.pk, actor.pk)))
    return calls


def test_status_transitions(users, desk, resolved_calls):
    t = fault(desk, users["service"])
    at = NOW + dt.timedelta(hours=3)
    t = services.ticket_set_status(actor=users["service"], ticket=t, status="resolved",
                                   note="更换了压力传感器", now=at)
    assert t.status == "resolved" and t.resolved_at == at
    assert resolved_calls == [(t.pk, users["service"].pk)]
    t = services.ticket_set_status(actor=users["service"], ticket=t, status="closed",
                                   now=at + dt.timedelta(days=1))
    assert t.closed_at == at + dt.timedelta(days=1)
    assert t.resolved_at == at
    assert len(resolved_calls) == 1  # closing a resolved ticket does not resolve it again
    t = services.ticket_set_status(actor=users["service"], ticket=t, status="open")
    assert t.status == "open" and t.resolved_at is None and t.closed_at is None
    last = TicketMessage.objects.filter(ticket=t, kind="system").order_by("-id").first()
    assert "2025-03-04 13:00" in last.body  # the earlier resolution stays in the history
    with pytest.raises(ValidationError):
        services.ticket_set_status(actor=users["service"], ticket=t, status="merged")
    with pytest.raises(ValidationError):
        services.ticket_set_status(actor=users["service"], ticket=t, status="bogus")
    note = TicketMessage.objects.filter(ticket=t, body__contains="更换了压力传感器")
    assert note.exists()


def test_closing_an_unresolved_ticket_counts_as_resolved(users, desk, resolved_calls):
    t = fault(desk, users["service"])
    t = services.ticket_set_status(actor=users["service"], ticket=t, status="closed", now=NOW)
    assert t.resolved_at == NOW and t.closed_at == NOW
    assert resolved_calls == [(t.pk, users["service"].pk)]
    with pytest.raises(ValidationError) as exc:
        services.ticket_set_status(actor=users["service"], ticket=t, status="pending")
    assert "status" in exc.value.message_dict


def test_refused_status_change_writes_nothing(users, desk, resolved_calls):
    t = fault(desk, users["rep"], type=ttype("payment"))
    with pytest.raises(PermissionDenied):
        services.ticket_set_status(actor=users["rep"], ticket=t, status="resolved")
    t.refresh_from_db()
    assert t.status == "new" and t.resolved_at is None and resolved_calls == []


def test_allowed_statuses(users, desk):
    t = fault(desk, users["service"], type=ttype("payment"))
    assert services.allowed_statuses(t) == ["open", "pending", "resolved", "closed"]
    t.status = "closed"
    assert services.allowed_statuses(t) == ["open"]


# ---------------------------------------------------------------- merge


def test_merge_moves_everything_to_the_target(users, desk):
    source = fault(desk, users["service"], subject="压力报警（重复）")
    target = fault(desk, users["service"])
    services.ticket_add_message(actor=users["service"], ticket=source, kind="note",
                                body="同一台设备", time_spent_minutes=10)
    visit = FieldVisit.objects.create(ticket=source, customer=desk["customer"],
                                      technician=desk["engineer"], scheduled_start=NOW,
                                      scheduled_end=NOW + dt.timedelta(hours=2))
    survey = Survey.objects.create(kind="csat", customer=desk["customer"], ticket=source,
                                   expires_at=NOW + dt.timedelta(days=14))
    before = TicketMessage.objects.filter(ticket=source).count()
    result = services.ticket_merge(actor=users["service"], source=source, target=target)
    assert result.pk == target.pk
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == "merged" and source.merged_into == target
    assert source.closed_at is not None
    assert not TicketMessage.objects.filter(ticket=source).exclude(kind="system").exists()
    assert TicketMessage.objects.filter(ticket=target, body="同一台设备").exists()
    # every moved message + one system message on each
    assert TicketMessage.objects.filter(ticket=source).count() == 1
    assert TicketMessage.objects.filter(ticket=target, kind="system",
                                        body__contains=source.reference).exists()
    assert TicketMessage.objects.filter(ticket=target).count() >= before + 1
    visit.refresh_from_db()
    survey.refresh_from_db()
    assert visit.ticket_id == target.pk and survey.ticket_id == target.pk
    assert TimeEntry.objects.get().ticket_id == target.pk
    assert target.time_spent_minutes == 10 and source.time_spent_minutes == 0
    assert AuditEntry.objects.filter(action="merge", customer_id=desk["customer"].pk).count() == 2


def test_merge_refusals(users, desk):
    a = fault(desk, users["service"])
    b = fault(desk, users["service"])
    theirs = services.ticket_create(actor=users["service"], customer=desk["other"],
                                    type=ttype("request"), subject="别人的")
    with pytest.raises(ValidationError):
        services.ticket_merge(actor=users["service"], source=a, target=a)
    with pytest.raises(ValidationError):
        services.ticket_merge(actor=users["service"], source=a, target=theirs)
    services.ticket_merge(actor=users["service"], source=a, target=b)
    c = fault(desk, users["service"])
    with pytest.raises(ValidationError):  # into a merged ticket
        services.ticket_merge(actor=users["service"], source=c, target=a)
    with pytest.raises(PermissionDenied):
        services.ticket_merge(actor=users["rep"], source=c, target=b)
    c.refresh_from_db()
    assert c.status == "open"


def test_merged_ticket_takes_no_messages(users, desk):
    a = fault(desk, users["service"])
    b = fault(desk, users["service"])
    services.ticket_merge(actor=users["service"], source=a, target=b)
    with pytest.raises(ValidationError):
        services.ticket_add_message(actor=users["service"], ticket=a, kind="note", body="x")
    a.refresh_from_db()
    with pytest.raises(ValidationError):
        services.ticket_update(actor=users["service"], ticket=a, version=a.version,
                               subject="改")
    with pytest.raises(ValidationError):
        services.ticket_assign(actor=users["service"], ticket=a, assignee=users["service"])


def test_clock_defaults_to_now(users, desk):
    before = timezone.now()
    t = services.ticket_create(actor=users["service"], customer=desk["customer"],
                               type=ttype("request"), subject="需要操作培训")
    assert t.created_at >= before
