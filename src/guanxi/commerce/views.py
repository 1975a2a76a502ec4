"""Commerce pages: orders, contracts, deliveries, invoices (receivables) and payments.

Read-only: the ERP is the system of record and these rows are its mirror. Every read
starts from `.visible_to(request.user)` (the customer's visibility); a record the
user may not see is a 404, and so is a `?customer=` the user may not see. Lists are
filter form + table + pagination; an HTMX request gets the results fragment only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

from guanxi.parties.models import Customer
from guanxi.parties.views import is_fragment

from . import forms, selectors
from .models import Contract, Delivery, Invoice, MilestoneKind, Order, Payment

PAGE_SIZE = 25
RELATED_ROWS = 20  # related rows shown on a detail page (the rest: the filtered list)


@dataclass(frozen=True)
class ListSpec:
    key: str  # the URL name, also the tab
    title: Any
    form: type[forms.CommerceFilterForm]
    rows: Callable[..., Any]
    results: str
    date_labels: tuple[Any, Any]


SPECS = {
    "orders": ListSpec("orders", _("Orders"), forms.OrderFilterForm, selectors.order_list,
                       "commerce/partials/orders_results.html",
                       (_("Ordered from"), _("Ordered until"))),
    "contracts": ListSpec("contracts", _("Contracts"), forms.ContractFilterForm,
                          selectors.contract_list, "commerce/partials/contracts_results.html",
                          (_("Signed from"), _("Signed until"))),
    "deliveries": ListSpec("deliveries", _("Deliveries"), forms.DeliveryFilterForm,
                           selectors.delivery_list, "commerce/partials/deliveries_results.html",
                           (_("Expected from"), _("Expected until"))),
    "invoices": ListSpec("invoices", _("Invoices and receivables"), forms.InvoiceFilterForm,
                         selectors.invoice_list, "commerce/partials/invoices_results.html",
                         (_("Issued from"), _("Issued until"))),
    "payments": ListSpec("payments", _("Payments"), forms.PaymentFilterForm,
                         selectors.payment_list, "commerce/partials/payments_results.html",
                         (_("Received from"), _("Received until"))),
}
TABS = [(key, spec.title) for key, spec in SPECS.items()]


def _customer_filter(request: HttpRequest, data: dict[str, Any]) -> Customer | None:
    """The `?customer=` the list is narrowed to; 404 if the user may not see it."""
    pk = data.get("customer")
    if pk is None:
        if request.GET.get("customer"):
            raise Http404("bad customer")
        return None
    return get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)


def _list(request: HttpRequest, key: str, *, with_page: bool = True,
          **extra_rows: Any) -> tuple[QuerySet, dict[str, Any]]:
    """The filtered rows of list `key` and the page's context (form, customer, page)."""
    spec = SPECS[key]
    form = spec.form(request.GET)
    form.fields["date_from"].label, form.fields["date_to"].label = spec.date_labels
    data = form.cleaned()
    customer = _customer_filter(request, data)
    context: dict[str, Any] = {"form": form, "spec": spec, "tabs": TABS, "tab": key,
                               "customer": customer, "today": selectors.today(),
                               "filtered": bool(data), "part_url": _part_url(request)}
    qs = spec.rows(request.user, data, customer, **extra_rows)
    if with_page:
        context["page"] = selectors.page(qs, request.GET.get("page"), PAGE_SIZE)
        selectors.with_badges(context["page"].object_list)
    return qs, context


def _part_url(request: HttpRequest) -> str:
    """This list's URL for its summary part (loaded after the rows: sums over many rows
    take longer than a page of them)."""
    params = request.GET.copy()
    params.pop("page", None)
    params["part"] = "summary"
    return f"{request.path}?{params.urlencode()}"


def _render(request: HttpRequest, spec: ListSpec, context: dict[str, Any]) -> HttpResponse:
    template = spec.results if is_fragment(request) else "commerce/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _wants_summary(request: HttpRequest) -> bool:
    return request.GET.get("part") == "summary"


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    _qs, context = _list(request, "orders")
    selectors.attach_latest_delivery(context["page"].object_list)
    return _render(request, SPECS["orders"], context)


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    _qs, context = _list(request, "contracts")
    return _render(request, SPECS["contracts"], context)


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    _qs, context = _list(request, "deliveries")
    return _render(request, SPECS["deliveries"], context)


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    """Receivables: open / overdue / paid / cancelled / all invoices; for open and
    overdue ones, ageing by days past due with totals per currency (the summary part,
    fetched by the page once its rows are shown)."""
    state = forms.InvoiceFilterForm(request.GET).state_value()
    today = selectors.today()
    summary = _wants_summary(request)
    qs, context = _list(request, "invoices", with_page=not summary, state=state, on=today)
    context["state"] = state
    if summary:
        context["ageing"] = selectors.ageing(qs, today) if state in ("open", "overdue") else []
        return render(request, "commerce/partials/ageing.html", context)
    for inv in context["page"].object_list:
        inv.days_overdue = inv.overdue_days(today)
    return _render(request, SPECS["invoices"], context)


@login_required
def payment_list(request: HttpRequest) -> HttpResponse:
    """Payments; with a filter, their sum per currency (the summary part)."""
    summary = _wants_summary(request)
    qs, context = _list(request, "payments", with_page=not summary)
    if summary:
        context["totals"] = selectors.payment_totals(qs) if context["filtered"] else []
        return render(request, "commerce/partials/payment_totals.html", context)
    selectors.with_method_labels(context["page"].object_list)
    return _render(request, SPECS["payments"], context)


# ---------------------------------------------------------------- detail pages


def _detail(request: HttpRequest, template: str, tab: str, obj, **context: Any) -> HttpResponse:
    selectors.with_badges([obj])
    for rows in ("deliveries", "invoices", "orders"):
        selectors.with_badges(context.get(rows) or [])
    return render(request, template, {"obj": obj, "customer": obj.customer, "tabs": TABS,
                                      "tab": tab, "today": selectors.today(), **context})


def _same_customer(qs, obj):
    """Rows linked to `obj` that belong to its customer (the one the user may see)."""
    return qs.filter(customer_id=obj.customer_id)


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(selectors.visible(Order, request.user)
                              .select_related("customer", "contract"), pk=pk)
    deliveries = list(_same_customer(order.deliveries.all(), order)
                      .order_by(F("expected_on").desc(nulls_last=True), "-id")[:RELATED_ROWS])
    invoices = list(_same_customer(order.invoices.all(), order).order_by("-issued_on", "-id")
                    [:RELATED_ROWS])
    today = selectors.today()
    for inv in invoices:
        inv.days_overdue = inv.overdue_days(today)
    return _detail(request, "commerce/order_detail.html", "orders", order,
                   lines=selectors.order_lines(order), deliveries=deliveries, invoices=invoices)


@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(selectors.visible(Contract, request.user)
                                 .select_related("customer", "opportunity"), pk=pk)
    milestones = list(contract.milestones.order_by("seq"))
    today = selectors.today()
    for m in milestones:
        m.late = m.done_on is None and m.due_on is not None and m.due_on < today
    plan = [m for m in milestones if m.kind == MilestoneKind.PAYMENT]
    steps = [m for m in milestones if m.kind != MilestoneKind.PAYMENT]
    orders = list(_same_customer(contract.orders.all(), contract)
                  .order_by("-ordered_on", "-id")[:RELATED_ROWS])
    invoices = list(_same_customer(contract.invoices.all(), contract)
                    .order_by("-issued_on", "-id")[:RELATED_ROWS])
    for inv in invoices:
        inv.days_overdue = inv.overdue_days(today)
    payments = list(_same_customer(contract.payments.all(), contract)
                    .order_by("-received_on", "-id")[:RELATED_ROWS])
    plan_total = sum((m.amount or selectors.ZERO for m in plan), selectors.ZERO)
    plan_done = sum((m.amount or selectors.ZERO for m in plan if m.done_on), selectors.ZERO)
    return _detail(request, "commerce/contract_detail.html", "contracts", contract,
                   steps=steps, plan=plan, plan_total=plan_total, plan_done=plan_done,
                   orders=orders, invoices=invoices, payments=payments)


@login_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(selectors.visible(Invoice, request.user)
                                .select_related("customer", "order", "contract"), pk=pk)
    payments = list(_same_customer(invoice.payments.all(), invoice)
                    .order_by("-received_on", "-id"))
    invoice.days_overdue = invoice.overdue_days(selectors.today())
    return _detail(request, "commerce/invoice_detail.html", "invoices", invoice,
                   payments=payments)


@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(selectors.visible(Delivery, request.user)
                                 .select_related("customer", "order"), pk=pk)
    return _detail(request, "commerce/delivery_detail.html", "deliveries", delivery)


@login_required
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    payment = get_object_or_404(selectors.visible(Payment, request.user)
                                .select_related("customer", "invoice", "contract"), pk=pk)
    return _detail(request, "commerce/payment_detail.html", "payments", payment)
