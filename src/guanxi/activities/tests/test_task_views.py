"""Task pages: calendar day/week/month, list, create/edit/complete/cancel, permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import task_services as svc
from guanxi.activities.models import Interaction, Task, TaskStatus
from guanxi.core.models import AuditEntry
from guanxi.sales.services import opportunity_create
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def at(day: dt.date, h=10, minute=0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(h, minute)))


DAY = dt.date(2030, 4, 17)  # a Wednesday


@pytest.fixture
def customer(users):
    return CustomerFactory(name="重庆兴瑞环保有限公司", owner=users["rep"], team=users["rep"].team)


@pytest.fixture
def task(users, customer):
    return svc.task_create(actor=users["rep"], title="拜访兴瑞王经理", kind="visit",
                           customer=customer, due_at=at(DAY, 14, 30), location="兴瑞工厂")


@pytest.fixture
def foreign_task(users):
    """rep2's task on rep2's customer: invisible to rep and to the East manager."""
    c = CustomerFactory(name="山城机电", owner=users["rep2"], team=users["rep2"].team)
    return svc.task_create(actor=users["rep2"], title="山城回访", customer=c, due_at=at(DAY, 9))


def login(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("view", ["day", "week", "month"])
def test_each_calendar_view_shows_the_task_on_its_day(client, users, task, foreign_task, view):
    login(client, users["rep"])
    r = client.get(reverse("tasks:calendar"), {"view": view, "date": DAY.isoformat()})
    assert r.status_code == 200
    html = r.content.decode()
    assert "拜访兴瑞王经理" in html and "14:30" in html
    assert reverse("tasks:detail", args=[task.pk]) in html
    assert "山城回访" not in html
    # previous / next navigation
    step = {"day": "2030-04-16", "week": "2030-04-10", "month": "2030-03-01"}[view]
    assert f"date={step}" in html


def test_the_calendar_of_another_day_does_not_show_the_task(client, users, task):
    login(client, users["rep"])
    html = client.get(reverse("tasks:calendar"), {"view": "day", "date": "2030-04-18"}
                      ).content.decode()
    assert "拜访兴瑞王经理" not in html


def test_managers_look_at_their_team_and_reps_only_at_themselves(client, users, task,
                                                                 foreign_task):
    url = reverse("tasks:calendar")
    login(client, users["manager"])
    r = client.get(url, {"view": "week", "date": DAY.isoformat(), "user": users["rep"].pk})
    assert r.status_code == 200 and "拜访兴瑞王经理" in r.content.decode()
    assert client.get(url, {"user": users["rep2"].pk}).status_code == 404
    login(client, users["rep"])
    assert client.get(url, {"user": users["manager"].pk}).status_code == 404
    login(client, users["director"])
    r = client.get(url, {"view": "month", "date": DAY.isoformat(), "user": users["rep2"].pk})
    assert "山城回访" in r.content.decode()


def test_list_filters(client, users, task):
    svc.task_create(actor=users["rep"], title="早就该打的电话", kind="call",
                    due_at=timezone.now() - dt.timedelta(days=3))
    login(client, users["rep"])
    url = reverse("tasks:list")
    html = client.get(url).content.decode()
    assert "拜访兴瑞王经理" in html and "早就该打的电话" in html
    html = client.get(url, {"status": "overdue"}).content.decode()
    assert "早就该打的电话" in html and "拜访兴瑞王经理" not in html
    html = client.get(url, {"kind": "visit"}).content.decode()
    assert "拜访兴瑞王经理" in html and "早就该打的电话" not in html
    assert client.get(url, {"user": users["rep2"].pk}).status_code == 404


def test_invisible_tasks_and_links_are_404(client, users, foreign_task):
    login(client, users["rep"])
    for name in ("tasks:detail", "tasks:edit", "tasks:complete"):
        assert client.get(reverse(name, args=[foreign_task.pk])).status_code == 404
    for name in ("tasks:cancel", "tasks:delete"):
        assert client.post(reverse(name, args=[foreign_task.pk])).status_code == 404
    assert client.get(reverse("tasks:create"),
                      {"customer": foreign_task.customer_id}).status_code == 404
    foreign_task.refresh_from_db()
    assert foreign_task.status == TaskStatus.OPEN and foreign_task.deleted_at is None


def test_refused_writes_are_403_and_write_nothing(client, users, task):
    login(client, users["service"])  # sees every customer, may not change rep's task
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 200
    assert client.get(reverse("tasks:edit", args=[task.pk])).status_code == 403
    r = client.post(reverse("tasks:edit", args=[task.pk]),
                    {"title": "改掉", "kind": "todo", "assignee": users["service"].pk,
                     "due_at": "2030-04-17T10:00", "version": 1})
    assert r.status_code == 403
    assert client.post(reverse("tasks:complete", args=[task.pk])).status_code == 403
    assert client.post(reverse("tasks:cancel", args=[task.pk])).status_code == 403
    assert client.post(reverse("tasks:delete", args=[task.pk])).status_code == 403
    login(client, users["readonly"])
    assert client.get(reverse("tasks:create")).status_code == 403
    assert client.post(reverse("tasks:create"), {"title": "x", "kind": "todo",
                                                 "due_at": "2030-04-17T10:00"}).status_code == 403
    task.refresh_from_db()
    assert (task.title, task.status, task.version, task.deleted_at) == (
        "拜访兴瑞王经理", "open", 1, None)
    assert Task.all_objects.count() == 1 and not Interaction.objects.exists()
    assert AuditEntry.objects.filter(model="activities.task").count() == 1


def test_create_prefilled_from_a_customer_and_a_date(client, users, customer):
    login(client, users["rep"])
    url = reverse("tasks:create") + f"?customer={customer.pk}&date=2030-05-06"
    r = client.get(url)
    html = r.content.decode()
    assert r.status_code == 200 and customer.name in html and "2030-05-06T09:00" in html
    r = client.post(url, {"title": "送样品", "kind": "visit", "assignee": users["rep"].pk,
                          "due_at": "2030-05-06T09:00", "customer": customer.pk,
                          "remind_minutes_before": "60", "recurrence": "",
                          "recurrence_interval": "1"})
    t = Task.objects.get(title="送样品")
    assert r.status_code == 302 and r["Location"] == reverse("tasks:detail", args=[t.pk])
    assert t.customer == customer and t.remind_at == at(dt.date(2030, 5, 6), 8)


def test_create_from_a_deal_links_its_customer(client, users, customer):
    deal = opportunity_create(actor=users["rep"], customer=customer, name="反渗透设备")
    login(client, users["rep"])
    url = reverse("tasks:create") + f"?opportunity={deal.pk}"
    assert "反渗透设备" in client.get(url).content.decode()
    r = client.post(url, {"title": "报价电话", "kind": "call", "assignee": users["rep"].pk,
                          "due_at": "2030-05-06T11:00", "opportunity": deal.pk,
                          "customer": customer.pk})
    assert r.status_code == 302
    t = Task.objects.get(title="报价电话")
    assert t.opportunity == deal and t.customer == customer


def test_form_errors_are_shown_and_nothing_saved(client, users):
    login(client, users["rep"])
    r = client.post(reverse("tasks:create"), {"title": "会", "kind": "meeting",
                                              "assignee": users["rep"].pk,
                                              "due_at": "2030-05-06T11:00",
                                              "end_at": "2030-05-06T10:00"})
    assert r.status_code == 200 and not Task.objects.exists()
    assert "errorlist" in r.content.decode()


def test_edit_with_a_stale_version_shows_the_conflict(client, users, task):
    svc.task_update(actor=users["manager"], task=task, version=1, location="新地址")
    login(client, users["rep"])
    r = client.post(reverse("tasks:edit", args=[task.pk]), {
        "title": "改标题", "kind": "visit", "assignee": users["rep"].pk,
        "due_at": "2030-04-17T14:30", "customer": task.customer_id, "version": 1})
    assert r.status_code == 200 and 'id="conflict"' in r.content.decode()
    task.refresh_from_db()
    assert task.title == "拜访兴瑞王经理" and task.location == "新地址"


def test_complete_form_logs_the_visit(client, users, task):
    login(client, users["rep"])
    url = reverse("tasks:complete", args=[task.pk])
    assert client.get(url).status_code == 200
    r = client.post(url, {"outcome": "interested", "notes": "客户要报价",
                          "log_interaction": "on"})
    assert r.status_code == 302
    task.refresh_from_db()
    ix = Interaction.objects.get()
    assert task.status == "done" and task.interaction == ix
    assert (ix.kind, ix.outcome, ix.body) == ("visit", "interested", "客户要报价")


def test_cancel_and_delete(client, users, task):
    login(client, users["rep"])
    assert client.post(reverse("tasks:cancel", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
    assert client.post(reverse("tasks:delete", args=[task.pk])).status_code == 302
    assert not Task.objects.exists()


def test_task_detail_and_customer_timeline(client, users, task, customer):
    login(client, users["rep"])
    html = client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "兴瑞工厂" in html and reverse("tasks:complete", args=[task.pk]) in html
    html = client.get(customer.get_absolute_url()).content.decode()
    assert "panel-tasks" in html and "拜访兴瑞王经理" in html
    assert f"/tasks/new/?customer={customer.pk}" in html
    login(client, users["readonly"])
    html = client.get(customer.get_absolute_url()).content.decode()
    assert "panel-tasks" in html and f"/tasks/new/?customer={customer.pk}" not in html
