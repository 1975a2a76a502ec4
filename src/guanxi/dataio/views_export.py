"""Downloads of the customer, contact and interaction lists (CSV, XLSX), contacts as
vCards, and the vCard import page.

Each export builds its rows with the list page's own query (`list_queryset` of the
customer list, `contact_queryset`, `interaction_queryset`) from the same query
string, so it holds what the list shows the person with those filters and nothing
they may not see. Every logged-in user may export what they can see (see `export`).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.accounts.models import Role
from guanxi.activities.list_views import interaction_queryset
from guanxi.activities.models import Interaction
from guanxi.parties import permissions as perms
from guanxi.parties.contact_list_views import contact_queryset
from guanxi.parties.forms import CustomerFilterForm
from guanxi.parties.list_selectors import list_queryset, order_by_args, ordering_for
from guanxi.parties.models import Contact, Customer

from . import export, vcard

FORMATS = ("csv", "xlsx")
SHEET_TITLES = {
    "customers": gettext_lazy("Customers"),
    "contacts": gettext_lazy("Contacts"),
    "interactions": gettext_lazy("Interactions"),
}
MAX_VCF_BYTES = 5 * 1024 * 1024
MAX_VCF_CARDS = 5000
CUSTOMER_CHOICES = 200


# ---------------------------------------------------------------- querysets


def customers_for_export(user, params: QueryDict) -> QuerySet:
    """The customer list's rows for these filters, in the list's sort order."""
    form = CustomerFilterForm(params, user=user)
    form.is_valid()
    qs = list_queryset(user, form.cleaned_data, custom_defs=form.custom_defs)
    _key, order = ordering_for(params.get("sort"))
    return (qs.select_related("owner", "team", "industry").prefetch_related("tags")
            .order_by(*order_by_args(order)))


def contacts_for_export(user, params: QueryDict) -> QuerySet:
    return contact_queryset(user, params)[1]


def interactions_for_export(user, params: QueryDict) -> QuerySet:
    return interaction_queryset(user, params)[1]


SOURCES: dict[str, tuple[type, Callable[..., QuerySet]]] = {
    "customers": (Customer, customers_for_export),
    "contacts": (Contact, contacts_for_export),
    "interactions": (Interaction, interactions_for_export),
}


# ---------------------------------------------------------------- downloads


@login_required
def download(request: HttpRequest, what: str, fmt: str) -> HttpResponse:
    """/export/<customers|contacts|interactions>.<csv|xlsx>?<the list's query string>."""
    if what not in SOURCES or fmt not in FORMATS:
        raise Http404
    model, build = SOURCES[what]
    qs = build(request.user, request.GET)
    total = qs.order_by().count()
    rows = min(total, export.XLSX_MAX_DATA_ROWS) if fmt == "xlsx" else total
    export.record_export(actor=request.user, model=model, what=what, fmt=fmt, rows=rows,
                         filters=export.query_filters(request.GET))
    filename = export.export_filename(what, fmt)
    columns = export.COLUMNS[what]
    if fmt == "csv":
        return export.csv_response(columns, qs, filename)
    return export.xlsx_response(columns, qs, filename, title=str(SHEET_TITLES[what]),
                                total=total)


@login_required
def contacts_vcf(request: HttpRequest) -> HttpResponse:
    """/export/contacts.vcf?<contact list filters>&version=3.0|4.0 (3.0 by default)."""
    version = request.GET.get("version") or vcard.DEFAULT_VERSION
    if version not in vcard.VERSIONS:
        raise Http404
    qs = contacts_for_export(request.user, request.GET)
    total = qs.order_by().count()
    export.record_export(actor=request.user, model=Contact, what="contacts", fmt="vcf",
                         rows=total, filters=export.query_filters(request.GET))
    response = StreamingHttpResponse(vcard.iter_vcards(export.iter_rows(qs), version),
                                     content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, export.export_filename("contacts", "vcf"))
    return response


# ---------------------------------------------------------------- vCard import


def editable_customers(user) -> QuerySet:
    """Customers the user may add contacts to (for the picker; the service decides)."""
    qs = Customer.objects.visible_to(user)
    if not perms.can_create_customer(user):  # not an editing role
        return qs.none()
    if user.role == Role.REP and not user.is_superuser:
        shared = Customer.shared_with.through.objects.filter(user_id=user.pk)
        qs = qs.filter(Q(owner_id=user.pk) | Q(pk__in=shared.values("customer_id")))
    return qs


class VCardImportForm(forms.Form):
    customer = forms.IntegerField(label=gettext_lazy("Customer"), widget=forms.Select)
    file = forms.FileField(label=gettext_lazy("vCard file (.vcf)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".vcf,text/vcard"}))

    WIDE = ("file",)

    def __init__(self, *args, user, selected: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.customer_obj: Customer | None = None
        qs = editable_customers(user).order_by("name").only("id", "name")
        options = list(qs.values_list("id", "name")[:CUSTOMER_CHOICES])
        if selected and selected not in {pk for pk, _n in options}:
            options = list(qs.filter(pk=selected).values_list("id", "name")) + options
        self.fields["customer"].widget.choices = [("", "—")] + options

    def clean_customer(self) -> int:
        pk = self.cleaned_data["customer"]
        customer = Customer.objects.visible_to(self.user).filter(pk=pk).first()
        if customer is None:
            raise forms.ValidationError(_("Choose a customer."))
        if not perms.can_edit_customer(self.user, customer):
            raise forms.ValidationError(_("You may not add contacts to this customer."))
        self.customer_obj = customer
        return pk

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_VCF_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload


def _selected(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def vcard_import(request: HttpRequest) -> HttpResponse:
    """GET: the form (customer preselected by ?customer=); POST: import and report."""
    user = request.user
    if not perms.can_create_customer(user):
        raise PermissionDenied
    selected = _selected(request.POST.get("customer") or request.GET.get("customer"))
    result = None
    if request.method == "POST":
        form = VCardImportForm(request.POST, request.FILES, user=user, selected=selected)
        if form.is_valid():
            cards = vcard.parse_vcards(vcard.decode_vcf(form.cleaned_data["file"].read()))
            if not cards:
                form.add_error("file", _("No vCards were found in this file."))
            elif len(cards) > MAX_VCF_CARDS:
                form.add_error("file", _("The file holds more than %(max)s cards.")
                               % {"max": MAX_VCF_CARDS})
            else:
                result = vcard.import_cards(actor=user, customer=form.customer_obj, cards=cards)
    else:
        form = VCardImportForm(user=user, selected=selected,
                               initial={"customer": selected} if selected else None)
    context = {"form": form, "result": result,
               "customer": form.customer_obj if result else None}
    return render(request, "dataio/vcard/import.html", context)
