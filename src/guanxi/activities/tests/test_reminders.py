"""Reminders: which are due, one e-mail each through a real SMTP server, the job, My day."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import reminders
from guanxi.activities import task_services as svc
from guanxi.activities.models import Task
from guanxi.core.models import Job, JobStatus
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "crm@guanxi.test"
    yield inbox
    controller.stop()


def at(y, m, d, h=10, minute=0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(y, m, d, h, minute))


@pytest.fixture
def rep(users):
    users["rep"].email = "rep@guanxi.test"
    users["rep"].save()
    return users["rep"]


def test_due_reminders_are_those_whose_time_has_come(rep):
    t = svc.task_create(actor=rep, title="回访", due_at=at(2030, 3, 4, 10),
                        remind_minutes_before=30)
    svc.task_create(actor=rep, title="无提醒", due_at=at(2030, 3, 4, 10))
    assert list(reminders.due_reminders(at(2030, 3, 4, 9, 29))) == []
    assert list(reminders.due_reminders(at(2030, 3, 4, 9, 30))) == [t]
    svc.task_cancel(actor=rep, task=t)
    assert list(reminders.due_reminders(at(2030, 3, 4, 9, 30))) == []


def test_each_reminder_is_mailed_once_through_smtp(smtp, rep, users):
    customer = CustomerFactory(name="重庆兴瑞环保有限公司", owner=rep, team=rep.team)
    t = svc.task_create(actor=rep, title="电话回访王经理", kind="call", customer=customer,
                        due_at=at(2030, 3, 4, 10), remind_minutes_before=15, location="会议室A")
    svc.task_create(actor=users["rep2"], title="没有邮箱的人", due_at=at(2030, 3, 4, 10),
                    remind_minutes_before=15)  # rep2 has no e-mail: skipped
    svc.task_create(actor=rep, title="以后", due_at=at(2030, 3, 5, 10), remind_minutes_before=15)
    now = at(2030, 3, 4, 9, 50)
    assert reminders.send_due_reminders(now) == 1
    assert len(smtp.messages) == 1
    rcpt, msg = smtp.messages[0]
    assert rcpt == ["rep@guanxi.test"] and msg["From"] == "crm@guanxi.test"
    assert "电话回访王经理" in msg["Subject"]
    body = msg.get_body().get_content()
    assert "重庆兴瑞环保有限公司" in body and "会议室A" in body
    t.refresh_from_db()
    assert t.reminded_at == now
    assert reminders.send_due_reminders(now + dt.timedelta(minutes=5)) == 0
    assert len(smtp.messages) == 1
    assert not reminders.due_reminders(now).exists()  # rep2's was claimed too


def test_moving_the_task_rearms_the_reminder(smtp, rep):
    t = svc.task_create(actor=rep, title="拜访", due_at=at(2030, 3, 4, 10), remind_minutes_before=0)
    assert reminders.send_due_reminders(at(2030, 3, 4, 10)) == 1
    t = svc.task_update(actor=rep, task=t, version=None, due_at=at(2030, 3, 6, 10))
    assert reminders.send_due_reminders(at(2030, 3, 5, 10)) == 0
    assert reminders.send_due_reminders(at(2030, 3, 6, 10)) == 1
    assert len(smtp.messages) == 2


def test_the_background_job_sends_and_records(smtp, rep):
    svc.task_create(actor=rep, title="周报", due_at=at(2030, 3, 4, 10), remind_minutes_before=60)
    job = reminders.start_send_due_reminders(now=at(2030, 3, 4, 9, 30))
    # ImmediateBackend runs it on commit; the test transaction never commits, so run it.
    reminders.send_due_reminders_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"sent": 1}
    assert len(smtp.messages) == 1 and Job.objects.filter(kind="send_due_reminders").count() == 1


def test_the_scheduler_entry_starts_a_job_only_when_something_is_due(rep, django_capture_on_commit_callbacks):
    assert reminders._scheduled() is None
    svc.task_create(actor=rep, title="现在", due_at=timezone.now() + dt.timedelta(minutes=5),
                    remind_minutes_before=10)
    with django_capture_on_commit_callbacks(execute=True):
        job = reminders._scheduled()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"sent": 1}
    assert Task.objects.get().reminded_at is not None


def test_my_day_shows_overdue_today_and_due_reminders(client, rep):
    now = timezone.now()
    svc.task_create(actor=rep, title="过期任务", due_at=now - dt.timedelta(days=2))
    svc.task_create(actor=rep, title="今天的任务", due_at=timezone.make_aware(
        dt.datetime.combine(timezone.localdate(), dt.time(23, 59))))
    svc.task_create(actor=rep, title="后天的拜访", due_at=now + dt.timedelta(days=2),
                    remind_minutes_before=3 * 24 * 60)
    svc.task_create(actor=rep, title="下个月", due_at=now + dt.timedelta(days=30),
                    remind_minutes_before=60)
    mine = reminders.my_day_tasks(rep, now)
    assert [t.title for t in mine.overdue] == ["过期任务"]
    assert [t.title for t in mine.today] == ["今天的任务"]
    assert [t.title for t in mine.reminders] == ["后天的拜访"]
    client.force_login(rep)
    html = client.get(reverse("ui:home")).content.decode()
    for title in ("过期任务", "今天的任务", "后天的拜访"):
        assert title in html
    assert "下个月" not in html
