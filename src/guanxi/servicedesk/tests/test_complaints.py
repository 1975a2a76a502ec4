"""Complaint handling: the follow-up call on resolution, severity / root cause /
corrective action (version-checked, audited), the follow-up outcome."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.activities.models import Interaction, Task, TaskKind, TaskStatus
from guanxi.core import site_settings
from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.servicedesk import complaint_services as svc
from guanxi.servicedesk import complaints, services
from guanxi.servicedesk.models import (
    Complaint,
    MessageKind,
    Ticket,
    TicketStatus,
    TicketType,
)
from guanxi.testing.factories import CustomerFactory

from .test_sla import at

pytestmark = pytest.mark.django_db
OPENED = at(2026, 9, 16, 10)  # Wednesday
RESOLVED = at(2026, 9, 18, 15)  # Friday; Sunday 09-20 is a make-up working day


def open_complaint(actor, customer, **kw) -> Ticket:
    return services.ticket_create(actor=actor, customer=customer,
                                  type=TicketType.objects.get(code="complaint"),
                                  subject=kw.pop("subject", "送货延误三天"), now=OPENED, **kw)


def resolve(actor, ticket, when=RESOLVED) -> Ticket:
    return services.ticket_set_status(actor=actor, ticket=ticket, status="resolved", now=when)


@pytest.fixture
def owned(users):
    return CustomerFactory(tier="B", owner=users["rep"], team=users["rep"].team)


def test_resolving_a_complaint_schedules_the_follow_up_call(users, owned):
    ticket = open_complaint(users["service"], owned)
    assert Complaint.objects.filter(ticket=ticket).exists()
    assert not Task.objects.exists()
    resolve(users["service"], ticket)
    complaint = Complaint.objects.get(ticket=ticket)
    task = complaint.follow_up_task
    assert task is not None
    assert task.kind == TaskKind.CALL and task.status == TaskStatus.OPEN
    assert task.assignee == users["rep"]  # the customer's owner, not the resolver
    assert task.customer == owned and task.created_by == users["service"]
    assert task.title == f"Complaint follow-up call {ticket.reference}"
    # 3 business days after Friday 15:00: Sunday 09-20 (make-up day), Monday, Tuesday.
    assert task.due_at == at(2026, 9, 22, 15)
    assert AuditEntry.objects.filter(model="activities.task", object_id=task.pk,
                                     customer_id=owned.pk).exists()


def test_the_follow_up_delay_is_a_site_setting(users, owned):
    site_settings.put(svc.FOLLOW_UP_DAYS_KEY, 1)
    ticket = open_complaint(users["service"], owned)
    resolve(users["service"], ticket)
    assert Complaint.objects.get(ticket=ticket).follow_up_task.due_at == at(2026, 9, 20, 15)


def test_a_pool_customer_gives_the_call_to_the_ticket_assignee(users):
    pool = CustomerFactory(tier="B", owner=None)
    ticket = open_complaint(users["admin"], pool, assignee=users["service"])
    resolve(users["admin"], ticket)
    assert Complaint.objects.get(ticket=ticket).follow_up_task.assignee == users["service"]


def test_other_tickets_get_no_follow_up(users, owned):
    ticket = services.ticket_create(actor=users["service"], customer=owned,
                                    type=TicketType.objects.get(code="request"),
                                    subject="要一份说明书", now=OPENED)
    resolve(users["service"], ticket)
    assert not Task.objects.exists() and not Complaint.objects.exists()
    complaints.on_resolved(ticket=ticket, actor=users["service"])
    assert not Task.objects.exists()


def test_resolving_again_keeps_one_open_follow_up(users, owned):
    ticket = open_complaint(users["service"], owned)
    resolve(users["service"], ticket)
    services.ticket_set_status(actor=users["service"], ticket=ticket, status="open",
                               now=RESOLVED + dt.timedelta(hours=1))
    resolve(users["service"], ticket, RESOLVED + dt.timedelta(hours=2))
    assert Task.objects.count() == 1


# ---------------------------------------------------------------- handling


def test_complaint_update_is_validated_versioned_and_audited(users, owned):
    ticket = open_complaint(users["service"], owned)
    complaint = Complaint.objects.get(ticket=ticket)
    svc.complaint_update(actor=users["service"], ticket=ticket, version=complaint.version,
                         severity="major", root_cause_category="delivery",
                         root_cause="物流公司换了司机", corrective_action="更换承运商",
                         corrective_done_on=dt.date(2026, 9, 1))
    complaint.refresh_from_db()
    assert (complaint.severity, complaint.root_cause_category, complaint.version) == (
        "major", "delivery", 2)
    entry = AuditEntry.objects.get(model="servicedesk.complaint", object_id=complaint.pk)
    assert entry.changes["severity"] == ["minor", "major"]
    assert entry.customer_id == owned.pk and entry.actor == users["service"]

    with pytest.raises(ConflictError) as exc:
        svc.complaint_update(actor=users["admin"], ticket=ticket, version=1, severity="critical")
    assert exc.value.current_version == 2
    with pytest.raises(ValidationError) as exc:
        svc.complaint_update(actor=users["service"], ticket=ticket, version=2,
                             severity="catastrophic",
                             corrective_done_on=dt.date.today() + dt.timedelta(days=3))
    assert set(exc.value.message_dict) == {"severity", "corrective_done_on"}
    with pytest.raises(ValidationError) as exc:
        svc.complaint_update(actor=users["service"], ticket=ticket, version=2,
                             corrective_action="", corrective_done_on=dt.date(2026, 9, 1))
    assert "corrective_done_on" in exc.value.message_dict
    complaint.refresh_from_db()
    assert complaint.severity == "major" and complaint.version == 2


def test_only_people_working_the_ticket_handle_it(users, owned):
    ticket = open_complaint(users["service"], owned)
    for role in ("rep", "readonly", "marketing"):
        with pytest.raises(PermissionDenied):
            svc.complaint_update(actor=users[role], ticket=ticket, version=None,
                                 severity="critical")
    assert Complaint.objects.get(ticket=ticket).severity == "minor"


def test_a_non_complaint_ticket_cannot_be_handled_as_one(users, owned):
    ticket = services.ticket_create(actor=users["service"], customer=owned,
                                    type=TicketType.objects.get(code="request"),
                                    subject="咨询", now=OPENED)
    with pytest.raises(ValidationError):
        svc.complaint_update(actor=users["service"], ticket=ticket, version=None,
                             severity="major")
    assert not Complaint.objects.exists()


# ---------------------------------------------------------------- the follow-up outcome


def test_the_owner_records_a_satisfied_follow_up(users, owned):
    ticket = open_complaint(users["service"], owned)
    with pytest.raises(ValidationError):  # not resolved yet
        svc.record_follow_up(actor=users["service"], ticket=ticket, satisfied=True)
    resolve(users["service"], ticket)
    complaint = Complaint.objects.get(ticket=ticket)
    # The rep does not work the ticket, but the call is theirs.
    done = svc.record_follow_up(actor=users["rep"], ticket=ticket, satisfied=True,
                                notes="客户表示满意", version=complaint.version,
                                now=at(2026, 9, 21, 10))
    assert done.renewed_ticket is None
    complaint.refresh_from_db()
    assert complaint.follow_up_satisfied is True
    assert complaint.follow_up_done_at == at(2026, 9, 21, 10)
    assert complaint.follow_up_notes == "客户表示满意"
    task = complaint.follow_up_task
    assert task.status == TaskStatus.DONE and task.outcome == "resolved"
    assert Interaction.objects.filter(customer=owned, kind="call").exists()  # on the timeline
    assert ticket.messages.filter(kind=MessageKind.SYSTEM,
                                  body__contains="satisfied").exists()
    with pytest.raises(ValidationError):  # once
        svc.record_follow_up(actor=users["rep"], ticket=ticket, satisfied=False)


def test_an_unsatisfied_customer_gets_a_new_complaint_ticket(users, owned):
    ticket = open_complaint(users["service"], owned)
    svc.complaint_update(actor=users["service"], ticket=ticket, version=None,
                         severity="critical", root_cause_category="delivery")
    resolve(users["service"], ticket)
    result = svc.record_follow_up(actor=users["rep"], ticket=ticket, satisfied=False,
                                  notes="还是没有收到补发的零件", now=at(2026, 9, 21, 10))
    renewed = result.renewed_ticket
    assert renewed is not None and renewed.pk != ticket.pk
    assert renewed.type.is_complaint and renewed.customer == owned
    assert renewed.is_open and renewed.first_response_due_at is not None
    assert ticket.reference in renewed.description and "零件" in renewed.description
    new = Complaint.objects.get(ticket=renewed)
    assert (new.severity, new.root_cause_category) == ("critical", "delivery")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED  # the original keeps its outcome
    original = Complaint.objects.get(ticket=ticket)
    assert original.follow_up_satisfied is False
    assert original.follow_up_task.status == TaskStatus.DONE
    assert ticket.messages.filter(body__contains=renewed.reference).exists()


def test_strangers_cannot_record_the_follow_up(users, owned):
    ticket = open_complaint(users["service"], owned)
    resolve(users["service"], ticket)
    with pytest.raises(PermissionDenied):
        svc.record_follow_up(actor=users["marketing"], ticket=ticket, satisfied=True)
    assert Complaint.objects.get(ticket=ticket).follow_up_done_at is None
