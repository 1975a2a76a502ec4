"""Task reminders: which are due, the e-mail to the assignee, the background job, and the
task lists of "My day".

    due_reminders(now) -> QuerySet[Task]       open tasks whose reminder time has come
    send_due_reminders(now=None) -> int        e-mail each once (sets reminded_at)
    send_due_reminders_job                     the django_tasks task (takes a Job id)
    start_send_due_reminders(*, actor=None, now=None) -> Job
    my_day_tasks(user, now=None) -> MyDayTasks

`guanxi scheduler` checks every minute and starts the job only when a reminder is due.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.core import scheduler
from guanxi.core.jobs import job_body, job_progress, start_job
from guanxi.core.models import Job

from .models import Task, TaskStatus

log = logging.getLogger(__name__)
SEND_REMINDERS = "send_due_reminders"
MY_DAY_LIMIT = 20


def due_reminders(now: dt.datetime | None = None) -> QuerySet[Task]:
    """Open tasks whose reminder time has come and that were not reminded yet."""
    now = now or timezone.now()
    return (Task.objects.filter(status=TaskStatus.OPEN, remind_at__isnull=False,
                                remind_at__lte=now, reminded_at__isnull=True,
                                assignee__is_active=True)
            .select_related("assignee", "customer", "lead").order_by("remind_at", "pk"))


def _message(t: Task) -> tuple[str, str]:
    when = date_format(timezone.localtime(t.due_at),
                       "DATE_FORMAT" if t.all_day else "DATETIME_FORMAT")
    subject = _("Reminder: %(title)s (%(when)s)") % {"title": t.title, "when": when}
    lines = [t.title, when]
    if t.customer_id:
        lines.append(_("Customer: %(name)s") % {"name": t.customer.name})
    elif t.lead_id:
        lines.append(_("Lead: %(name)s") % {"name": t.lead})
    if t.location:
        lines.append(_("Location: %(place)s") % {"place": t.location})
    if t.notes:
        lines += ["", t.notes]
    base = getattr(settings, "GUANXI_BASE_URL", "")
    if base:
        from django.urls import reverse

        lines += ["", base.rstrip("/") + reverse("tasks:detail", args=[t.pk])]
    return subject.replace("\n", " ")[:200], "\n".join(lines)


def send_due_reminders(now: dt.datetime | None = None) -> int:
    """E-mail every due reminder to its assignee, once: each task is claimed (reminded_at
    set) in its own short transaction before sending, and released if sending fails.
    Assignees without an e-mail address are skipped (their reminder shows on My day).
    Returns how many e-mails were sent."""
    now = now or timezone.now()
    sent = 0
    for t in list(due_reminders(now)):
        with transaction.atomic():
            claimed = Task.objects.filter(pk=t.pk, reminded_at__isnull=True).update(
                reminded_at=now)
        if not claimed:
            continue  # another run took it
        if not t.assignee.email:
            continue
        try:
            with translation.override(settings.LANGUAGE_CODE):
                subject, body = _message(t)
            send_mail(subject, body, None, [t.assignee.email])
        except Exception:
            log.exception("could not send the reminder of task %s", t.pk)
            Task.objects.filter(pk=t.pk, reminded_at=now).update(reminded_at=None)
            raise
        sent += 1
    return sent


@task()
@job_body
def send_due_reminders_job(job: Job, now: str | None = None) -> dict[str, Any]:
    """Background job: e-mail the task reminders that are due."""
    sent = send_due_reminders(dt.datetime.fromisoformat(now) if now else None)
    job_progress(job.pk, sent, sent, force=True)
    return {"sent": sent}


def start_send_due_reminders(*, actor=None, now: dt.datetime | None = None) -> Job:
    return start_job(actor=actor, kind=SEND_REMINDERS,
                     title=gettext_noop("Send task reminders"), task=send_due_reminders_job,
                     params={"now": now.isoformat()} if now is not None else {})


def _scheduled() -> Job | None:
    """The scheduler's entry: a job only when something is due (no empty job rows)."""
    if not due_reminders().exists():
        return None
    return start_send_due_reminders()


scheduler.register("activities.task_reminders", dt.timedelta(minutes=1), _scheduled,
                   "Send task reminders")


# --- My day -------------------------------------------------------------------------------


@dataclass
class MyDayTasks:
    overdue: list[Task]
    today: list[Task]
    reminders: list[Task]

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.reminders)


def my_day_tasks(user, now: dt.datetime | None = None) -> MyDayTasks:
    """The user's open tasks: overdue (due before today), due today, and later tasks
    whose reminder time has come."""
    now = now or timezone.now()
    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
    end = start + dt.timedelta(days=1)
    qs = (Task.objects.visible_to(user).filter(assignee=user, status=TaskStatus.OPEN)
          .select_related("customer", "lead", "opportunity"))
    return MyDayTasks(
        overdue=list(qs.filter(due_at__lt=start)[:MY_DAY_LIMIT]),
        today=list(qs.filter(due_at__gte=start, due_at__lt=end)[:MY_DAY_LIMIT]),
        reminders=list(qs.filter(due_at__gte=end, remind_at__lte=now)[:MY_DAY_LIMIT]),
    )
