"""SLA warnings and escalation with a controllable clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from guanxi.accounts.models import Role
from guanxi.core import scheduler
from guanxi.core.models import AuditEntry, Job
from guanxi.servicedesk import sla_services
from guanxi.servicedesk.models import MessageKind, Queue, SlaPolicy, Ticket, TicketStatus
from guanxi.testing.factories import CustomerFactory, UserFactory

from .test_sla import at, make_ticket

pytestmark = pytest.mark.django_db

# A tier-B "request" ticket (normal priority) opened Monday 2026-03-09 09:00:
# first response 8 h → due 18:00 the same day, warned at 75 % = 6 h → 16:00;
# resolution 40 h → due Friday 03-13 18:00, warned at 75 % = 30 h → Thursday 16:00.
OPENED = at(2026, 3, 9, 9)
RESPONSE_WARN = at(2026, 3, 9, 16)
RESPONSE_DUE = at(2026, 3, 9, 18)
RESOLUTION_WARN = at(2026, 3, 12, 16)  # 30 h: Mon–Wed 24 h + Thu 9–12, 13–16
RESOLUTION_DUE = at(2026, 3, 13, 18)


@pytest.fixture
def desk(users):
    manager = UserFactory(username="cs_manager", role=Role.SERVICE, email="boss@example.com")
    agent = UserFactory(username="agent", role=Role.SERVICE, email="agent@example.com")
    member = UserFactory(username="member", role=Role.SERVICE, email="member@example.com")
    queue = Queue.objects.get(code="customer_service")
    queue.manager = manager
    queue.save()
    queue.members.add(member)
    return {"manager": manager, "agent": agent, "member": member, "queue": queue}


def ticket_for(desk, **kw) -> Ticket:
    kw.setdefault("assignee", desk["agent"])
    return make_ticket(CustomerFactory(tier="B"), type_code="request", created_at=OPENED, **kw)


def system_messages(ticket: Ticket) -> list[str]:
    return list(ticket.messages.filter(kind=MessageKind.SYSTEM).values_list("body", flat=True))


def test_the_due_times_are_what_the_tests_assume(desk):
    t = ticket_for(desk)
    assert (t.first_response_due_at, t.resolution_due_at) == (RESPONSE_DUE, RESOLUTION_DUE)
    assert t.sla_policy.warn_percent == 75


def test_warning_at_75_percent_to_the_assignee_once(desk):
    t = ticket_for(desk)
    minute = dt.timedelta(minutes=1)
    assert sla_services.run_sla_checks(RESPONSE_WARN - minute) == {"escalated": 0, "warned": 0}
    assert not sla_services.pending(RESPONSE_WARN - minute)
    assert sla_services.pending(RESPONSE_WARN)
    assert sla_services.run_sla_checks(RESPONSE_WARN) == {"escalated": 0, "warned": 1}
    t.refresh_from_db()
    assert t.response_warned_at == RESPONSE_WARN
    assert t.resolution_warned_at is None and not t.response_breached
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["agent@example.com"]
    assert t.reference in mail.outbox[0].subject and "SLA warning" in mail.outbox[0].subject
    assert len(system_messages(t)) == 1 and "first response" in system_messages(t)[0]
    # Twice more: nothing new.
    assert sla_services.run_sla_checks(RESPONSE_WARN)["warned"] == 0
    assert sla_services.run_sla_checks(RESPONSE_WARN + 10 * minute)["warned"] == 0
    assert len(mail.outbox) == 1 and len(system_messages(t)) == 1


def test_an_unassigned_ticket_warns_the_queue_members_and_manager(desk):
    ticket_for(desk, assignee=None)
    sla_services.run_sla_checks(RESPONSE_WARN)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["boss@example.com", "member@example.com"]


def test_breach_escalates_to_the_queue_manager_once(desk):
    t = ticket_for(desk)
    sla_services.run_sla_checks(RESPONSE_WARN)
    mail.outbox.clear()
    assert sla_services.run_sla_checks(RESPONSE_DUE - dt.timedelta(seconds=1))["escalated"] == 0
    counts = sla_services.run_sla_checks(RESPONSE_DUE)
    assert counts == {"escalated": 1, "warned": 0}
    t.refresh_from_db()
    assert t.response_breached and not t.resolution_breached
    assert t.escalated_to == desk["manager"] and t.escalated_at == RESPONSE_DUE
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    assert "SLA breached" in mail.outbox[0].subject
    assert any("Escalated to" in body for body in system_messages(t))
    entry = AuditEntry.objects.get(model="servicedesk.ticket", object_id=t.pk)
    assert entry.changes["response_breached"] == [False, True]
    assert entry.changes["escalated_to"][1] == str(desk["manager"])
    assert entry.customer_id == t.customer_id
    # Idempotent: a second and third run escalate nothing more.
    sla_services.run_sla_checks(RESPONSE_DUE)
    sla_services.run_sla_checks(RESPONSE_DUE + dt.timedelta(hours=1))
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(model="servicedesk.ticket", object_id=t.pk).count() == 1


def test_a_late_run_escalates_without_warning_first(desk):
    t = ticket_for(desk)
    counts = sla_services.run_sla_checks(RESPONSE_DUE + dt.timedelta(hours=2))
    assert counts["escalated"] == 1 and counts["warned"] == 0
    t.refresh_from_db()
    assert t.response_breached and t.response_warned_at is None


def test_an_answered_ticket_is_checked_against_its_resolution_target(desk):
    t = ticket_for(desk)
    Ticket.objects.filter(pk=t.pk).update(first_responded_at=at(2026, 3, 9, 10),
                                          status=TicketStatus.OPEN)
    assert sla_services.run_sla_checks(RESPONSE_DUE + dt.timedelta(days=1)) == {
        "escalated": 0, "warned": 0}
    assert sla_services.run_sla_checks(RESOLUTION_WARN - dt.timedelta(minutes=1))[
        "warned"] == 0
    assert sla_services.run_sla_checks(RESOLUTION_WARN)["warned"] == 1
    assert sla_services.run_sla_checks(RESOLUTION_DUE)["escalated"] == 1
    t.refresh_from_db()
    assert t.resolution_warned_at == RESOLUTION_WARN
    assert t.resolution_breached and not t.response_breached
    assert t.escalated_to == desk["manager"]


@pytest.mark.parametrize("status", [TicketStatus.RESOLVED, TicketStatus.CLOSED,
                                    TicketStatus.MERGED])
def test_resolved_or_closed_tickets_never_warn_or_escalate(desk, status):
    t = ticket_for(desk)
    Ticket.objects.filter(pk=t.pk).update(status=status)
    for when in (RESPONSE_WARN, RESPONSE_DUE, RESOLUTION_DUE + dt.timedelta(days=30)):
        assert sla_services.run_sla_checks(when) == {"escalated": 0, "warned": 0}
        assert not sla_services.pending(when)
    t.refresh_from_db()
    assert not t.response_breached and t.escalated_to is None
    assert mail.outbox == []


def test_deleted_tickets_are_left_alone(desk):
    t = ticket_for(desk)
    Ticket.all_objects.filter(pk=t.pk).update(deleted_at=OPENED)
    assert sla_services.run_sla_checks(RESOLUTION_DUE) == {"escalated": 0, "warned": 0}


def test_without_a_queue_manager_a_director_gets_the_escalation(desk, users):
    desk["queue"].manager = None
    desk["queue"].save()
    users["director"].email = "director@example.com"
    users["director"].save()
    t = ticket_for(desk)
    sla_services.run_sla_checks(RESPONSE_DUE)
    t.refresh_from_db()
    assert t.escalated_to == users["director"]
    assert mail.outbox[-1].to == ["director@example.com"]


def test_the_warning_follows_the_policys_warn_percent(desk):
    SlaPolicy.objects.filter(tier="B", priority="normal").update(warn_percent=50)
    t = ticket_for(desk)  # 8 h target: warn after 4 h → 14:00 (lunch excluded)
    assert sla_services.run_sla_checks(at(2026, 3, 9, 13, 59))["warned"] == 0
    assert sla_services.run_sla_checks(at(2026, 3, 9, 14))["warned"] == 1
    t.refresh_from_db()
    assert t.response_warned_at == at(2026, 3, 9, 14)


def test_the_warning_counts_business_hours_across_a_holiday(desk):
    # Opened Wednesday 2026-09-30 16:00, 8 h: 2 h + 6 h on 10-08 → due 10-08 16:00;
    # 75 % = 6 h → 10-08 14:00 (2 h, then 9–12 and 13–14). Nothing during the holiday.
    t = make_ticket(CustomerFactory(tier="B"), type_code="request",
                    created_at=at(2026, 9, 30, 16), assignee=desk["agent"])
    assert t.first_response_due_at == at(2026, 10, 8, 16)
    assert sla_services.run_sla_checks(at(2026, 10, 5, 12)) == {"escalated": 0, "warned": 0}
    assert sla_services.run_sla_checks(at(2026, 10, 8, 13, 59))["warned"] == 0
    assert sla_services.run_sla_checks(at(2026, 10, 8, 14))["warned"] == 1


def test_reprioritised_ticket_is_warned_again_against_its_new_target(desk):
    from guanxi.servicedesk import sla

    t = ticket_for(desk)
    sla_services.run_sla_checks(RESPONSE_WARN)
    t.refresh_from_db()
    t.priority = "low"  # B low: 16 h → due Tuesday 18:00, warn at 12 h → Tuesday 14:00
    sla.reprioritise(t, RESPONSE_WARN)
    t.save()
    assert t.response_warned_at is None
    assert sla_services.run_sla_checks(at(2026, 3, 10, 13, 59))["warned"] == 0
    assert sla_services.run_sla_checks(at(2026, 3, 10, 14))["warned"] == 1


# ---------------------------------------------------------------- the scheduler entry


def test_the_scheduler_entry_is_registered():
    entry = {e.key: e for e in scheduler.entries()}["servicedesk.sla_checks"]
    assert entry.every == dt.timedelta(minutes=1)


def test_the_scheduled_check_makes_no_job_when_nothing_is_due(desk,
                                                              django_assert_max_num_queries):
    ticket_for(desk)
    with django_assert_max_num_queries(12):
        assert sla_services.scheduled(RESPONSE_WARN - dt.timedelta(minutes=5)) is None
    assert not Job.objects.exists()


def test_the_scheduled_job_warns_and_escalates(desk, django_capture_on_commit_callbacks):
    t = ticket_for(desk)
    with django_capture_on_commit_callbacks(execute=True):
        job = sla_services.scheduled(RESPONSE_DUE)
    assert job is not None
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert job.result == {"escalated": 1, "warned": 0}
    t.refresh_from_db()
    assert t.response_breached and t.escalated_to == desk["manager"]


def test_the_warning_uses_the_tickets_own_target_after_a_policy_change(desk):
    t = ticket_for(desk)  # started with 8 h: due 18:00, warn at 16:00
    SlaPolicy.objects.filter(tier="B", priority="normal").update(first_response_hours=40)
    # The longer policy makes the ticket a candidate early; the rule still says no.
    assert sla_services.warning_candidates(sla_services.RESPONSE, at(2026, 3, 9, 9, 30)).filter(
        pk=t.pk).exists()
    assert sla_services.run_sla_checks(at(2026, 3, 9, 9, 30))["warned"] == 0
    assert sla_services.run_sla_checks(RESPONSE_WARN)["warned"] == 1


def test_a_ticket_is_claimed_once_even_by_concurrent_runs(desk):
    t = ticket_for(desk)
    stale_a = Ticket.objects.get(pk=t.pk)
    stale_b = Ticket.objects.get(pk=t.pk)  # both loaded before either claimed
    assert sla_services.warn(stale_a, sla_services.RESPONSE, RESPONSE_WARN) is True
    assert sla_services.warn(stale_b, sla_services.RESPONSE, RESPONSE_WARN) is False
    assert sla_services.escalate(stale_a, sla_services.RESPONSE, RESPONSE_DUE) is True
    assert sla_services.escalate(stale_b, sla_services.RESPONSE, RESPONSE_DUE) is False
    assert len(mail.outbox) == 2 and len(system_messages(t)) == 2
