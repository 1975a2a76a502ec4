"""Complaint pages: the list (filters), the handling page of one complaint (severity,
root cause, corrective action, the follow-up call's outcome) and the complaint rates
per customer and per product.

Reads start from `Ticket.objects.visible_to(user)` (404 otherwise); writes call
complaint_services, which refuse with PermissionDenied (403) before writing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from guanxi.core.exceptions import ConflictError
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.views import _vary, is_fragment

from . import complaint_reports as reports
from . import complaint_services as svc
from .complaint_forms import ComplaintFilterForm, ComplaintForm, FollowUpForm
from .models import Complaint, Ticket
from .permissions import can_see_service_figures
from .sla_forms import PeriodForm

PAGE_SIZE = 50


def ticket_link(ticket: Ticket) -> str:
    try:
        return reverse("service:ticket_detail", args=[ticket.pk])
    except NoReverseMatch:
        return ""


@login_required
def complaint_list(request: HttpRequest) -> HttpResponse:
    form = ComplaintFilterForm(request.GET)
    qs = reports.filtered(request.user, form.cleaned())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for t in page.object_list:
        t.complaint_state = reports.state_of(t)
        t.complaint_row = _saved_complaint(t)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(),
               "can_see_rates": can_see_service_figures(request.user)}
    template = ("servicedesk/partials/complaint_results.html" if is_fragment(request)
                else "servicedesk/complaint_list.html")
    return _vary(render(request, template, context))


def _saved_complaint(ticket: Ticket) -> Complaint | None:
    try:
        return ticket.complaint
    except Complaint.DoesNotExist:
        return None


def _complaint_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    ticket = get_object_or_404(
        Ticket.objects.visible_to(request.user).select_related(
            "customer", "contact", "type", "queue", "assignee", "product", "asset", "order"),
        pk=ticket_id)
    if not svc.is_complaint(ticket):
        raise Http404
    return ticket


def _complaint(ticket: Ticket) -> Complaint:
    """The saved complaint record, or an unsaved one with the defaults (a GET writes
    nothing; the first save creates it)."""
    found = (Complaint.objects.select_related("follow_up_task", "follow_up_task__assignee")
             .filter(ticket=ticket).first())
    return found or Complaint(ticket=ticket)


@login_required
def complaint_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = request.user
    ticket = _complaint_ticket(request, ticket_id)
    complaint = _complaint(ticket)
    can_handle = svc.can_handle_complaint(user, ticket)
    can_follow_up = (not ticket.is_open and complaint.follow_up_done_at is None
                     and svc.can_record_follow_up(user, ticket, complaint))
    form = ComplaintForm(instance=complaint) if can_handle else None
    follow_form = FollowUpForm() if can_follow_up else None
    version, conflict, status = complaint.version, None, 200
    if request.method == "POST":
        action = request.POST.get("action")
        sent = request.POST.get("version")
        sent_version = int(sent) if sent and sent.isdigit() else None
        if action == "follow_up":
            if not can_follow_up:
                raise PermissionDenied
            follow_form = FollowUpForm(request.POST)
            if follow_form.is_valid():
                try:
                    result = svc.record_follow_up(
                        actor=user, ticket=ticket, version=sent_version,
                        satisfied=follow_form.cleaned_data["satisfied"],
                        notes=follow_form.cleaned_data["notes"])
                except ConflictError as exc:
                    conflict = conflict_rows("servicedesk.complaint", exc.theirs)
                    version = exc.current_version
                except ValidationError as exc:
                    apply_service_errors(follow_form, exc)
                else:
                    if result.renewed_ticket is not None:
                        messages.warning(request, _("Follow-up recorded. New complaint "
                                                    "%(ref)s opened.")
                                         % {"ref": result.renewed_ticket.reference})
                    else:
                        messages.success(request, _("Follow-up recorded."))
                    return redirect("complaints:detail", ticket_id=ticket.pk)
        else:
            if not can_handle:
                raise PermissionDenied
            form = ComplaintForm(request.POST, instance=Complaint(ticket=ticket))
            version = sent_version or version
            if form.is_valid():
                try:
                    svc.complaint_update(actor=user, ticket=ticket, version=sent_version,
                                         **{f: form.cleaned_data[f] for f in svc.FIELDS})
                except ConflictError as exc:
                    conflict = conflict_rows("servicedesk.complaint", exc.theirs)
                    version = exc.current_version
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(request, _("Complaint handling saved."))
                    return redirect("complaints:detail", ticket_id=ticket.pk)
        status = 409 if conflict else 422
    return render(request, "servicedesk/complaint_detail.html", {
        "ticket": ticket, "complaint": complaint, "form": form, "follow_form": follow_form,
        "can_handle": can_handle, "version": version, "conflict": conflict,
        "ticket_url": ticket_link(ticket), "state": reports.state_of_parts(ticket, complaint),
    }, status=status)


@login_required
def complaint_rates(request: HttpRequest) -> HttpResponse:
    if not can_see_service_figures(request.user):
        raise PermissionDenied
    form = PeriodForm(request.GET or None, default_days=365)
    start, end = form.period()
    return render(request, "servicedesk/complaint_rates.html", {
        "form": form, "start": start, "end": end,
        "customers": reports.customer_rates(request.user, start, end),
        "products": reports.product_rates(request.user, start, end),
    })
