"""Demo service desk: staffed queues, a year of tickets routed and measured against
their SLAs, field visits with reports, complaints, surveys; consistent with the ERP
mirror and safe to load again after `--reset`."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction

from guanxi.accounts.models import Role, User
from guanxi.activities.models import Task
from guanxi.commerce.models import Contract, Invoice, Order
from guanxi.core.models import AuditEntry
from guanxi.demo.company import DEMO_PASSWORD
from guanxi.demo.service_vocab import QUEUE_STAFF, SERVICE_USERS
from guanxi.servicedesk import calendar
from guanxi.servicedesk.models import (
    OPEN_TICKET_STATUSES,
    Asset,
    Complaint,
    FieldVisit,
    NpsCampaign,
    Queue,
    Survey,
    Ticket,
    TicketMessage,
    TimeEntry,
)

TODAY = dt.date(2026, 3, 31)
LOCAL = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime.combine(TODAY, dt.time(), LOCAL)
N = 2000


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The default demo, loaded once for the module and rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("demo", f"--today={TODAY}", "--seed=11", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo, db):
    return demo


def test_staff_queues_and_logins(loaded):
    for username, _name, team, region in SERVICE_USERS:
        user = User.objects.get(username=username)
        assert user.role == Role.SERVICE and user.team.name == team
        assert user.check_password(DEMO_PASSWORD)
        assert username in loaded  # printed with the other logins
        if region:
            assert user.team.parent.name == "工程部"
    assert User.objects.get(username="rep_sh1").check_password(DEMO_PASSWORD)
    for code, (team, manager, members, default) in QUEUE_STAFF.items():
        queue = Queue.objects.get(code=code)
        assert queue.team.name == team
        assert queue.manager.username == manager
        assert queue.default_assignee.username == default
        assert set(queue.members.values_list("username", flat=True)) == set(members)
    assert "ERP mirror and service desk" in loaded


def test_tickets_in_plausible_proportions(loaded):
    tickets = list(Ticket.all_objects.select_related("type", "queue"))
    n = len(tickets)
    assert 0.25 * N < n < 1.0 * N
    types = Counter(t.type.code for t in tickets)
    assert set(types) == {"equipment_fault", "system_fault", "contract_delivery", "payment",
                          "complaint", "request", "feedback"}
    assert types.most_common(1)[0][0] == "equipment_fault"
    assert 0.04 < types["complaint"] / n < 0.09
    channels = Counter(t.channel for t in tickets)
    assert {"phone", "email", "web", "visit", "other"} <= set(channels)
    assert channels["phone"] < 0.6 * n
    status = Counter(t.status for t in tickets)
    assert status["closed"] + status["resolved"] > 0.85 * n
    open_ = [t for t in tickets if t.status in OPEN_TICKET_STATUSES]
    assert 10 <= len(open_) < 0.1 * n
    assert {"new", "open", "pending", "merged"} <= set(status)
    assert sum(t.resolution_breached for t in open_) >= 2  # breached now
    at_risk = [t for t in open_ if t.resolution_warned_at and not t.resolution_breached]
    assert len(at_risk) >= 2
    # A year of tickets, nothing in the future.
    created = [t.created_at for t in tickets]
    assert min(created) >= NOW - dt.timedelta(days=366) and max(created) < NOW
    assert len({c.astimezone(LOCAL).strftime("%Y-%m") for c in created}) >= 12


def test_equipment_faults_follow_the_installed_base(loaded):
    with_assets = set(Asset.objects.values_list("customer_id", flat=True))
    faults = Counter(Ticket.all_objects.filter(type__code="equipment_fault")
                     .values_list("customer_id", flat=True))
    rate_with = sum(faults[c] for c in with_assets) / len(with_assets)
    others = N - len(with_assets)
    rate_without = sum(v for c, v in faults.items() if c not in with_assets) / others
    assert rate_with > 3 * rate_without
    linked = Ticket.all_objects.exclude(asset=None).select_related("asset", "contract", "order")
    assert linked.count() > 100
    for t in linked:
        assert t.asset.customer_id == t.customer_id
        assert t.order_id == t.asset.order_id and t.contract_id == t.asset.contract_id
        assert t.created_at.astimezone(LOCAL).date() > t.asset.installed_on
    for t in Ticket.all_objects.exclude(order=None).select_related("order"):
        assert t.order.customer_id == t.customer_id
        assert t.contract_id == t.order.contract_id
    assert Ticket.all_objects.filter(type__code="payment").exclude(order=None).exists()
    # Assets with an open fault are marked faulty; the others are in service.
    faulty = set(Asset.objects.filter(status="faulty").values_list("pk", flat=True))
    open_faults = set(Ticket.objects.filter(status__in=OPEN_TICKET_STATUSES,
                                            type__code="equipment_fault")
                      .exclude(asset=None).values_list("asset_id", flat=True))
    assert faulty == open_faults


def test_routing_and_assignment(loaded):
    members = {q.pk: set(q.members.values_list("pk", flat=True)) for q in Queue.objects.all()}
    techs = {u.pk: u.team.name[:2] for u in User.objects.filter(
        username__startswith="tech_").select_related("team")}
    for t in Ticket.all_objects.select_related("type", "customer__team__parent"):
        assert t.queue_id == t.type.queue_id
        assert t.assignee_id is None or t.assignee_id in members[t.queue_id], t.pk
        if t.assignee_id in techs and t.customer.country == "CN":
            assert t.customer.team.parent.name.startswith(techs[t.assignee_id])
    assert not Ticket.all_objects.filter(assignee=None).exclude(status="new").exists()
    assert Ticket.all_objects.filter(created_by=None, channel="email").exists()
    assert Ticket.all_objects.filter(created_by__role=Role.REP).exists()


def test_sla_fields_follow_the_working_calendar(loaded):
    cal = calendar.load(TODAY - dt.timedelta(days=420), TODAY + dt.timedelta(days=60))
    tickets = list(Ticket.all_objects.select_related("sla_policy", "customer", "queue"))
    for t in tickets:
        p = t.sla_policy
        assert p is not None and p.priority == t.priority
        assert p.tier in ("", t.customer.tier)
        assert t.first_response_due_at == calendar.add_business_hours(
            t.created_at, p.first_response_hours, cal)
        assert t.resolution_due_at == calendar.add_business_hours(
            t.created_at, p.resolution_hours, cal)
        if t.status == "merged":
            continue
        responded = t.first_responded_at or NOW
        assert t.response_breached == (responded > t.first_response_due_at), t.pk
        resolved = t.resolved_at or NOW
        assert t.resolution_breached == (resolved > t.resolution_due_at), t.pk
        if t.escalated_at:
            assert t.resolution_breached and t.escalated_to_id == t.queue.manager_id
            assert t.resolution_due_at <= t.escalated_at < NOW
        if t.resolution_breached and t.resolution_due_at < NOW:
            assert t.escalated_at
        if t.first_responded_at:
            assert t.created_at < t.first_responded_at < NOW
        if t.resolved_at:
            assert t.first_responded_at <= t.resolved_at < NOW
        if t.closed_at:
            assert t.status == "closed" and t.closed_at > t.resolved_at
    met = sum(not t.resolution_breached for t in tickets) / len(tickets)
    assert 0.75 < met < 0.95


def test_messages_replies_and_notes(loaded):
    msgs = defaultdict(list)
    for m in TicketMessage.objects.order_by("created_at", "pk"):
        msgs[m.ticket_id].append(m)
    kinds = Counter(m.kind for ms in msgs.values() for m in ms)
    assert {"reply", "note", "inbound", "system"} <= set(kinds)
    for t in Ticket.all_objects.all():
        ms = msgs[t.pk]
        assert all(t.created_at <= m.created_at < NOW and "{" not in m.body for m in ms)
        assert ms or (t.channel == "phone" and t.status == "new")  # a call not answered yet
        if t.first_responded_at:
            first = next(m for m in ms if m.kind == "reply")
            assert first.created_at == t.first_responded_at and first.author_id
        if t.resolved_at:
            assert any(m.kind == "reply" and m.created_at == t.resolved_at for m in ms)
        if t.channel == "email":
            assert ms[0].kind == "inbound"
    # Time spent on a ticket is the sum of its time entries.
    spent = defaultdict(int)
    for e in TimeEntry.objects.all():
        assert e.ticket_id
        spent[e.ticket_id] += e.minutes
    for t in Ticket.all_objects.all():
        assert t.time_spent_minutes == spent[t.pk]


def test_field_visits(loaded):
    visits = list(FieldVisit.objects.select_related("ticket", "technician"))
    status = Counter(v.status for v in visits)
    assert status["done"] > 0.8 * len(visits) and status["scheduled"] and status["cancelled"]
    engineering = set(Queue.objects.get(code="engineering").members
                      .values_list("pk", flat=True))
    for v in visits:
        assert v.customer_id == v.ticket.customer_id  # visits belong to the customer's ticket
        assert v.technician_id in engineering
        assert v.scheduled_start < v.scheduled_end
        assert v.scheduled_start >= v.ticket.created_at
        if v.status == "done":
            assert v.work_done and v.signed_off_by and v.time_spent_minutes > 0
            assert v.completed_at < NOW and v.outcome in ("resolved", "follow_up")
            assert TimeEntry.objects.filter(visit=v, kind="visit").exists()
            assert TimeEntry.objects.filter(visit=v, kind="travel").exists()
        if v.status == "scheduled":
            assert v.scheduled_start >= NOW and v.ticket.status in OPEN_TICKET_STATUSES
    assert any(v.parts_used and {"part", "quantity"} <= set(v.parts_used[0]) for v in visits)
    # Every technician has visits booked in the coming days.
    for tech in User.objects.filter(username__startswith="tech_"):
        ahead = [v for v in visits if v.technician_id == tech.pk and v.status == "scheduled"]
        assert len(ahead) >= 2, tech.username
    # A resolved visit closes its ticket.
    for v in visits:
        if v.outcome == "resolved":
            assert v.ticket.resolved_at and v.ticket.resolved_at > v.completed_at


def test_complaints(loaded):
    complaints = list(Complaint.objects.select_related("ticket__customer", "follow_up_task"))
    tickets = Ticket.all_objects.filter(type__is_complaint=True).exclude(status="merged")
    assert {c.ticket_id for c in complaints} == set(tickets.values_list("pk", flat=True))
    assert len({c.severity for c in complaints}) == 3
    resolved = [c for c in complaints if c.ticket.resolved_at]
    assert resolved and len({c.root_cause_category for c in resolved}) >= 4
    for c in resolved:
        assert c.root_cause and c.corrective_action
        task = c.follow_up_task
        assert task is not None and task.kind == "call"
        assert task.customer_id == c.ticket.customer_id
        assert task.assignee_id in (c.ticket.customer.owner_id, c.ticket.assignee_id) or \
            task.assignee_id == c.ticket.queue.manager_id
        assert task.due_at > c.ticket.resolved_at
        if c.follow_up_done_at:
            assert task.status == "done" and c.follow_up_satisfied is not None
            assert c.follow_up_notes
    assert any(c.follow_up_satisfied for c in complaints)


def test_surveys(loaded):
    resolved = Ticket.all_objects.exclude(resolved_at=None)
    csat = list(Survey.objects.filter(kind="csat").select_related("ticket"))
    assert len({s.ticket_id for s in csat}) == len(csat)  # one per ticket
    answered = [s for s in csat if s.answered_at]
    assert 0.5 < len(answered) / resolved.count() < 0.7
    scores = Counter(s.score for s in answered)
    assert (scores[4] + scores[5]) / len(answered) > 0.75
    assert scores[1] + scores[2] >= 3
    for s in csat:
        assert s.ticket.resolved_at <= s.sent_at < s.expires_at
        assert s.queue_id == s.ticket.queue_id and s.agent_id == s.ticket.assignee_id
        assert s.customer_id == s.ticket.customer_id
        if s.answered_at:
            assert s.sent_at < s.answered_at < min(s.expires_at, NOW)
        assert bool(s.follow_up_task_id) == (s.is_low and bool(
            s.customer.owner_id or s.ticket.assignee_id or s.ticket.queue.manager_id))
    campaign = NpsCampaign.objects.get()
    nps = Survey.objects.filter(kind="nps")
    assert campaign.sent_count == nps.count() > 100
    assert campaign.segment and campaign.sent_at < NOW
    assert not nps.exclude(campaign=campaign).exists()
    assert set(nps.values_list("customer__stage", flat=True)) == {"customer"}
    answers = nps.exclude(answered_at=None)
    assert 0.3 < answers.count() / nps.count() < 0.55
    detractors = answers.filter(score__lte=6)
    assert detractors.exists() and answers.filter(score__gte=9).count() > detractors.count()
    assert not detractors.filter(follow_up_task=None).exclude(customer__owner=None).exists()
    follow_ups = Task.objects.filter(pk__in=Survey.objects.exclude(follow_up_task=None)
                                     .values("follow_up_task"))
    assert follow_ups.filter(status="done").exists() and not follow_ups.filter(
        due_at__lt=NOW - dt.timedelta(days=30), status="open").count() > 10


def test_commerce_rows_referenced_by_service_exist(loaded):
    assert Ticket.all_objects.exclude(contract=None).count() > 50
    assert Contract.objects.filter(tickets__isnull=False).exists()
    assert Order.objects.filter(tickets__isnull=False).exists()
    # Overdue invoices are there for the screen-pop and the finance queue.
    assert Invoice.objects.filter(status__in=("open", "partially_paid"),
                                  due_on__lt=TODAY).exists()


def test_no_audit_entries_for_service_rows(loaded):
    assert not AuditEntry.objects.filter(model__startswith="servicedesk.").exists()
