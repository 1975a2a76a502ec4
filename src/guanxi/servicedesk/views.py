"""Ticket pages: the desk's list (queues, filters, SLA state), a new ticket (prefilled
from the screen-pop or the customer page) and the ticket with its conversation and the
actions on it (reply, internal note, assign, status, edit, merge).

Reads start from `Ticket.objects.visible_to(user)` (404 otherwise); writes call
`servicedesk.services`, which refuse with PermissionDenied (403) before touching anything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.exceptions import ConflictError
from guanxi.parties.customer_page import visible_customer
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.models import Contact, Customer
from guanxi.parties.views import _vary, is_fragment

from . import permissions as perms
from . import selectors, services, surveys
from .forms import (
    AssignForm,
    MergeForm,
    MessageForm,
    StatusForm,
    TicketCreateForm,
    TicketEditForm,
    TicketFilterForm,
)
from .models import Asset, Channel, Complaint, MessageKind, Ticket, TicketStatus, TicketType

PAGE_SIZE = 50
PICKER_LIMIT = 20
# Pages of other parts of the desk, linked when they are installed.
LINKED_PAGES = {
    "asset": ("assets:detail", "assets:asset_detail"),
    "order": ("commerce:order_detail", "commerce:order"),
    "contract": ("commerce:contract_detail", "commerce:contract"),
    "complaint": ("complaints:detail", "complaints:complaint_detail"),
    "visit_new": ("field:visit_new", "field:schedule", "field:visit_create"),
    "visit": ("field:visit", "field:visit_detail"),
}


def first_url(key: str, *args: Any) -> str:
    for name in LINKED_PAGES[key]:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def visible_ticket(request: HttpRequest, pk: int) -> Ticket:
    qs = selectors.tickets(request.user).select_related(
        "asset", "order", "contract", "product", "merged_into", "created_by", "escalated_to",
        "sla_policy")
    return get_object_or_404(qs, pk=pk)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- list


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    form = TicketFilterForm(request.GET)
    data = form.cleaned()
    qs = selectors.filter_tickets(selectors.tickets(user), data, user, now)
    sort, qs = selectors.ordered(qs, data.get("sort"))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for t in page.object_list:
        t.sla_state = selectors.sla_state(t, now)
        t.due = selectors.next_due(t)
    customer = None
    if data.get("customer"):
        customer = Customer.objects.visible_to(user).filter(pk=data["customer"]).first()
    queue = data.get("queue")
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "tabs": selectors.queue_counts(user),
        "current_queue": queue.pk if queue else None,
        "filter_customer": customer,
        "can_create": perms.can_create_ticket(user, None),
        "is_staff": perms.is_desk_staff(user),
    }
    template = ("servicedesk/partials/ticket_results.html" if is_fragment(request)
                else "servicedesk/ticket_list.html")
    return _vary(render(request, template, context))


# ---------------------------------------------------------------- new ticket


def _customer_picker(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    results: list[Customer] = []
    if q:
        results = list(Customer.objects.visible_to(request.user)
                       .filter(Q(name__icontains=q) | Q(short_name__icontains=q)
                               | Q(search_text__icontains=q.lower()))
                       .order_by("name")[:PICKER_LIMIT])
    keep = {k: v for k, v in request.GET.items() if k in ("type", "channel")}
    return render(request, "servicedesk/ticket_pick_customer.html",
                  {"q": q, "results": results, "keep": keep})


def _prefill(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """Initial values from the query string, each checked against the customer."""
    get = request.GET
    initial: dict[str, Any] = {"channel": get.get("channel") if get.get("channel")
                               in Channel.values else Channel.PHONE}
    raw_type = (get.get("type") or "").strip()
    if raw_type:
        types = TicketType.objects.filter(active=True)
        found = (types.filter(pk=int(raw_type)).first() if raw_type.isdigit()
                 else types.filter(code=raw_type).first())
        if found is not None:
            initial["type"] = found.pk
    from guanxi.commerce.models import Contract, Order

    for name, model in (("contact", Contact), ("asset", Asset), ("order", Order),
                        ("contract", Contract)):
        pk = _int_or_none(get.get(name))
        if pk is not None and model.objects.filter(pk=pk, customer=customer).exists():
            initial[name] = pk
    for name in ("subject", "description"):
        if get.get(name):
            initial[name] = get[name][:200 if name == "subject" else 5000]
    return initial


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not perms.can_create_ticket(user, None):
        raise PermissionDenied
    customer_pk = _int_or_none(request.POST.get("customer") or request.GET.get("customer"))
    if customer_pk is None:
        return _customer_picker(request)
    customer = visible_customer(request, customer_pk)
    if not perms.can_create_ticket(user, customer):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = TicketCreateForm(request.POST, customer=customer)
        if form.is_valid():
            try:
                ticket = services.ticket_create(actor=user, customer=customer,
                                                **form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Ticket %(ref)s opened in %(queue)s.") % {
                    "ref": ticket.reference, "queue": ticket.queue.name})
                return redirect("service:ticket_detail", pk=ticket.pk)
        status = 422
    else:
        form = TicketCreateForm(customer=customer, initial=_prefill(request, customer))
    routes = {t.pk: t.queue.name for t in form.fields["type"].queryset}
    return render(request, "servicedesk/ticket_form.html",
                  {"form": form, "customer": customer, "routes": routes}, status=status)


# ---------------------------------------------------------------- detail


def _message_kinds(user, ticket: Ticket) -> list[str]:
    kinds = []
    if perms.can_work_ticket(user, ticket):
        kinds.append(MessageKind.REPLY)
    if perms.can_comment_ticket(user, ticket):
        kinds.append(MessageKind.NOTE)
    if perms.can_work_ticket(user, ticket):
        kinds.append(MessageKind.INBOUND)
    return kinds


def _detail(request: HttpRequest, ticket: Ticket, *, status: int = 200,
            **forms: Any) -> HttpResponse:
    user = request.user
    now = timezone.now()
    can_work = perms.can_work_ticket(user, ticket) and ticket.status != TicketStatus.MERGED
    kinds = _message_kinds(user, ticket) if ticket.status != TicketStatus.MERGED else []
    try:
        complaint = ticket.complaint
    except Complaint.DoesNotExist:
        complaint = None
    merge_form = forms.get("merge_form")
    if merge_form is None and can_work:
        merge_form = MergeForm(ticket=ticket, user=user)
    visits = list(ticket.visits.select_related("technician").order_by("scheduled_start"))
    for v in visits:
        v.url = first_url("visit", v.pk)
    visit_new = first_url("visit_new")
    survey = surveys.ticket_survey(ticket)
    if survey is not None:
        survey.state = surveys.survey_state(survey, now)
        survey.link = surveys.survey_url(survey) if can_work and survey.state == "open" else ""
    context = {
        "ticket": ticket,
        "customer": ticket.customer,
        "conversation": list(selectors.conversation(ticket)),
        "can_work": can_work,
        "message_form": forms.get("message_form") or (MessageForm(kinds=kinds) if kinds
                                                      else None),
        "edit_form": forms.get("edit_form") or (TicketEditForm(ticket=ticket) if can_work
                                                else None),
        "assign_form": forms.get("assign_form") or (AssignForm(ticket=ticket) if can_work
                                                    else None),
        "status_form": forms.get("status_form") or (
            StatusForm(statuses=services.allowed_statuses(ticket)) if can_work
            and services.allowed_statuses(ticket) else None),
        "merge_form": merge_form if merge_form is not None and (
            merge_form.is_bound or merge_form.fields["target"].queryset.exists()) else None,
        "conflict": forms.get("conflict"),
        "sla_state": selectors.sla_state(ticket, now),
        "next_due": selectors.next_due(ticket),
        "complaint": complaint,
        "complaint_url": first_url("complaint", ticket.pk) if complaint else "",
        "asset_url": first_url("asset", ticket.asset_id) if ticket.asset_id else "",
        "order_url": first_url("order", ticket.order_id) if ticket.order_id else "",
        "contract_url": first_url("contract", ticket.contract_id) if ticket.contract_id else "",
        "visits": visits,
        "visit_new_url": (f"{visit_new}?ticket={ticket.pk}" if visit_new and can_work
                          and perms.can_dispatch(user, ticket) else ""),
        "survey": survey,
        "may_take": can_work and ticket.assignee_id != user.pk
        and services.can_work_queue(user, ticket.queue),
    }
    return render(request, "servicedesk/ticket_detail.html", context, status=status)


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, visible_ticket(request, pk))


def _back(ticket: Ticket, anchor: str = "") -> HttpResponse:
    url = reverse("service:ticket_detail", args=[ticket.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
@require_POST
def ticket_message(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = visible_ticket(request, pk)
    kinds = _message_kinds(request.user, ticket)
    if not kinds:
        raise PermissionDenied
    form = MessageForm(request.POST, kinds=kinds)
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            message = services.ticket_add_message(
                actor=request.user, ticket=ticket, kind=kind, body=form.cleaned_data["body"],
                time_spent_minutes=form.cleaned_data.get("time_spent_minutes") or 0)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if message.kind == MessageKind.REPLY:
                if message.emailed_to:
                    messages.success(request, _("Reply sent to %(to)s.") % {
                        "to": message.emailed_to})
                else:
                    messages.warning(request, _("Reply saved; the customer has no e-mail "
                                                "address, so tell them by phone."))
            else:
                messages.success(request, _("Saved."))
            return _back(ticket, f"message-{message.pk}")
    return _detail(request, ticket, status=422, message_form=form)


@login_required
@require_POST
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = visible_ticket(request, pk)
    if not perms.can_work_ticket(request.user, ticket):
        raise PermissionDenied
    form = TicketEditForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            services.ticket_update(actor=request.user, ticket=ticket,
                                   version=form.cleaned_data.get("version"),
                                   **form.service_data())
        except ConflictError as exc:
            data = request.POST.copy()
            data["version"] = str(exc.current_version)
            fresh = visible_ticket(request, pk)
            return _detail(request, fresh, status=409,
                           edit_form=TicketEditForm(data, ticket=fresh),
                           conflict=conflict_rows("servicedesk.ticket", exc.theirs))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return _back(ticket)
    return _detail(request, ticket, status=422, edit_form=form)


@login_required
@require_POST
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = visible_ticket(request, pk)
    if not perms.can_work_ticket(request.user, ticket):
        raise PermissionDenied
    form = AssignForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            services.ticket_assign(actor=request.user, ticket=ticket,
                                   assignee=form.cleaned_data["assignee"],
                                   queue=form.cleaned_data.get("queue"))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Assignment saved."))
            return _back(ticket)
    return _detail(request, ticket, status=422, assign_form=form)


@login_required
@require_POST
def ticket_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign the ticket to oneself."""
    ticket = visible_ticket(request, pk)
    try:
        services.ticket_assign(actor=request.user, ticket=ticket, assignee=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The ticket is yours."))
    return _back(ticket)


@login_required
@require_POST
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = visible_ticket(request, pk)
    if not perms.can_work_ticket(request.user, ticket):
        raise PermissionDenied
    form = StatusForm(request.POST, statuses=services.allowed_statuses(ticket))
    if form.is_valid():
        try:
            services.ticket_set_status(actor=request.user, ticket=ticket,
                                       status=form.cleaned_data["status"],
                                       note=form.cleaned_data.get("note") or "")
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Status changed."))
            return _back(ticket)
    return _detail(request, ticket, status=422, status_form=form)


@login_required
@require_POST
def ticket_merge(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = visible_ticket(request, pk)
    if not perms.can_work_ticket(request.user, ticket):
        raise PermissionDenied
    form = MergeForm(request.POST, ticket=ticket, user=request.user)
    if form.is_valid():
        target = form.cleaned_data["target"]
        try:
            services.ticket_merge(actor=request.user, source=ticket, target=target)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("%(src)s merged into %(dst)s.") % {
                "src": ticket.reference, "dst": target.reference})
            return _back(target)
    return _detail(request, ticket, status=422, merge_form=form)
