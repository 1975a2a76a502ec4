"""Add, edit and delete a customer's contacts (through the contact services)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.exceptions import ConflictError

from . import permissions as perms
from . import services
from .customer_page import header_context, visible_customer
from .display import conflict_rows
from .forms import ContactForm, apply_service_errors
from .models import Contact


def _visible_contact(request: HttpRequest, pk: int) -> Contact:
    qs = Contact.objects.visible_to(request.user).select_related("customer")
    return get_object_or_404(qs, pk=pk)


def _render(request: HttpRequest, form: ContactForm, customer, **extra) -> HttpResponse:
    context = {"form": form, **header_context(request, customer), **extra}
    return render(request, "parties/contact_form.html", context)


@login_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_customer(request, pk)
    if not perms.can_edit_customer(request.user, customer):
        raise PermissionDenied
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(actor=request.user, customer=customer,
                                              **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact})
            return redirect(customer)
    return _render(request, form, customer)


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _visible_contact(request, pk)
    customer = visible_customer(request, contact.customer_id)
    if not perms.can_edit_customer(request.user, customer):
        raise PermissionDenied
    version, conflict = contact.version, None
    if request.method == "POST":
        form = ContactForm(request.POST, instance=contact)
        sent = request.POST.get("version")
        sent_version = int(sent) if sent and sent.isdigit() else None
        version = sent_version or version
        if form.is_valid():
            try:
                services.contact_update(actor=request.user, contact=contact,
                                        version=sent_version, **form.service_data())
            except ConflictError as exc:
                conflict = conflict_rows("parties.contact", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Contact “%(name)s” saved.") % {"name": contact})
                return redirect(customer)
    else:
        form = ContactForm(instance=contact)
    return _render(request, form, customer, contact=contact, version=version, conflict=conflict)


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _visible_contact(request, pk)
    services.contact_delete(actor=request.user, contact=contact)
    messages.success(request, _("Contact “%(name)s” moved to the recycle bin.") % {"name": contact})
    return redirect(contact.customer)
