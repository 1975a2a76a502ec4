"""Field-service pages: the dispatch board (technicians by day, their load and region,
tickets waiting for a visit), booking a visit from a ticket, a visit's page, moving
and cancelling it, the technician's phone list and the visit report.

Reads start from `.visible_to(user)` (404 otherwise); writes call `field_services`,
which refuse with PermissionDenied (403) before any change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts.models import Team
from guanxi.core.exceptions import ConflictError
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.views import _vary, is_fragment

from . import field_selectors as sel
from . import field_services as svc
from .field_forms import PART_LINES, CancelForm, ReportForm, VisitForm
from .models import FieldVisit, Ticket, VisitStatus
from .permissions import can_dispatch, can_report_visit

DEFAULT_START = dt.time(9, 0)
DEFAULT_HOURS = 2


# ---------------------------------------------------------------- helpers


def _next_url(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def visible_visit(request: HttpRequest, pk: int) -> FieldVisit:
    qs = FieldVisit.objects.visible_to(request.user).select_related(
        "ticket", "ticket__queue", "ticket__type", "ticket__contact", "ticket__asset",
        "customer", "technician", "technician__team", "created_by")
    return get_object_or_404(qs, pk=pk)


def _overlap_messages(request: HttpRequest, visit: FieldVisit) -> None:
    for other in getattr(visit, "overlaps", []):
        messages.warning(request, _("%(tech)s already has a visit %(start)s – %(end)s at "
                                    "that time.") % {
            "tech": visit.technician,
            "start": timezone.localtime(other.scheduled_start).strftime("%Y-%m-%d %H:%M"),
            "end": timezone.localtime(other.scheduled_end).strftime("%H:%M")})


def _slot(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, DEFAULT_START))
    return start, start + dt.timedelta(hours=DEFAULT_HOURS)


def _region(request: HttpRequest) -> Team | None:
    raw = request.GET.get("region")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return get_object_or_404(Team, pk=int(raw))


# ---------------------------------------------------------------- dispatch board


@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not can_dispatch(user):
        raise PermissionDenied
    today = timezone.localdate()
    day = _date(request.GET.get("date")) or today
    region = _region(request)
    rows = sel.board_rows(user, day, region)
    tickets = sel.tickets_needing_visit(user, region)
    sel.attach_candidates(tickets, rows)
    start, end = _slot(day)
    now = timezone.localtime()
    now_left = None
    if day == today and sel.BOARD_FROM <= now.time() < sel.BOARD_TO:
        now_left = sel.axis_position(now, now + dt.timedelta(minutes=1), day)[0]
    query = f"date={day.isoformat()}" + (f"&region={region.pk}" if region else "")
    context = {
        "day": day, "today": today, "prev_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1), "rows": rows, "axis": sel.axis_hours(),
        "tickets": tickets, "regions": sel.region_teams(), "region": region,
        "slot_start": start, "slot_end": end, "now_left": now_left,
        "board_url": f"{reverse('field:board')}?{query}",
        "region_qs": f"&region={region.pk}" if region else "",
        "workday_hours": sel.WORKDAY_MINUTES // 60,
    }
    template = ("servicedesk/partials/field_board.html" if is_fragment(request)
                else "servicedesk/field_board.html")
    return _vary(render(request, template, context))


# ---------------------------------------------------------------- booking


def _ticket_from_request(request: HttpRequest) -> Ticket:
    raw = request.POST.get("ticket") or request.GET.get("ticket")
    if not raw or not str(raw).isdigit():
        raise Http404
    qs = Ticket.objects.visible_to(request.user).select_related("customer", "queue", "type",
                                                                "asset", "contact")
    return get_object_or_404(qs, pk=int(raw))


@login_required
def visit_new(request: HttpRequest) -> HttpResponse:
    """Book a visit for ?ticket=<pk>. The dispatch board's side forms post here too."""
    ticket = _ticket_from_request(request)
    if not can_dispatch(request.user, ticket):
        raise PermissionDenied
    techs = sel.technicians(ticket.queue)
    day = (_date(request.GET.get("date")) or _date(request.GET.get("scheduled_start", "")[:10])
           or timezone.localdate())
    start, end = _slot(day)
    form = VisitForm(request.POST or None, technicians=techs, initial={
        "scheduled_start": timezone.localtime(start), "scheduled_end": timezone.localtime(end),
        "address": ticket.customer.address})
    # Picking the start shows that day's load of the technicians (HTMX, no script).
    form.fields["scheduled_start"].widget.attrs.update({
        "hx-get": f"{reverse('field:visit_new')}?ticket={ticket.pk}", "hx-target": "#loads",
        "hx-trigger": "change"})
    if request.method == "POST" and form.is_valid():
        try:
            visit = svc.visit_schedule(actor=request.user, ticket=ticket,
                                       **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Visit booked: %(tech)s, %(start)s.") % {
                "tech": visit.technician,
                "start": timezone.localtime(visit.scheduled_start).strftime("%Y-%m-%d %H:%M")})
            _overlap_messages(request, visit)
            return redirect(_next_url(request, reverse("field:visit_detail", args=[visit.pk])))
        if form.is_bound and form.cleaned_data.get("scheduled_start"):
            day = timezone.localtime(form.cleaned_data["scheduled_start"]).date()
    candidate_ids = set(techs.values_list("pk", flat=True))
    loads = [r for r in sel.board_rows(request.user, day) if r.technician.pk in candidate_ids]
    context = {"form": form, "ticket": ticket, "customer": ticket.customer, "loads": loads,
               "load_day": day, "next": _next_url(request, ""),
               "workday_hours": sel.WORKDAY_MINUTES // 60}
    if is_fragment(request) and request.method == "GET":
        return _vary(render(request, "servicedesk/partials/field_loads.html", context))
    return _vary(render(request, "servicedesk/field_visit_form.html", context))


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = visible_visit(request, pk)
    overlaps = []
    if visit.status == VisitStatus.SCHEDULED:
        overlaps = sel.find_overlaps(visit.technician, visit.scheduled_start,
                                     visit.scheduled_end, exclude_pk=visit.pk)
    return render(request, "servicedesk/field_visit_detail.html", {
        "visit": visit, "ticket": visit.ticket, "customer": visit.customer,
        "overlaps": overlaps, "can_dispatch": can_dispatch(request.user, visit.ticket),
        "can_report": can_report_visit(request.user, visit),
        "cancel_form": CancelForm(),
    })


@login_required
def visit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a scheduled visit (time, technician, address, instructions)."""
    visit = visible_visit(request, pk)
    if not can_dispatch(request.user, visit.ticket):
        raise PermissionDenied
    if visit.status != VisitStatus.SCHEDULED:
        messages.error(request, _("Only a scheduled visit can be moved."))
        return redirect("field:visit_detail", pk=visit.pk)
    form = VisitForm(request.POST or None, technicians=sel.technicians(visit.ticket.queue),
                     initial={"technician": visit.technician,
                              "scheduled_start": timezone.localtime(visit.scheduled_start),
                              "scheduled_end": timezone.localtime(visit.scheduled_end),
                              "address": visit.address, "instructions": visit.instructions})
    version, conflict = visit.version, None
    if request.method == "POST":
        sent = _int(request.POST.get("version"))
        version = sent or version
        if form.is_valid():
            try:
                visit = svc.visit_reschedule(actor=request.user, visit=visit, version=sent,
                                             **form.service_data())
            except ConflictError as exc:
                conflict = conflict_rows("servicedesk.fieldvisit", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Visit saved."))
                _overlap_messages(request, visit)
                return redirect(_next_url(request, reverse("field:visit_detail",
                                                           args=[visit.pk])))
    return render(request, "servicedesk/field_visit_form.html", {
        "form": form, "visit": visit, "ticket": visit.ticket, "customer": visit.customer,
        "version": version, "conflict": conflict, "next": _next_url(request, "")})


@login_required
@require_POST
def visit_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    visit = visible_visit(request, pk)
    form = CancelForm(request.POST)
    form.is_valid()
    try:
        svc.visit_cancel(actor=request.user, visit=visit,
                         version=_int(request.POST.get("version")),
                         reason=form.cleaned_data.get("reason") or "")
    except ConflictError:
        messages.error(request, _("Someone changed this visit meanwhile; check it and try "
                                  "again."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Visit cancelled."))
    return redirect(_next_url(request, reverse("field:visit_detail", args=[visit.pk])))


# ---------------------------------------------------------------- my visits and the report


@login_required
def my_visits(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(request, "servicedesk/field_my_visits.html", {
        **sel.my_visits(request.user, today), "today": today,
        "can_dispatch": can_dispatch(request.user)})


@login_required
def visit_report(request: HttpRequest, pk: int) -> HttpResponse:
    visit = visible_visit(request, pk)
    if not can_report_visit(request.user, visit):
        raise PermissionDenied
    if visit.status != VisitStatus.SCHEDULED:
        messages.info(request, _("This visit already has its report.") if
                      visit.status == VisitStatus.DONE else _("This visit was cancelled."))
        return redirect("field:visit_detail", pk=visit.pk)
    lines = _int(request.POST.get("lines") or request.GET.get("lines")) or PART_LINES
    if request.method == "POST" and "more_lines" in request.POST:
        # "More lines" (no script needed): the same input, with room for more parts.
        return render(request, "servicedesk/field_report.html", {
            "form": ReportForm(initial=request.POST.dict(), lines=lines + PART_LINES),
            "visit": visit, "ticket": visit.ticket, "customer": visit.customer,
            "version": _int(request.POST.get("version")) or visit.version,
            "parts_errors": [], "next": _next_url(request, "")})
    form = ReportForm(request.POST or None, lines=lines)
    parts_errors: list[str] = []
    version, conflict = visit.version, None
    if request.method == "POST" and form.is_valid():
        sent = _int(request.POST.get("version"))
        version = sent or version
        try:
            svc.visit_report(actor=request.user, visit=visit, version=sent,
                             **form.service_data())
        except ConflictError as exc:
            conflict = conflict_rows("servicedesk.fieldvisit", exc.theirs)
            version = exc.current_version
        except ValidationError as exc:
            errors = dict(exc.message_dict) if hasattr(exc, "error_dict") else {
                "__all__": exc.messages}
            parts_errors = errors.pop("parts_used", [])
            if errors:
                apply_service_errors(form, ValidationError(errors))
        else:
            messages.success(request, _("Report filed. Thank you!"))
            return redirect(_next_url(request, reverse("field:my_visits")))
    return render(request, "servicedesk/field_report.html", {
        "form": form, "visit": visit, "ticket": visit.ticket, "customer": visit.customer,
        "version": version, "conflict": conflict, "parts_errors": parts_errors,
        "next": _next_url(request, "")})
