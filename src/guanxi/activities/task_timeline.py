"""Tasks on the customer page: a timeline source (a task planned, a task completed) and
the "Open tasks" panel with a "New task" link.

A completed task that logged an interaction shows only through that interaction (the
call or visit is already on the timeline); kind "task".
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import (
    Panel,
    TimelineEntry,
    TimelineSource,
    register_panel,
    register_timeline,
)

from .models import Task, TaskStatus

KIND = "task"


def task_entries(*, customer, user, before=None, kinds=None, limit=20) -> list[TimelineEntry]:
    if kinds is not None and KIND not in kinds:
        return []
    qs = Task.objects.filter(customer=customer).select_related("created_by", "assignee")
    created = qs.order_by("-created_at", "-id")
    done = qs.filter(status=TaskStatus.DONE, done_at__isnull=False,
                     interaction__isnull=True).order_by("-done_at", "-id")
    if before is not None:
        created = created.filter(created_at__lt=before)
        done = done.filter(done_at__lt=before)
    label = _("task")
    entries = []
    for t in created[:limit]:
        due = date_format(timezone.localtime(t.due_at),
                          "DATE_FORMAT" if t.all_day else "DATETIME_FORMAT")
        entries.append(TimelineEntry(
            at=t.created_at, kind=KIND, kind_label=label,
            title=_("Task planned: %(title)s") % {"title": t.title},
            body=_("for %(user)s, due %(due)s") % {"user": t.assignee, "due": due},
            actor=str(t.created_by) if t.created_by else "",
            url=reverse("tasks:detail", args=[t.pk]), source="tasks", extra={"task": t}))
    for t in done[:limit]:
        entries.append(TimelineEntry(
            at=t.done_at, kind=KIND, kind_label=label,
            title=_("Task done: %(title)s") % {"title": t.title},
            body=t.get_outcome_display() if t.outcome else "",
            actor=str(t.assignee), url=reverse("tasks:detail", args=[t.pk]),
            source="tasks", extra={"task": t}))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


register_timeline(TimelineSource(key="tasks", label=gettext_lazy("Tasks"),
                                 kinds=[(KIND, gettext_lazy("task"))], provider=task_entries))


PANEL_LIMIT = 8


def _panel_context(customer, user) -> dict | None:
    from .task_services import can_create_task

    qs = (Task.objects.visible_to(user).filter(customer=customer, status=TaskStatus.OPEN)
          .select_related("assignee").order_by("due_at", "id"))
    tasks = list(qs[:PANEL_LIMIT + 1])
    return {"tasks": tasks[:PANEL_LIMIT], "more": len(tasks) > PANEL_LIMIT,
            "now": timezone.now(),
            "can_create_task": customer.deleted_at is None and can_create_task(user)}


register_panel(Panel(key="tasks", title=gettext_lazy("Open tasks"),
                     template="activities/tasks/partials/panel.html", context=_panel_context,
                     order=30))
