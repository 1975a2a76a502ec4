"""Customer pages: list, create, edit, 360 view, history, delete.

Reads start from `Customer.objects.visible_to(user)` (404 otherwise); writes call the
services, which refuse with PermissionDenied (403) before touching the database.
Contacts live in `contact_views`, the recycle bin in `bin_views`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.audit import history_for_customer
from guanxi.core.exceptions import ConflictError

from . import permissions as perms
from . import services
from .customer_page import (
    contacts_of,
    custom_values,
    header_context,
    rendered_panels,
    timeline_context,
    visible_customer,
)
from .display import change_rows, conflict_rows, model_verbose_name
from .forms import PROVINCES, CustomerFilterForm, CustomerForm, apply_service_errors
from .list_selectors import (
    SORTS,
    decorate_rows,
    list_queryset,
    list_rows,
    ordering_for,
    page_of,
)
from .models import Customer

# Direction a column sorts in on its first click.
FIRST_CLICK_DESC = {"updated", "last_contact"}
HISTORY_PAGE = 25


def is_fragment(request: HttpRequest) -> bool:
    """An HTMX request that wants a fragment (not a boosted or history-restore request)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


def optional_url(*names: str) -> str:
    """The first of `names` that is installed (apps that may not exist yet), else ""."""
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- list


def _sort_links(current: str) -> dict[str, dict[str, str]]:
    links = {}
    for key in SORTS:
        if current == key:
            links[key] = {"param": f"-{key}", "dir": "ascending"}
        elif current == f"-{key}":
            links[key] = {"param": key, "dir": "descending"}
        else:
            links[key] = {"param": f"-{key}" if key in FIRST_CLICK_DESC else key, "dir": ""}
    return links


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = CustomerFilterForm(request.GET, user=user)
    form.is_valid()
    data = form.cleaned_data
    sort = ordering_for(request.GET.get("sort"))[0]
    qs = list_queryset(user, data, custom_defs=form.custom_defs)
    fixed = {"tier"} if data.get("tier") else set()
    page = page_of(qs, request.GET.get("page"), settings.GUANXI_PAGE_SIZE, sort=sort,
                   fixed=fixed, prepare=list_rows)
    decorate_rows(page.object_list)
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "sort_links": _sort_links(sort),
        "has_any": (bool(page.object_list) or page.number > 1
                    or Customer.objects.visible_to(user).exists()),
        "can_create": perms.can_create_customer(user),
        "can_restore": perms.can_restore(user),
        "import_url": optional_url("imports:start", "imports:import_create"),
    }
    template = ("parties/partials/customer_results.html" if is_fragment(request)
                else "parties/customer_list.html")
    return _vary(render(request, template, context))


# ---------------------------------------------------------------- create / edit


def _render_form(request: HttpRequest, form: CustomerForm, **extra: Any) -> HttpResponse:
    if "industry" in form.fields:
        # Picking an industry swaps in its custom fields, keeping what was typed there.
        form.fields["industry"].widget.attrs.update({
            "hx-get": request.path, "hx-target": "#custom-fields", "hx-trigger": "change",
            "hx-include": "[name^='cf_']", "hx-sync": "this:replace",
        })
    context = {"form": form, "provinces": PROVINCES, **extra}
    return _vary(render(request, "parties/customer_form.html", context))


def _custom_fields_preview(request: HttpRequest, user, instance=None) -> HttpResponse:
    """The custom-field fieldset for the industry just picked, keeping typed values."""
    industry_id = _int_or_none(request.GET.get("industry"))
    initial = {}
    for key in request.GET:
        values = request.GET.getlist(key)
        initial[key] = values if len(values) > 1 else values[0]
    form = CustomerForm(user=user, instance=instance, initial=initial, industry_id=industry_id)
    return _vary(render(request, "parties/partials/custom_fields.html", {"form": form}))


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not perms.can_create_customer(user):
        raise PermissionDenied
    if request.method == "GET" and is_fragment(request) and request.htmx.target == "custom-fields":
        return _custom_fields_preview(request, user)
    if request.method == "POST":
        form = CustomerForm(request.POST, user=user)
        if form.is_valid():
            try:
                customer = services.customer_create(actor=user, **form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Customer “%(name)s” created.") % {"name": customer})
                return redirect(customer)
    else:
        initial = {"owner": user.pk, "team": user.team_id}
        if phone := request.GET.get("phone", "").strip()[:40]:
            initial["phone"] = phone  # from the screen-pop's "unknown caller" page
        form = CustomerForm(user=user, initial=initial)
    return _render_form(request, form, creating=True)


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    customer = visible_customer(request, pk)
    if not perms.can_edit_customer(user, customer):
        raise PermissionDenied
    if request.method == "GET" and is_fragment(request) and request.htmx.target == "custom-fields":
        return _custom_fields_preview(request, user, instance=customer)
    version = customer.version
    conflict = None
    if request.method == "POST":
        form = CustomerForm(request.POST, user=user, instance=customer)
        sent_version = _int_or_none(request.POST.get("version"))
        if form.is_valid():
            try:
                services.customer_update(actor=user, customer=customer, version=sent_version,
                                         **form.service_data())
            except ConflictError as exc:
                conflict = conflict_rows("parties.customer", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
                version = sent_version or version
            else:
                messages.success(request, _("Changes saved."))
                return redirect(customer)
        else:
            version = sent_version or version
    else:
        form = CustomerForm(user=user, instance=customer)
    return _render_form(request, form, version=version, conflict=conflict,
                        **header_context(request, customer))


@login_required
@require_POST
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_customer(request, pk)
    services.customer_delete(actor=request.user, customer=customer)
    messages.success(request, _("“%(name)s” moved to the recycle bin.") % {"name": customer})
    return redirect("parties:customer_list")


# ---------------------------------------------------------------- 360 view and history


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_customer(request, pk)
    header = header_context(request, customer)
    timeline = timeline_context(request, customer, header)
    if is_fragment(request) and request.GET.get("before"):
        return _vary(render(request, "parties/partials/timeline_items.html",
                            {"customer": customer, **timeline}))
    if is_fragment(request) and request.htmx.target == "timeline":
        return _vary(render(request, "parties/partials/timeline.html",
                            {"customer": customer, **header, **timeline}))
    from guanxi.activities.forms import InteractionForm

    context = {
        **header,
        **timeline,
        "tab": "overview",
        "contacts": contacts_of(customer),
        "custom_values": custom_values(customer),
        "panels": rendered_panels(request, customer),
        "quick_form": InteractionForm(customer=customer) if header["can_log"] else None,
    }
    return _vary(render(request, "parties/customer_detail.html", context))


@login_required
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_customer(request, pk)
    paginator = Paginator(history_for_customer(customer.pk), HISTORY_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    entries = [
        {"entry": e, "record_type": model_verbose_name(e.model),
         "rows": change_rows(e.model, e.changes)}
        for e in page.object_list
    ]
    context = {**header_context(request, customer), "tab": "history", "page": page,
               "entries": entries}
    template = ("parties/partials/history_table.html" if is_fragment(request)
                else "parties/customer_history.html")
    return _vary(render(request, template, context))
