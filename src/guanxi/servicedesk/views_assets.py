"""Installed-equipment pages: list (filters, search by serial number), detail with the
asset's own service history, new / edit forms, delete.

Reads start from `Asset.objects.visible_to(user)` (404 otherwise); writes call
`asset_services`, which refuse with PermissionDenied (403) before any change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.exceptions import ConflictError
from guanxi.parties.customer_page import visible_customer
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.models import Customer
from guanxi.parties.views import _vary, is_fragment

from . import asset_services as svc
from .asset_forms import AssetFilterForm, AssetForm
from .field_selectors import asset_history
from .models import OPEN_TICKET_STATUSES, Asset

PAGE_SIZE = 50
PICKER_LIMIT = 20


def visible_asset(request: HttpRequest, pk: int) -> Asset:
    qs = Asset.objects.visible_to(request.user).select_related(
        "customer", "product", "order", "contract")
    return get_object_or_404(qs, pk=pk)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def filtered_assets(user, data: dict[str, Any]):
    qs = (Asset.objects.visible_to(user).select_related("customer", "product")
          .annotate(open_tickets=Count("tickets", filter=Q(
              tickets__status__in=OPEN_TICKET_STATUSES, tickets__deleted_at__isnull=True))))
    if data.get("customer"):
        qs = qs.filter(customer_id=data["customer"])
    if data.get("product"):
        qs = qs.filter(product=data["product"])
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("warranty"):
        qs = svc.warranty_filter(qs, data["warranty"])
    q = (data.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(serial_number__icontains=q) | Q(name__icontains=q))
    return qs.order_by("customer__name", "name", "id")


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    form = AssetFilterForm(request.GET)
    data = form.cleaned()
    page = Paginator(filtered_assets(request.user, data), PAGE_SIZE).get_page(
        request.GET.get("page"))
    today = timezone.localdate()
    for a in page.object_list:
        a.warranty = svc.warranty_state(a, today)
    customer = None
    if data.get("customer"):
        customer = Customer.objects.visible_to(request.user).filter(pk=data["customer"]).first()
    context = {
        "form": form, "page": page, "customer": customer,
        "can_add": customer is not None and svc.may_edit_asset(request.user, customer),
    }
    template = ("servicedesk/partials/asset_results.html" if is_fragment(request)
                else "servicedesk/asset_list.html")
    return _vary(render(request, template, context))


@login_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    asset = visible_asset(request, pk)
    history = asset_history(request.user, asset)
    return render(request, "servicedesk/asset_detail.html", {
        "asset": asset, "customer": asset.customer, **history,
        "warranty": svc.warranty_state(asset),
        "can_edit": svc.may_edit_asset(request.user, asset.customer),
    })


def _customer_picker(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    results: list[Customer] = []
    if q:
        results = list(Customer.objects.visible_to(request.user)
                       .filter(Q(name__icontains=q) | Q(short_name__icontains=q)
                               | Q(search_text__icontains=q.lower()))
                       .order_by("name")[:PICKER_LIMIT])
    return render(request, "servicedesk/asset_pick_customer.html", {"q": q, "results": results})


@login_required
def asset_create(request: HttpRequest) -> HttpResponse:
    customer_pk = _int(request.POST.get("customer") or request.GET.get("customer"))
    if customer_pk is None:
        return _customer_picker(request)
    customer = visible_customer(request, customer_pk)
    if not svc.may_edit_asset(request.user, customer):
        raise PermissionDenied
    form = AssetForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            asset = svc.asset_create(actor=request.user, customer=customer,
                                     **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s” recorded.") % {"name": asset.name})
            return redirect("assets:detail", pk=asset.pk)
    return render(request, "servicedesk/asset_form.html",
                  {"form": form, "customer": customer, "creating": True})


@login_required
def asset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    asset = visible_asset(request, pk)
    if not svc.may_edit_asset(request.user, asset.customer):
        raise PermissionDenied
    version, conflict = asset.version, None
    form = AssetForm(request.POST or None, customer=asset.customer, instance=asset)
    if request.method == "POST":
        sent = _int(request.POST.get("version"))
        version = sent or version
        if form.is_valid():
            try:
                svc.asset_update(actor=request.user, asset=asset, version=sent,
                                 **form.service_data())
            except ConflictError as exc:
                conflict = conflict_rows("servicedesk.asset", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("assets:detail", pk=asset.pk)
    return render(request, "servicedesk/asset_form.html", {
        "form": form, "customer": asset.customer, "asset": asset, "version": version,
        "conflict": conflict})


@login_required
@require_POST
def asset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    asset = visible_asset(request, pk)
    svc.asset_delete(actor=request.user, asset=asset)
    messages.success(request, _("“%(name)s” moved to the recycle bin.") % {"name": asset.name})
    return redirect(asset.customer)
