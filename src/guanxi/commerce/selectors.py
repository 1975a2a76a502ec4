"""Reads of the commerce mirror: the customer page's panels and the list pages.

Everything a user sees is scoped by the customer's visibility, the rule of
`Model.objects.visible_to(user)`: `visible()` is that queryset phrased as a join
(tests check they agree for every role). For one customer's records, `of_customer`
checks that customer once (no query for roles that see every customer, else one
primary-key read, cached on the instance) and then filters by its id alone, so the
per-customer indexes (customer, ordered_on / status / due_on / received_on) do all
the work. Money is summed per currency: CNY is never added to USD.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from guanxi.parties.models import Customer

from .models import (
    OPEN_CONTRACT_STATUSES,
    OPEN_INVOICE_STATUSES,
    Contract,
    ContractMilestone,
    Delivery,
    Invoice,
    MilestoneKind,
    Order,
    Payment,
)

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=18, decimal_places=2)
# What is still owed on an invoice (never negative; cancelled invoices are filtered out).
OUTSTANDING = Greatest(F("amount") - F("paid_amount"), Value(ZERO), output_field=MONEY)
BASE_CURRENCY = "CNY"
PANEL_ROWS = 5
# Ageing of receivables by days past due: (key, first day, last day or None).
AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("d30", 1, 30), ("d60", 31, 60), ("d90", 61, 90), ("older", 91, None))


# Badge colour of a status (orders, deliveries, contracts, invoices share the keys).
STATUS_CSS = {
    "delivered": "badge-ok", "closed": "badge-ok", "completed": "badge-ok", "paid": "badge-ok",
    "partially_paid": "badge-warn", "shipped": "badge-warn", "in_transit": "badge-warn",
    "in_production": "badge-warn",
    "cancelled": "badge-danger", "terminated": "badge-danger", "returned": "badge-danger",
    "expired": "badge-danger",
}


@functools.cache
def _labels(model, field: str) -> dict[str, Any]:
    return dict(model._meta.get_field(field).choices)


def with_method_labels(payments):
    """`method_label` on each payment (see with_badges); returns the payments."""
    for p in payments:
        p.method_label = str(_labels(type(p), "method").get(p.method, p.method))
    return payments


def with_badges(rows):
    """Give each row that has a status `status_css` (its badge class) and `status_label`
    (get_status_display() without hashing every lazy choice label on each call, which
    is most of a small table's rendering time); returns the rows."""
    for row in rows:
        status = getattr(row, "status", None)
        if status is not None:
            row.status_css = STATUS_CSS.get(status, "")
            row.status_label = str(_labels(type(row), "status").get(status, status))
    return rows


@functools.lru_cache(maxsize=8)
def _list_urls(prefix: str) -> dict[str, str]:
    return {k: reverse(f"commerce:{k}") for k in LISTS}


LISTS = ("orders", "contracts", "deliveries", "invoices", "payments")


def list_urls() -> dict[str, str]:
    """{"orders": "/commerce/orders/", …}: a detail page is "<list url><pk>/" (urls.py), so
    templates and the timeline link rows without a reverse() each."""
    return _list_urls(get_script_prefix())


def today() -> dt.date:
    return timezone.localdate()


def currency_key(code: str) -> tuple[int, str]:
    """Sort order of currencies: 元 first, then alphabetical."""
    return (0 if code == BASE_CURRENCY else 1, code)


# ---------------------------------------------------------------- scoping


def customer_is_visible(user, customer: Customer) -> bool:
    """Whether `user` may read `customer` (for users who do not see every customer: one
    primary-key query, cached on the instance)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    if customer.deleted_at is not None:
        return False
    if user.sees_all_customers:
        return True
    cache: dict[int, bool] = customer.__dict__.setdefault("_commerce_visible", {})
    if user.pk not in cache:
        cache[user.pk] = Customer.objects.visible_to(user).filter(pk=customer.pk).exists()
    return cache[user.pk]


def of_customer(model, user, customer: Customer) -> QuerySet:
    """`model`'s rows of `customer`, or none when the user may not read the customer.

    Equivalent to `model.objects.visible_to(user).filter(customer=customer)`, phrased
    so that the query is a plain lookup on the (customer, …) index instead of a
    membership test against every customer the user may see."""
    qs = model.objects.filter(customer_id=customer.pk)
    return qs if customer_is_visible(user, customer) else qs.none()


def visible(model, user) -> QuerySet:
    """`model.objects.visible_to(user)`, phrased as a correlated EXISTS on the customer.

    The same rows (tests check it for every role), but SQLite reads them differently:
    `customer_id IN (every visible customer)` lists all of a rep's visible customers
    (their own and the whole pool) before each query, while EXISTS tests one row's
    customer by primary key, so a page sorted by an index stops after a page of rows
    and a lookup by id stays a lookup.
    """
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return model.objects.none()
    customers = Customer.objects.visible_to(user).filter(pk=OuterRef("customer_id"))
    return model.objects.filter(Exists(customers))


def synced_at(rows) -> dt.datetime | None:
    """When the freshest of `rows` came from the ERP."""
    stamps = [r.synced_at for r in rows if getattr(r, "synced_at", None)]
    return max(stamps) if stamps else None


# ---------------------------------------------------------------- contracts


def annotate_milestones(contracts: list[Contract], on: dt.date) -> None:
    """Give each contract `next_milestone` (first open step), `payments_due` (open
    payment-plan rows due on or before `on`) and `next_payment` (the first open
    payment-plan row after `on`): one query for all of them."""
    by_contract: dict[int, list[ContractMilestone]] = defaultdict(list)
    if contracts:
        for m in (ContractMilestone.objects.filter(contract_id__in=[c.pk for c in contracts],
                                                   done_on__isnull=True)
                  .order_by("contract_id", "seq")):
            by_contract[m.contract_id].append(m)
    for c in contracts:
        open_steps = by_contract.get(c.pk, [])
        payments = [m for m in open_steps if m.kind == MilestoneKind.PAYMENT]
        c.next_milestone = open_steps[0] if open_steps else None
        c.payments_due = [m for m in payments if m.due_on and m.due_on <= on]
        c.next_payment = next((m for m in payments if not m.due_on or m.due_on > on), None)
        c.payments_due_total = sum((m.amount or ZERO for m in c.payments_due), ZERO)


def contracts_panel(user, customer: Customer, *, on: dt.date | None = None,
                    limit: int = PANEL_ROWS) -> dict[str, Any]:
    on = on or today()
    rows = list(of_customer(Contract, user, customer)
                .filter(status__in=OPEN_CONTRACT_STATUSES)
                .order_by(F("signed_on").desc(nulls_last=True), "-id")
                [:limit + 1])
    contracts = with_badges(rows[:limit])
    annotate_milestones(contracts, on)
    return {"contracts": contracts, "more": len(rows) > limit, "synced_at": synced_at(contracts),
            "today": on, "urls": list_urls()}


# ---------------------------------------------------------------- orders and deliveries


def _delivery_key(d: Delivery) -> tuple:
    day = d.delivered_on or d.shipped_on or d.expected_on or dt.date.min
    return (day, d.pk)


def attach_latest_delivery(orders: list[Order]) -> None:
    """Set `latest_delivery` on each order (one query on the delivery-by-order index)."""
    latest: dict[int, Delivery] = {}
    if orders:
        for d in Delivery.objects.filter(order_id__in=[o.pk for o in orders]).order_by():
            best = latest.get(d.order_id)
            if best is None or _delivery_key(d) > _delivery_key(best):
                latest[d.order_id] = d
    for o in orders:
        o.latest_delivery = latest.get(o.pk)
    with_badges(orders)
    with_badges(latest.values())


def orders_panel(user, customer: Customer, *, limit: int = PANEL_ROWS) -> dict[str, Any]:
    rows = list(of_customer(Order, user, customer).order_by("-ordered_on", "-id")[:limit + 1])
    orders = rows[:limit]
    attach_latest_delivery(orders)
    return {"orders": orders, "more": len(rows) > limit, "synced_at": synced_at(orders),
            "urls": list_urls()}


# ---------------------------------------------------------------- invoices and payments


def receivable_totals(invoices: QuerySet, on: dt.date) -> list[dict[str, Any]]:
    """Per currency over the open invoices of `invoices`: outstanding, overdue (past
    due on `on`), and their counts. One grouped query."""
    overdue_q = Q(due_on__lt=on) & Q(amount__gt=F("paid_amount"))
    rows = (invoices.filter(status__in=OPEN_INVOICE_STATUSES).order_by()
            .values("currency")
            .annotate(outstanding=Sum(OUTSTANDING),
                      overdue=Sum(Case(When(overdue_q, then=OUTSTANDING), default=Value(ZERO),
                                       output_field=MONEY)),
                      open_count=Count("id"),
                      overdue_count=Count("id", filter=overdue_q)))
    result = [{"currency": r["currency"], "outstanding": r["outstanding"] or ZERO,
               "overdue": r["overdue"] or ZERO, "open_count": r["open_count"],
               "overdue_count": r["overdue_count"]} for r in rows]
    return sorted(result, key=lambda r: currency_key(r["currency"]))


def credit(limit: Decimal | None, used: Decimal) -> dict[str, Any] | None:
    """Credit used (open receivables in 元) against the customer's limit in 元."""
    if limit is None:
        return None
    percent = int(used * 100 / limit) if limit > 0 else (100 if used > 0 else 0)
    return {"limit": limit, "used": used, "available": max(ZERO, limit - used),
            "over": used > limit, "over_by": max(ZERO, used - limit), "percent": percent,
            "bar": max(0, min(100, percent))}


def totals_of(open_invoices: list[Invoice], on: dt.date) -> list[dict[str, Any]]:
    """receivable_totals() computed from the rows themselves (same rules)."""
    acc: dict[str, dict[str, Any]] = {}
    for inv in open_invoices:
        t = acc.setdefault(inv.currency, {"currency": inv.currency, "outstanding": ZERO,
                                          "overdue": ZERO, "open_count": 0,
                                          "overdue_count": 0})
        owed = max(ZERO, inv.amount - inv.paid_amount)
        t["outstanding"] += owed
        t["open_count"] += 1
        if inv.due_on is not None and inv.due_on < on and inv.amount > inv.paid_amount:
            t["overdue"] += owed
            t["overdue_count"] += 1
    return sorted(acc.values(), key=lambda r: currency_key(r["currency"]))


OPEN_ROWS_CAP = 100  # open invoices summed in Python; beyond, one grouped query sums them


def receivables_panel(user, customer: Customer, *, on: dt.date | None = None,
                      limit: int = PANEL_ROWS, cap: int = OPEN_ROWS_CAP) -> dict[str, Any]:
    """Open invoices (oldest due first), balance and overdue amount per currency, recent
    payments, credit used. Two queries for a customer with up to `cap` open invoices
    (the totals are summed from the rows fetched), three beyond (a grouped query)."""
    on = on or today()
    invoices = of_customer(Invoice, user, customer)
    open_rows = list(invoices.filter(status__in=OPEN_INVOICE_STATUSES)
                     .order_by(F("due_on").asc(nulls_last=True), "id")[:max(cap, limit) + 1])
    if len(open_rows) > cap:
        totals = receivable_totals(invoices, on)
    else:
        totals = totals_of(open_rows, on)
    open_count = sum(t["open_count"] for t in totals)
    open_rows = open_rows[:limit]
    for inv in open_rows:
        inv.days_overdue = inv.overdue_days(on)
    payments = with_method_labels(list(of_customer(Payment, user, customer)
                                       .order_by("-received_on", "-id")[:limit]))
    used = next((t["outstanding"] for t in totals if t["currency"] == BASE_CURRENCY), ZERO)
    return {
        "totals": totals,
        "open_invoices": open_rows,
        "more_invoices": open_count > len(open_rows),
        "payments": payments,
        "credit": credit(customer.credit_limit, used),
        "synced_at": synced_at([*open_rows, *payments]),
        "today": on,
        "urls": list_urls(),
    }


def ageing(invoices: QuerySet, on: dt.date) -> list[dict[str, Any]]:
    """Open receivables of `invoices` per currency, split by days past due on `on`:
    not yet due, 1–30, 31–60, 61–90, over 90. One grouped query."""
    sums: dict[str, Any] = {"not_due": Sum(Case(
        When(Q(due_on__isnull=True) | Q(due_on__gte=on), then=OUTSTANDING),
        default=Value(ZERO), output_field=MONEY))}
    for key, first, last in AGEING_BUCKETS:
        cond = Q(due_on__lte=on - dt.timedelta(days=first))
        if last is not None:
            cond &= Q(due_on__gte=on - dt.timedelta(days=last))
        sums[key] = Sum(Case(When(cond, then=OUTSTANDING), default=Value(ZERO),
                             output_field=MONEY))
    rows = (invoices.filter(status__in=OPEN_INVOICE_STATUSES).order_by().values("currency")
            .annotate(total=Sum(OUTSTANDING), count=Count("id"), **sums))
    result = [{k: (v if v is not None else ZERO) for k, v in r.items()} for r in rows]
    return sorted(result, key=lambda r: currency_key(r["currency"]))


# ---------------------------------------------------------------- list pages

OPEN_ORDER_FILTER = "open"
ON_THE_WAY = ("planned", "shipped", "in_transit")
CUSTOMER_MATCHES = 200  # customers a list search looks at (best first)


def _search_q(user, q: str, number_fields: tuple[str, ...]) -> Q:
    """Rows of customers matching `q` (global customer search: names, pinyin, phones…)
    or, when `q` has a digit, whose document number is `q` (as typed or upper-cased)."""
    from guanxi.parties.selectors import search_customers

    ids = [c.pk for c in search_customers(user, q, limit=CUSTOMER_MATCHES)]
    cond = Q(customer_id__in=ids)
    if any(ch.isdigit() for ch in q):  # document and tracking numbers have digits
        forms = sorted({q, q.upper()})  # exact: an index on the number can serve them
        for name in number_fields:
            cond |= Q(**{f"{name}__in": forms})
    return cond


def _newest_first(customer: Customer | None, *by_date) -> tuple:
    """Sort of a list: by date within one customer (the (customer, date) indexes), else
    newest synced first (the primary key: a page is read without sorting millions of
    rows; the ERP sends documents roughly in date order, so this is nearly by date too)."""
    return by_date if customer is not None else ("-id",)


def _base(model, user, data: dict[str, Any], customer: Customer | None, date_field: str,
          number_fields: tuple[str, ...]) -> QuerySet:
    qs = of_customer(model, user, customer) if customer is not None else visible(model, user)
    if q := (data.get("q") or "").strip():
        qs = qs.filter(_search_q(user, q, number_fields))
    if date_from := data.get("date_from"):
        qs = qs.filter(**{f"{date_field}__gte": date_from})
    if date_to := data.get("date_to"):
        qs = qs.filter(**{f"{date_field}__lte": date_to})
    return qs


def order_list(user, data: dict[str, Any], customer: Customer | None = None) -> QuerySet:
    from .models import OPEN_ORDER_STATUSES

    qs = _base(Order, user, data, customer, "ordered_on", ("number",))
    status = data.get("status")
    if status == OPEN_ORDER_FILTER:
        qs = qs.filter(status__in=OPEN_ORDER_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    return qs.select_related("customer").order_by(*_newest_first(customer, "-ordered_on", "-id"))


def contract_list(user, data: dict[str, Any], customer: Customer | None = None) -> QuerySet:
    qs = _base(Contract, user, data, customer, "signed_on", ("number",))
    status = data.get("status")
    if status == "open":
        qs = qs.filter(status__in=OPEN_CONTRACT_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    return qs.select_related("customer").order_by(
        *_newest_first(customer, F("signed_on").desc(nulls_last=True), "-id"))


def invoice_list(user, data: dict[str, Any], customer: Customer | None = None, *,
                 state: str = "open", on: dt.date | None = None) -> QuerySet:
    """Invoices by state: open (not paid, not cancelled), overdue (open and past due),
    paid, cancelled or all."""
    on = on or today()
    qs = _base(Invoice, user, data, customer, "issued_on", ("number",))
    if state in ("open", "overdue"):
        qs = qs.filter(status__in=OPEN_INVOICE_STATUSES)
    if state == "overdue":
        qs = qs.filter(due_on__lt=on, amount__gt=F("paid_amount"))
    elif state in ("paid", "cancelled"):
        qs = qs.filter(status=state)
    if currency := (data.get("currency") or "").strip().upper():
        qs = qs.filter(currency=currency)
    if state in ("open", "overdue"):
        order: tuple = (F("due_on").asc(nulls_last=True), "id")  # oldest due first
    else:
        order = _newest_first(customer, "-issued_on", "-id")
    return qs.select_related("customer").order_by(*order)


def delivery_list(user, data: dict[str, Any], customer: Customer | None = None) -> QuerySet:
    qs = _base(Delivery, user, data, customer, "expected_on", ("tracking_number", "number"))
    status = data.get("status")
    if status == "open":
        qs = qs.filter(status__in=ON_THE_WAY)
    elif status:
        qs = qs.filter(status=status)
    return qs.select_related("customer", "order").order_by(
        *_newest_first(customer, F("expected_on").desc(nulls_last=True), "-id"))


def payment_list(user, data: dict[str, Any], customer: Customer | None = None) -> QuerySet:
    qs = _base(Payment, user, data, customer, "received_on", ("reference",))
    if method := data.get("method"):
        qs = qs.filter(method=method)
    if currency := (data.get("currency") or "").strip().upper():
        qs = qs.filter(currency=currency)
    return qs.select_related("customer", "invoice").order_by(
        *_newest_first(customer, "-received_on", "-id"))


def payment_totals(qs: QuerySet) -> list[dict[str, Any]]:
    """Sum and count of a filtered payment list, per currency (one grouped query)."""
    rows = (qs.order_by().values("currency")
            .annotate(total=Sum("amount", output_field=MONEY), count=Count("id")))
    return sorted(({"currency": r["currency"], "total": r["total"] or ZERO,
                    "count": r["count"]} for r in rows),
                  key=lambda r: currency_key(r["currency"]))


def page(qs: QuerySet, number: Any, per_page: int):
    """One page of `qs` (already ordered) with a bounded count (see parties.list_selectors)."""
    from guanxi.parties.list_selectors import COUNT_CAP, ListPage, bounded_count

    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    total = bounded_count(qs, COUNT_CAP)
    offset = (number - 1) * per_page
    rows = list(qs[offset:offset + per_page + 1])
    return ListPage(object_list=rows[:per_page], number=number, per_page=per_page,
                    has_next=len(rows) > per_page, total=min(total, COUNT_CAP),
                    total_capped=total > COUNT_CAP)


# ---------------------------------------------------------------- detail pages


def order_lines(order: Order) -> list:
    return list(order.lines.select_related("product").order_by("line_no"))
