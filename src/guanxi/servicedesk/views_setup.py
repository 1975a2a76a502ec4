"""Service desk set-up for administrators: ticket types (which queue each routes to,
default priority, complaint handling) and department queues (team, manager, members,
default assignee). A type or queue in use cannot be deleted, only deactivated.
Everyone else gets 403; writes go through the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.parties.forms import apply_service_errors

from . import permissions as perms
from . import setup_services as svc
from .forms import QueueForm, TicketTypeForm
from .models import OPEN_TICKET_STATUSES, Queue, TicketType


def _require_admin(request: HttpRequest) -> None:
    if not perms.can_manage_service_setup(request.user):
        raise PermissionDenied


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    open_q = Q(tickets__status__in=OPEN_TICKET_STATUSES, tickets__deleted_at__isnull=True)
    types = (TicketType.objects.select_related("queue")
             .annotate(n_tickets=Count("tickets")).order_by("order", "name"))
    queues = (Queue.objects.select_related("team", "manager", "default_assignee")
              .prefetch_related("members")
              .annotate(n_open=Count("tickets", filter=open_q, distinct=True),
                        n_tickets=Count("tickets", distinct=True),
                        n_types=Count("ticket_types", distinct=True))
              .order_by("order", "name"))
    return render(request, "servicedesk/setup_index.html", {"types": types, "queues": queues})


def _form_page(request: HttpRequest, form, title: str, instance=None,
               status: int = 200) -> HttpResponse:
    return render(request, "servicedesk/setup_form.html",
                  {"form": form, "title": title, "instance": instance}, status=status)


@login_required
def type_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    instance = get_object_or_404(TicketType, pk=pk) if pk is not None else None
    title = _("Edit ticket type") if instance else _("New ticket type")
    form = TicketTypeForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in form._meta.fields}
            fresh = TicketType.objects.get(pk=pk) if pk is not None else None
            try:
                svc.ticket_type_save(actor=request.user, ticket_type=fresh, **data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("servicesetup:index")
        return _form_page(request, form, title, instance, status=422)
    return _form_page(request, form, title, instance)


@login_required
def queue_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    instance = get_object_or_404(Queue, pk=pk) if pk is not None else None
    title = _("Edit queue") if instance else _("New queue")
    form = QueueForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in form._meta.fields if k != "members"}
            fresh = Queue.objects.get(pk=pk) if pk is not None else None
            try:
                svc.queue_save(actor=request.user, queue=fresh,
                               members=list(form.cleaned_data["members"]), **data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("servicesetup:index")
        return _form_page(request, form, title, instance, status=422)
    return _form_page(request, form, title, instance)


@login_required
@require_POST
def type_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    ticket_type = get_object_or_404(TicketType, pk=pk)
    try:
        svc.ticket_type_delete(actor=request.user, ticket_type=ticket_type)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("“%(name)s” deleted.") % {"name": ticket_type.name})
    return redirect("servicesetup:index")


@login_required
@require_POST
def queue_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    queue = get_object_or_404(Queue, pk=pk)
    try:
        svc.queue_delete(actor=request.user, queue=queue)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("“%(name)s” deleted.") % {"name": queue.name})
    return redirect("servicesetup:index")
