"""SLA pages: figures per queue (figure viewers), the policy grid and the business
calendar (everyone with figures may look; administrators edit)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import sla_setup
from .models import CalendarDay, DayKind, Priority
from .permissions import can_manage_service_setup, can_see_service_figures
from .sla_figures import queue_figures
from .sla_forms import WEEKDAYS, DaysForm, FiguresForm, HoursForm

POLICY_INPUTS = ["first_response_hours", "resolution_hours", "warn_percent"]


def _may_look(user) -> bool:
    return can_see_service_figures(user) or can_manage_service_setup(user)


def _require_look(request: HttpRequest) -> None:
    if not _may_look(request.user):
        raise PermissionDenied


def _require_admin(request: HttpRequest) -> None:
    if not can_manage_service_setup(request.user):
        raise PermissionDenied


# ---------------------------------------------------------------- figures


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    if not can_see_service_figures(request.user):
        raise PermissionDenied
    form = FiguresForm(request.GET or None)
    start, end = form.period()
    queue = form.cleaned_data.get("queue") if form.is_bound and form.is_valid() else None
    rows, total = queue_figures(request.user, start, end, queue=queue)
    return render(request, "servicedesk/sla_figures.html", {
        "form": form, "start": start, "end": end, "rows": rows, "total": total,
        "queue": queue, "can_edit": can_manage_service_setup(request.user), "tab": "figures",
    })


# ---------------------------------------------------------------- policies


def _policy_rows(data: dict[str, Any] | None,
                 errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """One row per (tier, priority) with the value of each input (posted or saved)."""
    rows = []
    for (tier, priority), policy in sla_setup.policy_grid().items():
        key = sla_setup.cell_key(tier, priority)
        if data is not None:
            values = {f: data.get(f"{key}.{f}", "") for f in POLICY_INPUTS}
            enabled = tier == "" or bool(data.get(f"{key}.enabled"))
        else:
            values = {f: getattr(policy, f) if policy else "" for f in POLICY_INPUTS}
            if policy is None:
                values["warn_percent"] = 75
            enabled = tier == "" or bool(policy and policy.active)
        rows.append({
            "key": key, "tier": tier, "tier_label": sla_setup.tier_label(tier),
            "priority": priority, "priority_label": Priority(priority).label,
            "values": values, "enabled": enabled, "required": tier == "",
            "errors": [m for f in POLICY_INPUTS for m in errors.get(f"{key}.{f}", [])]
                      + errors.get(key, []),
        })
    return rows


def _posted_cells(post) -> list[dict[str, Any]]:
    cells = []
    for tier in sla_setup.TIERS:
        for priority in Priority.values:
            key = sla_setup.cell_key(tier, priority)
            if tier and not post.get(f"{key}.enabled"):
                continue
            cell = {"tier": tier, "priority": priority, "active": True}
            cell |= {f: post.get(f"{key}.{f}", "").strip() for f in POLICY_INPUTS}
            cells.append(cell)
    return cells


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    _require_look(request)
    can_edit = can_manage_service_setup(request.user)
    errors: dict[str, list[str]] = {}
    data = None
    if request.method == "POST":
        _require_admin(request)
        try:
            changed = sla_setup.save_policies(actor=request.user,
                                              cells=_posted_cells(request.POST))
        except ValidationError as exc:
            errors = exc.message_dict
            data = request.POST
        else:
            messages.success(request, _("SLA targets saved (%(n)d changed). They apply to "
                                        "tickets opened or re-prioritised from now on.")
                             % {"n": changed})
            return redirect("sla:policies")
    return render(request, "servicedesk/sla_policies.html", {
        "rows": _policy_rows(data, errors), "can_edit": can_edit, "tab": "policies",
        "error_list": [m for msgs in errors.values() for m in msgs],
    }, status=422 if errors else 200)


# ---------------------------------------------------------------- calendar


def _year(request: HttpRequest) -> int:
    raw = request.POST.get("year") or request.GET.get("year")
    try:
        year = int(raw)
    except (TypeError, ValueError):
        return timezone.localdate().year
    return year if 1900 <= year <= 2200 else timezone.localdate().year


def _hours_initial(calendar) -> dict[str, Any]:
    return {"name": calendar.name, "work_start": calendar.work_start,
            "work_end": calendar.work_end, "lunch_start": calendar.lunch_start,
            "lunch_end": calendar.lunch_end, "weekdays": list(calendar.weekdays or [])}


def _apply(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    _require_look(request)
    can_edit = can_manage_service_setup(request.user)
    cal = sla_setup.default_calendar()
    year = _year(request)
    days = list(CalendarDay.objects.filter(calendar=cal, date__year=year).order_by("date"))
    hours_form = HoursForm(initial=_hours_initial(cal))
    days_form = DaysForm(initial={"year": year, "days": sla_setup.day_lines(days)})
    status = 200
    if request.method == "POST":
        _require_admin(request)
        url = f"{reverse('sla:calendar')}?year={year}"
        if request.POST.get("action") == "hours":
            hours_form = HoursForm(request.POST)
            if hours_form.is_valid():
                try:
                    sla_setup.save_hours(actor=request.user, calendar=cal,
                                         **hours_form.cleaned_data)
                except ValidationError as exc:
                    _apply(hours_form, exc)
                else:
                    messages.success(request, _("Working hours saved."))
                    return redirect(url)
        else:
            days_form = DaysForm(request.POST)
            if days_form.is_valid():
                try:
                    entries = sla_setup.parse_days(days_form.cleaned_data["days"], year)
                    n = sla_setup.set_year_days(actor=request.user, calendar=cal, year=year,
                                                days=entries)
                except ValidationError as exc:
                    _apply(days_form, exc)
                else:
                    messages.success(request, _("%(year)d: %(n)d days saved.")
                                     % {"year": year, "n": n})
                    return redirect(url)
        status = 422
    weekday_names = dict(WEEKDAYS)
    return render(request, "servicedesk/sla_calendar.html", {
        "calendar": cal, "year": year, "days": days, "hours_form": hours_form,
        "days_form": days_form, "can_edit": can_edit, "tab": "calendar",
        "holidays": sum(d.kind == DayKind.HOLIDAY for d in days),
        "workdays": sum(d.kind == DayKind.WORKDAY for d in days),
        "weekday_names": ", ".join(str(weekday_names[d]) for d in sorted(cal.weekdays or [])
                                   if d in weekday_names),
        "years": [year - 1, year + 1],
    }, status=status)
