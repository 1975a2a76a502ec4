"""The SLA clock of a ticket: policy choice, due times in business hours, response and
resolution outcomes, re-prioritising."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from guanxi.servicedesk import sla
from guanxi.servicedesk.models import SlaPolicy, Ticket, TicketStatus, TicketType
from guanxi.testing.factories import CustomerFactory

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def make_ticket(customer=None, *, type_code: str = "request", priority: str | None = None,
                created_at: dt.datetime | None = None, assignee=None, start: bool = True,
                **extra) -> Ticket:
    """A ticket made with the ORM (ticket services are tested elsewhere), its SLA started."""
    ttype = TicketType.objects.get(code=type_code)
    created_at = created_at or at(2026, 3, 9, 9)
    ticket = Ticket(customer=customer or CustomerFactory(tier="B"), type=ttype,
                    queue=ttype.queue, subject=extra.pop("subject", "打印机不出纸"),
                    priority=priority or ttype.default_priority, assignee=assignee,
                    created_at=created_at, **extra)
    if start:
        sla.start(ticket, created_at)
    ticket.save()
    return ticket


def test_policy_for_tier_then_any_tier():
    assert sla.policy_for("A", "high").first_response_hours == 2
    assert sla.policy_for("B", "normal").resolution_hours == 40
    fallback = sla.policy_for("C", "normal")  # no C row: the "any tier" policy
    assert (fallback.tier, fallback.first_response_hours) == ("", 16)
    SlaPolicy.objects.filter(tier="A", priority="high").update(active=False)
    assert sla.policy_for("A", "high").tier == ""


def test_start_sets_due_times_in_business_hours():
    # Tier A, urgent: 1 h / 8 h from Friday 16:30 → Friday 17:30 / Monday 16:30
    # (1.5 h on Friday, 3 h Monday morning, lunch, 3.5 h).
    ticket = make_ticket(CustomerFactory(tier="A"), priority="urgent",
                         created_at=at(2026, 3, 6, 16, 30))
    assert ticket.sla_policy == SlaPolicy.objects.get(tier="A", priority="urgent")
    assert ticket.first_response_due_at == at(2026, 3, 6, 17, 30)
    assert ticket.resolution_due_at == at(2026, 3, 9, 16, 30)
    assert not ticket.response_breached and not ticket.resolution_breached


def test_start_across_national_day_and_a_make_up_day():
    # Tier B, high: 4 h / 24 h from Wednesday 2026-09-30 16:00.
    ticket = make_ticket(CustomerFactory(tier="B"), priority="high",
                         created_at=at(2026, 9, 30, 16))
    assert ticket.first_response_due_at == at(2026, 10, 8, 11)  # 2 h + 2 h after the holiday
    # 24 h = 2 h (09-30) + 8 h (10-08) + 8 h (10-09) + 6 h on Saturday 10-10 (make-up
    # day): 9–12 and 13–16.
    assert ticket.resolution_due_at == at(2026, 10, 10, 16)


def test_without_a_policy_there_are_no_targets():
    SlaPolicy.objects.filter(priority="low").delete()
    ticket = make_ticket(priority="low")
    assert ticket.sla_policy is None
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is None


def test_start_counts_from_now_when_created_at_is_unset():
    ticket = Ticket(customer=CustomerFactory(tier="B"), priority="normal",
                    type=TicketType.objects.get(code="request"))
    ticket.created_at = None
    sla.start(ticket, at(2026, 3, 9, 10))
    assert ticket.first_response_due_at == at(2026, 3, 10, 10)  # 8 h


def test_record_response_once_and_breach_when_late():
    ticket = make_ticket(priority="normal")  # B normal: 8 h → Monday 18:00
    assert ticket.first_response_due_at == at(2026, 3, 9, 18)
    sla.record_response(ticket, at(2026, 3, 9, 17))
    assert ticket.first_responded_at == at(2026, 3, 9, 17) and not ticket.response_breached
    sla.record_response(ticket, at(2026, 3, 12, 9))  # a later reply changes nothing
    assert ticket.first_responded_at == at(2026, 3, 9, 17) and not ticket.response_breached

    late = make_ticket(priority="normal")
    sla.record_response(late, at(2026, 3, 10, 9, 1))
    assert late.response_breached


def test_record_resolution_keeps_a_breach_already_flagged():
    ticket = make_ticket(priority="normal")  # 40 h → Friday 18:00
    assert ticket.resolution_due_at == at(2026, 3, 13, 18)
    sla.record_resolution(ticket, at(2026, 3, 13, 17))
    assert ticket.resolved_at == at(2026, 3, 13, 17) and not ticket.resolution_breached
    sla.record_resolution(ticket, at(2026, 3, 16, 9))  # re-resolved after a reopen
    assert ticket.resolution_breached
    flagged = make_ticket(priority="normal")
    flagged.resolution_breached = True  # the scheduler escalated it
    sla.record_resolution(flagged, at(2026, 3, 9, 10))
    assert flagged.resolution_breached


def test_reprioritise_recomputes_from_created_at_and_rearms_future_targets():
    ticket = make_ticket(priority="low", created_at=at(2026, 3, 9, 9))  # B low: 16 h / 80 h
    ticket.response_warned_at = at(2026, 3, 10, 14)
    ticket.priority = "urgent"  # B urgent: 2 h / 16 h
    sla.reprioritise(ticket, at(2026, 3, 9, 10))
    assert ticket.sla_policy == SlaPolicy.objects.get(tier="B", priority="urgent")
    assert ticket.first_response_due_at == at(2026, 3, 9, 11)
    assert ticket.resolution_due_at == at(2026, 3, 10, 18)
    assert ticket.response_warned_at is None  # the new target warns again


def test_reprioritise_measures_a_met_target_against_the_new_due_time():
    ticket = make_ticket(priority="low", created_at=at(2026, 3, 9, 9))
    sla.record_response(ticket, at(2026, 3, 9, 15))  # in time for 16 h
    assert not ticket.response_breached
    ticket.priority = "urgent"
    sla.reprioritise(ticket, at(2026, 3, 9, 16))  # 2 h target: the reply was late
    assert ticket.response_breached


def test_reprioritise_after_a_tier_change():
    customer = CustomerFactory(tier="B")
    ticket = make_ticket(customer, priority="high")  # B high 4 h
    assert ticket.first_response_due_at == at(2026, 3, 9, 14)  # 9–12 + 13–14
    customer.tier = "A"
    customer.save()
    ticket.status = TicketStatus.OPEN
    sla.reprioritise(ticket, at(2026, 3, 9, 9, 30))
    assert ticket.first_response_due_at == at(2026, 3, 9, 11)  # A high 2 h
    assert ticket.sla_policy.first_response_hours == Decimal("2.00")
