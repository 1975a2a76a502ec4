"""Field-service services: booking (overlap warning), moving, cancelling and the visit
report that resolves the ticket or keeps it open, records time and adds a note."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.servicedesk import field_services as svc
from guanxi.servicedesk.field_registry import visit_entries
from guanxi.servicedesk.models import (
    FieldVisit,
    MessageKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    TimeEntry,
    VisitStatus,
)

from . import test_field_support as support
from .test_field_support import DAY, at, open_ticket

pytestmark = pytest.mark.django_db
fw = support.fw  # the shared fixture


@pytest.fixture
def ticket(users, fw):
    return open_ticket(users["service"], fw.a, fw, contact=fw.contact)


def book(users, fw, ticket, tech=None, start=9, end=11, **kw):
    return svc.visit_schedule(actor=kw.pop("actor", users["service"]), ticket=ticket,
                              technician=tech or fw.tech_east, start=at(DAY, start),
                              end=at(DAY, end), **kw)


def notes(ticket):
    return list(TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.NOTE)
                .values_list("body", flat=True))


def test_booking_uses_the_customer_address_audits_and_notes_the_ticket(users, fw, ticket):
    visit = book(users, fw, ticket, instructions="带备用密封圈")
    assert visit.customer == fw.a
    assert visit.address == "上海市上海浦东新区张江路 88 号"
    assert visit.status == VisitStatus.SCHEDULED and visit.overlaps == []
    entry = AuditEntry.objects.get(model="servicedesk.fieldvisit", object_id=visit.pk)
    assert entry.action == "create" and entry.customer_id == fw.a.pk
    assert any("张工" in n for n in notes(ticket))


def test_an_explicit_address_wins(users, fw, ticket):
    visit = book(users, fw, ticket, address="上海市闵行区工厂仓库")
    assert visit.address == "上海市闵行区工厂仓库"


def test_overlap_is_a_warning_not_a_refusal(users, fw, ticket):
    first = book(users, fw, ticket, start=9, end=11)
    other = open_ticket(users["service"], fw.b, fw, subject="阀门泄漏")
    second = book(users, fw, other, start=10, end=12)
    assert [v.pk for v in second.overlaps] == [first.pk]
    assert FieldVisit.objects.count() == 2
    # Back to back is no overlap; another technician neither.
    assert book(users, fw, other, start=12, end=13).overlaps == []
    assert book(users, fw, other, tech=fw.tech_west, start=10, end=12).overlaps == []


def test_cancelled_visits_do_not_overlap(users, fw, ticket):
    first = book(users, fw, ticket)
    svc.visit_cancel(actor=users["service"], visit=first, version=first.version)
    assert book(users, fw, ticket).overlaps == []


@pytest.mark.parametrize("case", ["not_technician", "end_before_start", "inactive"])
def test_invalid_bookings_write_nothing(users, fw, ticket, case):
    tech, start, end = fw.tech_east, 9, 11
    if case == "not_technician":
        tech = users["rep"]
    elif case == "end_before_start":
        start, end = 11, 9
    else:
        fw.tech_east.is_active = False
        fw.tech_east.save()
    before = TicketMessage.objects.count()
    with pytest.raises(ValidationError) as exc:
        book(users, fw, ticket, tech=tech, start=start, end=end)
    key = "scheduled_end" if case == "end_before_start" else "technician"
    assert key in exc.value.message_dict
    assert FieldVisit.objects.count() == 0 and TicketMessage.objects.count() == before


def test_queue_members_and_service_agents_are_technicians(users, fw, ticket):
    assert book(users, fw, ticket, tech=fw.field_rep).technician == fw.field_rep
    assert book(users, fw, ticket, tech=users["service"], start=13, end=14).pk


def test_only_dispatchers_book(users, fw, ticket):
    with pytest.raises(PermissionDenied):
        book(users, fw, ticket, actor=users["rep"])
    assert FieldVisit.objects.count() == 0
    assert book(users, fw, ticket, actor=users["manager"]).pk


def test_a_closed_ticket_gets_no_visit(users, fw, ticket):
    from guanxi.servicedesk.services import ticket_set_status

    ticket_set_status(actor=users["service"], ticket=ticket, status="closed")
    with pytest.raises(ValidationError) as exc:
        book(users, fw, Ticket.objects.get(pk=ticket.pk))
    assert "ticket" in exc.value.message_dict


def test_reschedule_checks_the_version_and_warns_of_overlaps(users, fw, ticket):
    visit = book(users, fw, ticket)
    other = book(users, fw, ticket, tech=fw.tech_west, start=14, end=16)
    moved = svc.visit_reschedule(actor=users["service"], visit=visit, version=visit.version,
                                 start=at(DAY, 15), end=at(DAY, 17), technician=fw.tech_west)
    assert moved.technician == fw.tech_west and moved.version == visit.version + 1
    assert [v.pk for v in moved.overlaps] == [other.pk]
    with pytest.raises(ConflictError):
        svc.visit_reschedule(actor=users["service"], visit=visit, version=visit.version,
                             start=at(DAY, 8), end=at(DAY, 9))
    assert any("李工" in n for n in notes(ticket))


def test_cancel_notes_the_ticket(users, fw, ticket):
    visit = book(users, fw, ticket)
    svc.visit_cancel(actor=users["service"], visit=visit, reason="客户停产检修")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED
    assert any("客户停产检修" in n for n in notes(ticket))
    with pytest.raises(ValidationError):
        svc.visit_cancel(actor=users["service"], visit=visit)


# ---------------------------------------------------------------- the report


def report(actor, visit, **kw):
    data = {"work_done": "更换二号泵机械密封，试运行正常", "signed_off_by": "王经理",
            "parts_used": [{"part": "机械密封", "quantity": 2}, {"part": "", "quantity": ""}],
            "time_spent_minutes": 90, "travel_minutes": 40, "outcome": "resolved",
            "version": visit.version}
    data.update(kw)
    return svc.visit_report(actor=actor, visit=visit, **data)


def test_resolved_report_closes_the_ticket_records_time_and_notes(users, fw, ticket):
    visit = book(users, fw, ticket)
    done = report(fw.tech_east, visit, now=at(DAY, 11, 30))
    assert done.status == VisitStatus.DONE and done.completed_at == at(DAY, 11, 30)
    assert done.parts_used == [{"part": "机械密封", "quantity": 2}]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at == at(DAY, 11, 30)
    entries = {e.kind: e for e in TimeEntry.objects.filter(visit=visit)}
    assert set(entries) == {"visit", "travel"}
    assert entries["visit"].minutes == 90 and entries["travel"].minutes == 40
    assert entries["visit"].user == fw.tech_east and entries["visit"].on == DAY
    assert entries["visit"].ticket == ticket and entries["visit"].customer == fw.a
    assert ticket.time_spent_minutes == 130
    note = [n for n in notes(ticket) if "更换二号泵机械密封" in n]
    assert note and "王经理" in note[0] and "机械密封 × 2" in note[0]
    assert AuditEntry.objects.filter(model="servicedesk.fieldvisit", object_id=visit.pk,
                                     action="update", customer_id=fw.a.pk).exists()


def test_follow_up_keeps_the_ticket_open(users, fw, ticket):
    assert ticket.status == TicketStatus.NEW
    visit = book(users, fw, ticket)
    report(fw.tech_east, visit, outcome="follow_up", work_done="诊断：需更换电机",
           signed_off_by="")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.resolved_at is None
    assert any("诊断：需更换电机" in n for n in notes(ticket))


def test_a_resolved_report_needs_work_done_and_sign_off(users, fw, ticket):
    visit = book(users, fw, ticket)
    with pytest.raises(ValidationError) as exc:
        report(fw.tech_east, visit, work_done=" ", signed_off_by="",
               parts_used=[{"part": "滤芯", "quantity": 0}])
    errors = exc.value.message_dict
    assert {"work_done", "signed_off_by", "parts_used"} <= set(errors)
    visit.refresh_from_db()
    ticket.refresh_from_db()
    assert visit.status == VisitStatus.SCHEDULED and ticket.status == TicketStatus.NEW
    assert not TimeEntry.objects.exists()


@pytest.mark.parametrize("quantity", [-1, "abc", None])
def test_part_quantities_must_be_positive(users, fw, ticket, quantity):
    visit = book(users, fw, ticket)
    with pytest.raises(ValidationError) as exc:
        report(fw.tech_east, visit, parts_used=[{"part": "轴承", "quantity": quantity}])
    assert "parts_used" in exc.value.message_dict


def test_only_the_technician_or_a_dispatcher_reports(users, fw):
    ticket = open_ticket(users["service"], fw.pool, fw)
    visit = book(users, fw, ticket, tech=fw.field_rep)
    with pytest.raises(PermissionDenied):  # a rep who sees the (pool) customer
        report(users["rep"], visit)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SCHEDULED
    report(fw.field_rep, visit)  # the technician
    other = book(users, fw, open_ticket(users["service"], fw.pool, fw), tech=fw.field_rep)
    report(users["manager"], other, outcome="follow_up")  # a dispatcher


def test_a_report_is_filed_once(users, fw, ticket):
    visit = book(users, fw, ticket)
    report(fw.tech_east, visit)
    visit.refresh_from_db()
    with pytest.raises(ValidationError):
        report(fw.tech_east, visit)
    assert TimeEntry.objects.count() == 2


def test_stale_report_version_conflicts(users, fw, ticket):
    visit = book(users, fw, ticket)
    svc.visit_reschedule(actor=users["service"], visit=visit, version=visit.version,
                         start=at(DAY, 10), end=at(DAY, 12))
    with pytest.raises(ConflictError):
        report(fw.tech_east, visit, version=visit.version)


def test_timeline_shows_booking_and_report(users, fw, ticket):
    visit = book(users, fw, ticket, now=at(DAY, 8))
    report(fw.tech_east, visit, now=at(DAY, 11, 30))
    entries = visit_entries(customer=fw.a, user=users["rep"])
    assert [e.at for e in entries] == [at(DAY, 11, 30), at(DAY, 8)]
    assert all(e.kind == "field" for e in entries)
    assert "更换二号泵机械密封" in entries[0].body
    assert visit_entries(customer=fw.a, user=users["rep"], kinds={"call"}) == []
    assert [e.at for e in visit_entries(customer=fw.a, user=users["rep"],
                                        before=at(DAY, 11))] == [at(DAY, 8)]
