"""Task services: linking, reminders, completion logging, recurrence, permissions, timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.activities import task_services as svc
from guanxi.activities.models import Interaction, Task, TaskStatus
from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.core.registry import timeline_page
from guanxi.sales.models import Lead
from guanxi.sales.services import opportunity_create
from guanxi.testing.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def at(y, m, d, h=10, minute=0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(y, m, d, h, minute))


@pytest.fixture
def customer(users):
    return CustomerFactory(name="重庆兴瑞环保有限公司", owner=users["rep"], team=users["rep"].team)


@pytest.fixture
def other_customer(users):
    """rep2's customer in Chongqing: invisible to rep and to the East manager."""
    return CustomerFactory(name="山城机电", owner=users["rep2"], team=users["rep2"].team)


@pytest.fixture
def deal(users, customer):
    return opportunity_create(actor=users["rep"], customer=customer, name="反渗透设备")


# --- create, link, remind_at ---------------------------------------------------------------


def test_create_defaults_to_the_actor_computes_the_reminder_and_audits(users, customer):
    t = svc.task_create(actor=users["rep"], title=" 回访报价 ", kind="call", customer=customer,
                        due_at=at(2030, 3, 4, 10), remind_minutes_before=30)
    assert t.title == "回访报价" and t.assignee == users["rep"] and t.created_by == users["rep"]
    assert t.remind_at == at(2030, 3, 4, 9, 30) and t.reminded_at is None
    entry = AuditEntry.objects.get(model="activities.task", object_id=t.pk)
    assert entry.action == "create" and entry.customer_id == customer.pk
    assert entry.changes["title"] == [None, "回访报价"]


def test_changing_the_due_time_recomputes_and_rearms_the_reminder(users, customer):
    t = svc.task_create(actor=users["rep"], title="拜访", customer=customer,
                        due_at=at(2030, 3, 4, 10), remind_minutes_before=60)
    Task.objects.filter(pk=t.pk).update(reminded_at=timezone.now())
    t = svc.task_update(actor=users["rep"], task=t, version=1, due_at=at(2030, 3, 5, 14))
    assert t.remind_at == at(2030, 3, 5, 13) and t.reminded_at is None and t.version == 2
    t = svc.task_update(actor=users["rep"], task=t, version=2, remind_minutes_before=None)
    assert t.remind_at is None
    with pytest.raises(ConflictError):
        svc.task_update(actor=users["rep"], task=t, version=1, title="旧版本")


def test_a_task_on_a_deal_takes_its_customer_and_a_lead_task_has_none(users, customer, deal):
    t = svc.task_create(actor=users["rep"], title="报价", opportunity=deal, due_at=at(2030, 1, 2))
    assert t.customer == customer and t.opportunity == deal
    lead = Lead.objects.create(company="成都新风科技", owner=users["rep"])
    t2 = svc.task_create(actor=users["rep"], title="初次电话", lead=lead, due_at=at(2030, 1, 2))
    assert t2.customer is None and t2.lead == lead
    with pytest.raises(ValidationError) as exc:
        svc.task_create(actor=users["rep"], title="x", lead=lead, customer=customer,
                        due_at=at(2030, 1, 2))
    assert "lead" in exc.value.message_dict


def test_bad_input_names_the_fields_and_writes_nothing(users, customer):
    contact = ContactFactory()  # of another customer
    with pytest.raises(ValidationError) as exc:
        svc.task_create(actor=users["rep"], title=" ", customer=customer, contact=contact,
                        due_at=at(2030, 1, 2, 10), end_at=at(2030, 1, 2, 9),
                        recurrence="weekly", recurrence_interval=0)
    assert set(exc.value.message_dict) >= {"title", "contact", "end_at", "recurrence_interval"}
    assert not Task.all_objects.exists() and not AuditEntry.objects.filter(
        model="activities.task").exists()


def test_all_day_tasks_start_at_local_midnight(users):
    t = svc.task_create(actor=users["rep"], title="展会", all_day=True,
                        due_at=at(2030, 5, 6, 15), end_at=at(2030, 5, 8, 11))
    assert timezone.localtime(t.due_at).time() == dt.time(0, 0)
    assert timezone.localtime(t.end_at).date() == dt.date(2030, 5, 8)


# --- completion ---------------------------------------------------------------------------


def test_completing_a_visit_on_a_deal_logs_exactly_one_interaction(users, customer, deal):
    contact = ContactFactory(customer=customer, name="王经理")
    t = svc.task_create(actor=users["rep"], title="现场拜访王经理", kind="visit",
                        opportunity=deal, contact=contact, due_at=at(2030, 2, 1, 14),
                        end_at=at(2030, 2, 1, 15, 30))
    done = svc.task_complete(actor=users["rep"], task=t, outcome="interested", notes="需要方案")
    assert Interaction.objects.count() == 1
    ix = Interaction.objects.get()
    assert (ix.kind, ix.subject, ix.outcome, ix.body) == ("visit", "现场拜访王经理",
                                                          "interested", "需要方案")
    assert ix.customer == customer and ix.contact == contact and ix.opportunity == deal
    assert ix.duration_minutes == 90 and ix.created_by == users["rep"]
    assert done.interaction == ix and done.status == TaskStatus.DONE and done.done_at
    assert Task.objects.get(pk=t.pk).interaction_id == ix.pk
    customer.refresh_from_db()
    assert customer.last_contact_at == ix.occurred_at
    with pytest.raises(ValidationError):  # only once
        svc.task_complete(actor=users["rep"], task=t)
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize("kind,expected", [("call", "call"), ("meeting", "meeting"),
                                           ("email", "email"), ("todo", None)])
def test_kind_mapping_and_a_todo_logs_nothing(users, customer, kind, expected):
    t = svc.task_create(actor=users["rep"], title="跟进", kind=kind, customer=customer,
                        due_at=at(2030, 2, 1))
    svc.task_complete(actor=users["rep"], task=t, outcome="reached")
    assert list(Interaction.objects.values_list("kind", flat=True)) == (
        [expected] if expected else [])


def test_completion_can_skip_logging_and_tasks_without_customer_log_nothing(users, customer):
    t = svc.task_create(actor=users["rep"], title="电话", kind="call", customer=customer,
                        due_at=at(2030, 2, 1))
    assert svc.task_complete(actor=users["rep"], task=t, log_interaction=False).interaction is None
    lead = Lead.objects.create(company="线索公司", owner=users["rep"])
    t2 = svc.task_create(actor=users["rep"], title="电话", kind="call", lead=lead,
                         due_at=at(2030, 2, 1))
    svc.task_complete(actor=users["rep"], task=t2, outcome="no_answer")
    assert not Interaction.objects.exists()


def test_cancel(users, customer):
    t = svc.task_create(actor=users["rep"], title="电话", customer=customer, due_at=at(2030, 2, 1))
    assert svc.task_cancel(actor=users["rep"], task=t).status == TaskStatus.CANCELLED
    with pytest.raises(ValidationError):
        svc.task_complete(actor=users["rep"], task=t)


# --- recurrence ----------------------------------------------------------------------------


def test_weekly_every_two_weeks_until_a_date_makes_the_series(users, customer):
    head = svc.task_create(actor=users["rep"], title="周会", kind="meeting", customer=customer,
                           due_at=at(2030, 1, 7, 9), end_at=at(2030, 1, 7, 10),
                           remind_minutes_before=15, recurrence="weekly", recurrence_interval=2,
                           recurrence_until=dt.date(2030, 2, 4))
    first = svc.task_complete(actor=users["rep"], task=head, outcome="info")
    second = first.next_occurrence
    assert second.due_at == at(2030, 1, 21, 9) and second.end_at == at(2030, 1, 21, 10)
    assert second.series == head and second.status == TaskStatus.OPEN
    assert second.remind_at == at(2030, 1, 21, 8, 45) and second.reminded_at is None
    third = svc.task_complete(actor=users["rep"], task=second).next_occurrence
    assert third.due_at == at(2030, 2, 4, 9) and third.series == head  # until is inclusive
    assert svc.task_complete(actor=users["rep"], task=third).next_occurrence is None
    assert Task.objects.filter(series=head).count() == 2
    assert Interaction.objects.filter(kind="meeting").count() == 3


def test_a_cancelled_occurrence_keeps_the_series_unless_stopped(users):
    head = svc.task_create(actor=users["rep"], title="日报", due_at=at(2030, 1, 1, 18),
                           recurrence="daily")
    nxt = svc.task_cancel(actor=users["rep"], task=head).next_occurrence
    assert nxt.due_at == at(2030, 1, 2, 18)
    assert svc.task_cancel(actor=users["rep"], task=nxt, stop_series=True).next_occurrence is None
    assert Task.objects.count() == 2


def test_monthly_follows_the_head_not_the_drifted_date(users):
    head = svc.task_create(actor=users["rep"], title="月结", due_at=at(2030, 1, 15, 10),
                           recurrence="monthly")
    nxt = svc.task_complete(actor=users["rep"], task=head).next_occurrence
    nxt = svc.task_update(actor=users["rep"], task=nxt, version=1, due_at=at(2030, 2, 20, 10))
    assert svc.task_complete(actor=users["rep"], task=nxt).next_occurrence.due_at == \
        at(2030, 3, 15, 10)


# --- permissions -------------------------------------------------------------------------------


def test_readonly_may_not_create(users, customer):
    with pytest.raises(PermissionDenied):
        svc.task_create(actor=users["readonly"], title="x", due_at=at(2030, 1, 1))
    assert not Task.all_objects.exists()


def test_no_task_on_a_record_the_user_may_not_read(users, other_customer):
    with pytest.raises(PermissionDenied):
        svc.task_create(actor=users["rep"], title="x", customer=other_customer,
                        due_at=at(2030, 1, 1))
    lead = Lead.objects.create(company="别人的线索", owner=users["rep2"])
    with pytest.raises(PermissionDenied):
        svc.task_create(actor=users["rep"], title="x", lead=lead, due_at=at(2030, 1, 1))
    deal = opportunity_create(actor=users["rep2"], customer=other_customer, name="d")
    with pytest.raises(PermissionDenied):
        svc.task_create(actor=users["manager"], title="x", opportunity=deal,
                        due_at=at(2030, 1, 1))
    assert not Task.all_objects.exists()


def test_who_may_assign_to_whom(users, customer):
    with pytest.raises(PermissionDenied):
        svc.task_create(actor=users["rep"], title="x", assignee=users["manager"],
                        due_at=at(2030, 1, 1))
    t = svc.task_create(actor=users["manager"], title="x", assignee=users["rep"],
                        customer=customer, due_at=at(2030, 1, 1))
    assert t.assignee == users["rep"] and t.created_by == users["manager"]
    with pytest.raises(PermissionDenied):  # Chongqing is outside the East subtree
        svc.task_create(actor=users["manager"], title="x", assignee=users["rep2"],
                        due_at=at(2030, 1, 1))
    assert svc.task_create(actor=users["director"], title="x", assignee=users["rep2"],
                           due_at=at(2030, 1, 1)).assignee == users["rep2"]
    users["rep2"].is_active = False
    users["rep2"].save()
    with pytest.raises(ValidationError) as exc:
        svc.task_create(actor=users["director"], title="x", assignee=users["rep2"],
                        due_at=at(2030, 1, 1))
    assert "assignee" in exc.value.message_dict
    assert Task.objects.count() == 2


def test_who_may_edit_and_complete(users, customer):
    t = svc.task_create(actor=users["rep"], title="回访", kind="call", customer=customer,
                        due_at=at(2030, 1, 1))
    assert svc.can_edit_task(users["manager"], t) and svc.can_edit_task(users["director"], t)
    for name in ("rep2", "service", "readonly", "marketing"):
        assert not svc.can_edit_task(users[name], t), name
        with pytest.raises(PermissionDenied):
            svc.task_complete(actor=users[name], task=t)
        with pytest.raises(PermissionDenied):
            svc.task_update(actor=users[name], task=t, version=None, title="改")
        with pytest.raises(PermissionDenied):
            svc.task_delete(actor=users[name], task=t)
    t.refresh_from_db()
    assert t.status == "open" and t.title == "回访" and t.version == 1 and t.deleted_at is None
    assert not Interaction.objects.exists()
    svc.task_delete(actor=users["manager"], task=t)
    assert not Task.objects.exists() and Task.all_objects.get().deleted_by == users["manager"]


# --- timeline -------------------------------------------------------------------------------


def test_tasks_appear_on_the_customer_timeline(users, customer):
    todo = svc.task_create(actor=users["rep"], title="寄样品", customer=customer,
                           due_at=at(2030, 1, 1))
    svc.task_complete(actor=users["rep"], task=todo, outcome="info")
    call = svc.task_create(actor=users["rep"], title="电话回访", kind="call", customer=customer,
                           due_at=at(2030, 1, 2))
    svc.task_complete(actor=users["rep"], task=call)
    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds={"task"})
    titles = [e.title for e in entries]
    assert all(e.kind == "task" for e in entries)
    assert sum("寄样品" in x for x in titles) == 2  # planned and done
    assert sum("电话回访" in x for x in titles) == 1  # done shows as the logged call
    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds={"call"})
    assert [e.title for e in entries] == ["电话回访"]
