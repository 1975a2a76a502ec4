"""Logging, editing and deleting interactions; marking follow-ups done.

Reads are scoped by `visible_to` (404); writes go through `activities.services`, which
refuse with PermissionDenied (403) before any change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from guanxi.core.exceptions import ConflictError
from guanxi.parties import permissions as perms
from guanxi.parties.customer_page import (
    customer_flags,
    header_context,
    timeline_context,
    visible_customer,
)
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.views import is_fragment

from . import services
from .forms import InteractionForm
from .models import Interaction


def _visible_interaction(request: HttpRequest, pk: int) -> Interaction:
    qs = Interaction.objects.visible_to(request.user).select_related("customer")
    return get_object_or_404(qs, pk=pk)


def _next_url(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


def _quick_log_response(request: HttpRequest, customer, form: InteractionForm | None,
                        ok: bool) -> HttpResponse:
    """HTMX answer to the quick log: the fresh timeline plus a fresh form, or the form
    with its errors swapped in place."""
    if not ok:
        html = render_to_string("activities/partials/quick_log.html",
                                {"customer": customer, "quick_form": form}, request=request)
        return reswap(retarget(HttpResponse(html), "#quick-log"), "outerHTML")
    flags = customer_flags(request.user, customer)
    context = {
        "customer": customer,
        **flags,
        **timeline_context(request, customer, flags, from_request=False),
        "quick_form": InteractionForm(customer=customer),
        "quick_oob": True,
        "logged": True,
    }
    customer.refresh_from_db(fields=["last_contact_at"])
    html = (render_to_string("parties/partials/timeline.html", context, request=request)
            + render_to_string("activities/partials/quick_log.html", context, request=request)
            + render_to_string("parties/partials/last_contact.html",
                               {"customer": customer, "oob": True}, request=request))
    return trigger_client_event(HttpResponse(html), "interaction-logged", after="settle")


@login_required
def log(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """GET: the full interaction form. POST: log it (the quick log posts three fields)."""
    customer = visible_customer(request, customer_pk)
    if not perms.can_log_interaction(request.user, customer):
        raise PermissionDenied
    quick = request.POST.get("form") == "quick"
    if request.method == "POST":
        form = InteractionForm(request.POST, customer=customer)
        ok = False
        if form.is_valid():
            try:
                services.interaction_create(actor=request.user, customer=customer,
                                            **form.service_data(creating=True))
                ok = True
            except ValidationError as exc:
                apply_service_errors(form, exc)
        if quick and is_fragment(request):
            return _quick_log_response(request, customer, form, ok)
        if ok:
            messages.success(request, _("Logged."))
            return redirect(customer)
    else:
        initial = {k: request.GET[k] for k in ("kind", "subject", "outcome", "opportunity")
                   if k in request.GET}
        form = InteractionForm(customer=customer, initial=initial)
    return render(request, "activities/interaction_form.html",
                  {"form": form, **header_context(request, customer), "creating": True})


@login_required
def interaction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = _visible_interaction(request, pk)
    customer = visible_customer(request, interaction.customer_id)
    if not services.can_edit_interaction(request.user, interaction):
        raise PermissionDenied
    version, conflict = interaction.version, None
    if request.method == "POST":
        form = InteractionForm(request.POST, customer=customer, instance=interaction)
        sent = request.POST.get("version") or ""
        sent_version = int(sent) if sent.isdigit() else None
        version = sent_version or version
        if form.is_valid():
            try:
                services.interaction_update(actor=request.user, interaction=interaction,
                                            version=sent_version,
                                            **form.service_data(creating=False))
            except ConflictError as exc:
                conflict = conflict_rows("activities.interaction", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect(customer)
    else:
        form = InteractionForm(customer=customer, instance=interaction)
    context = {"form": form, **header_context(request, customer), "interaction": interaction,
               "version": version, "conflict": conflict}
    return render(request, "activities/interaction_form.html", context)


@login_required
@require_POST
def interaction_delete(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = _visible_interaction(request, pk)
    services.interaction_delete(actor=request.user, interaction=interaction)
    if is_fragment(request):
        # The timeline entry is swapped out (removed) by the caller.
        return trigger_client_event(HttpResponse(""), "interaction-deleted")
    messages.success(request, _("Moved to the recycle bin."))
    return redirect(_next_url(request, interaction.customer.get_absolute_url()))


@login_required
@require_POST
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an interaction's follow-up done (customer page and My day)."""
    interaction = _visible_interaction(request, pk)
    interaction = services.interaction_complete_follow_up(actor=request.user,
                                                          interaction=interaction)
    if is_fragment(request):
        response = render(request, "activities/partials/follow_up_done.html",
                          {"interaction": interaction})
        return trigger_client_event(response, "follow-up-done", {"id": interaction.pk})
    messages.success(request, _("Follow-up done."))
    return redirect(_next_url(request, interaction.customer.get_absolute_url()))
