"""Calendar (day / week / month), task list, task pages, and the iCalendar feed.

Reads start from `Task.objects.visible_to` (404 for what a user may not see); writes go
through `task_services`, which refuse with PermissionDenied (403) before any change.
The feed (/tasks/feed/<token>.ics) needs no login: the secret token is the key.
"""

from __future__ import annotations

import calendar as pycal
import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.core.exceptions import ConflictError
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.models import Customer

from . import ical
from . import task_services as svc
from .models import CalendarFeed, Task, TaskStatus
from .task_forms import CompleteForm, TaskFilterForm, TaskForm

VIEWS = ("day", "week", "month")
PER_PAGE = 50


# --- helpers ------------------------------------------------------------------------------


def _visible_task(request: HttpRequest, pk: int) -> Task:
    qs = Task.objects.visible_to(request.user).select_related(
        "customer", "lead", "opportunity", "contact", "assignee", "created_by", "interaction")
    return get_object_or_404(qs, pk=pk)


def _editable_task(request: HttpRequest, pk: int) -> Task:
    task = _visible_task(request, pk)
    if not svc.can_edit_task(request.user, task):
        raise PermissionDenied
    return task


def _next_url(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _selected_user(request: HttpRequest):
    """The user whose calendar is shown: ?user=<id> among those the viewer may see."""
    raw = request.GET.get("user")
    if not raw or raw == str(request.user.pk):
        return request.user
    if not raw.isdigit():
        raise Http404
    return get_object_or_404(svc.calendar_users(request.user), pk=int(raw))


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _range(view: str, day: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(first shown day, day after the last, previous anchor, next anchor)."""
    if view == "day":
        return day, day + dt.timedelta(days=1), day - dt.timedelta(days=1), \
            day + dt.timedelta(days=1)
    if view == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7), day - dt.timedelta(days=7), \
            day + dt.timedelta(days=7)
    first = day.replace(day=1)
    last = first.replace(day=pycal.monthrange(first.year, first.month)[1])
    start = first - dt.timedelta(days=first.weekday())
    end = last + dt.timedelta(days=7 - last.weekday())
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = last + dt.timedelta(days=1)
    return start, end, prev_month, next_month


# --- calendar and list ----------------------------------------------------------------------


@login_required
@require_GET
def calendar_view(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view") if request.GET.get("view") in VIEWS else "week"
    today = timezone.localdate()
    day = _parse_date(request.GET.get("date")) or today
    shown = _selected_user(request)
    start, end, prev_day, next_day = _range(view, day)
    tasks = list(Task.objects.visible_to(request.user)
                 .filter(assignee=shown, due_at__gte=_aware(start), due_at__lt=_aware(end))
                 .exclude(status=TaskStatus.CANCELLED)
                 .select_related("customer", "lead", "opportunity"))
    by_day: dict[dt.date, list[Task]] = {}
    for t in tasks:
        by_day.setdefault(timezone.localtime(t.due_at).date(), []).append(t)
    days = []
    d = start
    while d < end:
        days.append({"date": d, "tasks": by_day.get(d, []), "today": d == today,
                     "in_month": d.month == day.month, "weekend": d.weekday() >= 5})
        d += dt.timedelta(days=1)
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    users = list(svc.calendar_users(request.user).order_by("username"))
    context: dict[str, Any] = {
        "view": view, "views": [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
        "day": day, "today": today, "days": days, "weeks": weeks,
        "weekday_names": [d["date"] for d in days[:7]],
        "prev_day": prev_day, "next_day": next_day, "shown_user": shown,
        "users": users if len(users) > 1 else [], "now": timezone.now(),
        "user_qs": f"user={shown.pk}&" if shown.pk != request.user.pk else "",
        "task_count": len(tasks), "can_create": svc.can_create_task(request.user),
    }
    return render(request, "activities/tasks/calendar.html", context)


def _filtered(request: HttpRequest, form: TaskFilterForm, users) -> Any:
    qs = Task.objects.visible_to(request.user).select_related(
        "customer", "lead", "opportunity", "assignee")
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or "open"
    now = timezone.now()
    if status == "overdue":
        qs = qs.filter(status=TaskStatus.OPEN, due_at__lt=now)
    elif status in (TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED):
        qs = qs.filter(status=status)
    if data.get("kind"):
        qs = qs.filter(kind=data["kind"])
    if data.get("q"):
        q = data["q"]
        qs = qs.filter(Q(title__icontains=q) | Q(customer__name__icontains=q)
                       | Q(lead__company__icontains=q) | Q(location__icontains=q))
    user_id = request.GET.get("user") or str(request.user.pk)
    if user_id not in {str(u.pk) for u in users}:
        raise Http404
    qs = qs.filter(assignee_id=int(user_id))
    if status in ("done", "cancelled", "all"):
        qs = qs.order_by("-due_at", "-id")
    return qs, status


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    users = list(svc.calendar_users(request.user).order_by("username"))
    form = TaskFilterForm(request.GET or None, users=users)
    qs, status = _filtered(request, form, users)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "activities/tasks/list.html", {
        "form": form, "page": page, "status": status, "now": timezone.now(),
        "show_user_filter": len(users) > 1, "params": params.urlencode(),
        "can_create": svc.can_create_task(request.user),
    })


# --- create / edit / detail ---------------------------------------------------------------


def _link_from_query(request: HttpRequest) -> dict[str, Any]:
    """?customer= / ?lead= / ?opportunity=: records the user may read (else 404)."""
    from guanxi.sales.models import Lead, Opportunity

    link: dict[str, Any] = {}
    for name, qs in (("customer", Customer.objects), ("lead", Lead.objects),
                     ("opportunity", Opportunity.objects)):
        raw = request.GET.get(name)
        if raw:
            if not raw.isdigit():
                raise Http404
            link[name] = get_object_or_404(qs.visible_to(request.user), pk=int(raw))
    if "opportunity" in link:
        link.pop("customer", None)
    return link


def _link_label(link: dict[str, Any]) -> list[tuple[str, Any, str]]:
    rows = []
    opp = link.get("opportunity")
    customer = link.get("customer") or (opp.customer if opp else None)
    if customer is not None:
        rows.append((_("Customer"), customer, customer.get_absolute_url()))
    if opp is not None:
        rows.append((_("Deal"), opp, ""))
    if link.get("lead") is not None:
        rows.append((_("Lead"), link["lead"], ""))
    return rows


@login_required
def task_create(request: HttpRequest) -> HttpResponse:
    if not svc.can_create_task(request.user):
        raise PermissionDenied
    link = _link_from_query(request)
    initial: dict[str, Any] = {}
    day = _parse_date(request.GET.get("date"))
    now = timezone.localtime()
    if day is not None:
        initial["due_at"] = dt.datetime.combine(day, dt.time(9, 0))
    else:
        initial["due_at"] = (now + dt.timedelta(hours=1)).replace(minute=0, second=0,
                                                                 microsecond=0)
    if request.GET.get("kind"):
        initial["kind"] = request.GET["kind"]
    if link.get("opportunity"):
        initial["title"] = link["opportunity"].name
    form = TaskForm(request.POST or None, user=request.user, link=link, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            task = svc.task_create(actor=request.user, **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Task “%(title)s” planned.") % {"title": task.title})
            return redirect(_next_url(request, reverse("tasks:detail", args=[task.pk])))
    return render(request, "activities/tasks/form.html", {
        "form": form, "creating": True, "link_rows": _link_label(link),
        "next": _next_url(request, ""),
    })


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    return render(request, "activities/tasks/detail.html", {
        "task": task, "can_edit": svc.can_edit_task(request.user, task),
        "overdue": task.status == TaskStatus.OPEN and task.due_at < timezone.now(),
        "link_rows": _link_label({"customer": task.customer, "lead": task.lead,
                                  "opportunity": task.opportunity}),
        "occurrences": (Task.objects.visible_to(request.user)
                        .filter(series_id=task.series_id or task.pk).order_by("due_at")[:20]
                        if task.recurrence or task.series_id else []),
    })


@login_required
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = _editable_task(request, pk)
    form = TaskForm(request.POST or None, user=request.user, task=task)
    version, conflict = task.version, None
    if request.method == "POST" and form.is_valid():
        sent = request.POST.get("version")
        try:
            task = svc.task_update(actor=request.user, task=task,
                                   version=int(sent) if sent and sent.isdigit() else None,
                                   **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except ConflictError as exc:
            conflict = conflict_rows("activities.task", exc.theirs)
            version = exc.current_version
        else:
            messages.success(request, _("Task saved."))
            return redirect(_next_url(request, reverse("tasks:detail", args=[task.pk])))
    return render(request, "activities/tasks/form.html", {
        "form": form, "creating": False, "task": task, "version": version,
        "conflict": conflict, "link_rows": _link_label(form.link),
        "next": _next_url(request, ""),
    })


@login_required
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = _editable_task(request, pk)
    form = CompleteForm(request.POST or None)
    logs = task.kind in svc.LOGGED_KINDS and task.customer_id is not None
    if not logs:
        del form.fields["log_interaction"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = svc.task_complete(actor=request.user, task=task,
                                     outcome=data.get("outcome") or "",
                                     notes=data.get("notes") or "",
                                     log_interaction=bool(data.get("log_interaction")))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            msg = _("Done: %(title)s.") % {"title": task.title}
            if task.interaction_id:
                msg += " " + _("Logged on the customer's timeline.")
            if task.next_occurrence is not None:
                msg += " " + _("Next time: %(when)s.") % {
                    "when": timezone.localtime(task.next_occurrence.due_at)
                    .strftime("%Y-%m-%d %H:%M")}
            messages.success(request, msg)
            return redirect(_next_url(request, reverse("tasks:detail", args=[task.pk])))
    return render(request, "activities/tasks/complete.html", {
        "task": task, "form": form, "logs": logs, "next": _next_url(request, ""),
    })


@login_required
@require_POST
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    try:
        task = svc.task_cancel(actor=request.user, task=task,
                               stop_series=request.POST.get("stop_series") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Task cancelled."))
    return redirect(_next_url(request, reverse("tasks:detail", args=[task.pk])))


@login_required
@require_POST
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    svc.task_delete(actor=request.user, task=task)
    messages.success(request, _("Task moved to the recycle bin."))
    return redirect(_next_url(request, reverse("tasks:list")))


# --- iCalendar feed ---------------------------------------------------------------------


@login_required
@require_GET
def feed_settings(request: HttpRequest) -> HttpResponse:
    feed = ical.feed_for(request.user)
    url = request.build_absolute_uri(reverse("tasks:feed", args=[feed.token]))
    return render(request, "activities/tasks/feed.html", {
        "feed": feed, "feed_url": url,
        "webcal_url": "webcal://" + url.split("://", 1)[-1],
    })


@login_required
@require_POST
def feed_reset(request: HttpRequest) -> HttpResponse:
    ical.reset_feed(request.user)
    messages.success(request, _("New calendar address made; the old one no longer works."))
    return redirect("tasks:feed_settings")


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    row = (CalendarFeed.objects.select_related("user")
           .filter(token=token, user__is_active=True).first())
    if row is None:
        raise Http404
    body = ical.build_calendar(row.user, base_url=request.build_absolute_uri("/"))
    CalendarFeed.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="guanxi-tasks.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
