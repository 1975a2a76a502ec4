"""The caller screen-pop page (/service/call/?phone=…) and the call-log form.

Any telephony system (CTI, softphone, a PBX's "open URL on ring") opens
/service/call/?phone=<caller id> in the agent's browser: one match shows the caller's
card, several show a list to choose from, none offers to create a lead or a customer
with the number filled in.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.activities import services as activity_services
from guanxi.activities.models import Direction, InteractionKind, Outcome
from guanxi.parties import permissions as party_perms
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.models import Contact, Customer

from . import permissions as perms
from . import screenpop


def url_or(name: str, fallback: str, *args: Any) -> str:
    """reverse(name), or `fallback` while the page behind it is not installed yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def new_ticket_url(customer: Customer, contact: Contact | None = None, **extra: str) -> str:
    params = {"customer": customer.pk, "channel": "phone", **extra}
    if contact is not None:
        params["contact"] = contact.pk
    return f"{url_or('service:ticket_new', '/service/new/')}?{urlencode(params)}"


def call_log_url(customer: Customer, contact: Contact | None, phone: str) -> str:
    params: dict[str, Any] = {"customer": customer.pk}
    if contact is not None:
        params["contact"] = contact.pk
    if phone:
        params["phone"] = phone
    return f"{reverse('screenpop:call_log')}?{urlencode(params)}"


def _card_context(request: HttpRequest, customer: Customer, contact: Contact | None,
                  phone: str) -> dict[str, Any]:
    user = request.user
    card = screenpop.caller_card(user, customer, contact)
    for t in card["tickets"]:
        t.url = url_or("service:ticket_detail", "", t.pk)
    card.update({
        "other_contacts": screenpop.other_contacts(customer, contact),
        "new_ticket_url": (new_ticket_url(customer, contact)
                           if perms.can_create_ticket(user, customer) else ""),
        "call_log_url": (call_log_url(customer, contact, phone)
                         if party_perms.can_log_interaction(user, customer) else ""),
    })
    return card


@login_required
@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    user = request.user
    phone = (request.GET.get("phone") or "").strip()[:100]
    result = screenpop.lookup(user, phone) if phone else None
    context: dict[str, Any] = {"phone": phone, "result": result}
    # A choice from the list (or a link from elsewhere) names the customer/contact.
    customer_id, contact_id = request.GET.get("customer"), request.GET.get("contact")
    customer = contact = None
    if customer_id and customer_id.isdigit():
        customer = get_object_or_404(Customer.objects.visible_to(user).select_related(
            "owner", "team"), pk=int(customer_id))
        if contact_id and contact_id.isdigit():
            contact = get_object_or_404(Contact.objects.filter(customer=customer),
                                        pk=int(contact_id))
    elif result is not None and (single := result.single) is not None:
        customer, contact = single.customer, single.contact
        context["via"] = single.via_label
    if customer is not None:
        context.update(_card_context(request, customer, contact, phone))
        template = "servicedesk/screenpop_card.html"
    elif result is not None and result.matches:
        template = "servicedesk/screenpop_choose.html"
    else:
        template = "servicedesk/screenpop_unknown.html"
        if phone:
            context.update(_unknown_actions(user, result.e164 if result else "", phone))
    return render(request, template, context)


def _unknown_actions(user, e164: str, raw: str) -> dict[str, str]:
    """Buttons for an unknown caller: a new lead / a new customer with the number."""
    from guanxi.parties.normalize import format_phone

    number = format_phone(e164) if e164 else raw
    out = {"new_customer_url": "", "new_lead_url": ""}
    if party_perms.can_create_customer(user):
        out["new_customer_url"] = (url_or("parties:customer_create", "/customers/new/")
                                   + "?" + urlencode({"phone": number}))
    from guanxi.sales.leads import can_create_lead

    if can_create_lead(user):
        out["new_lead_url"] = (url_or("leads:create", "/leads/new/")
                               + "?" + urlencode({"phone": number}))
    return out


# ---------------------------------------------------------------- call log


class CallLogForm(forms.Form):
    contact = forms.ModelChoiceField(label=gettext_lazy("Contact"), queryset=Contact.objects.none(),
                                     required=False, empty_label="—")
    kind = forms.ChoiceField(label=gettext_lazy("Type"), initial=InteractionKind.CALL,
                             choices=[(InteractionKind.CALL, InteractionKind.CALL.label),
                                      (InteractionKind.COMPLAINT,
                                       InteractionKind.COMPLAINT.label)])
    direction = forms.ChoiceField(label=gettext_lazy("Direction"), initial=Direction.INBOUND,
                                  choices=[(Direction.INBOUND, Direction.INBOUND.label),
                                           (Direction.OUTBOUND, Direction.OUTBOUND.label)])
    occurred_at = forms.DateTimeField(
        label=gettext_lazy("Started"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    duration_minutes = forms.IntegerField(label=gettext_lazy("Duration (minutes)"), min_value=0,
                                          max_value=24 * 60, required=False)
    subject = forms.CharField(label=gettext_lazy("Summary"), max_length=200, required=False)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), required=False,
                                choices=[("", "—"), *Outcome.choices])
    body = forms.CharField(label=gettext_lazy("Notes"), required=False,
                           widget=forms.Textarea(attrs={"rows": 4}))
    open_ticket = forms.BooleanField(label=gettext_lazy("Also open a ticket"), required=False)

    WIDE: ClassVar[set[str]] = {"body", "open_ticket"}

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer)
        self.fields["subject"].widget.attrs["placeholder"] = _("What the caller wanted")

    def service_data(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        d.pop("open_ticket", None)
        return d


def _call_log_initial(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "kind": InteractionKind.CALL, "direction": Direction.INBOUND,
        "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
    }
    contact_id = request.GET.get("contact")
    if contact_id and contact_id.isdigit():
        contact = Contact.objects.filter(customer=customer, pk=int(contact_id)).first()
        if contact is not None:
            initial["contact"] = contact
    phone = (request.GET.get("phone") or "").strip()[:40]
    if phone:
        initial["body"] = _("Caller: %(phone)s") % {"phone": phone}
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def call_log(request: HttpRequest) -> HttpResponse:
    """/service/call/log/?customer=&contact=&phone= — log the call on the timeline."""
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    raw_id = source.get("customer") or request.GET.get("customer") or ""
    if not raw_id.isdigit():
        return redirect("screenpop:lookup")
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=int(raw_id))
    if not party_perms.can_log_interaction(user, customer):
        raise PermissionDenied
    if request.method == "POST":
        form = CallLogForm(request.POST, customer=customer)
        if form.is_valid():
            try:
                interaction = activity_services.interaction_create(
                    actor=user, customer=customer, **form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Call logged."))
                if form.cleaned_data.get("open_ticket") and perms.can_create_ticket(
                        user, customer):
                    return redirect(new_ticket_url(
                        customer, interaction.contact, subject=interaction.subject,
                        description=interaction.body, interaction=str(interaction.pk)))
                return redirect(customer.get_absolute_url())
    else:
        form = CallLogForm(initial=_call_log_initial(request, customer), customer=customer)
    return render(request, "servicedesk/screenpop_call_log.html",
                  {"form": form, "customer": customer, "phone": request.GET.get("phone", "")})
