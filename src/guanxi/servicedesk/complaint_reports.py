"""Reads of complaints: the filtered list and the complaint rates, always over what the
user can see.

A complaint is a ticket of a complaint type (or one with a complaint record). Its state:
- open: the ticket is still being handled;
- follow_up: resolved, the follow-up call is not recorded yet;
- closed: resolved and followed up.

Complaint rates over a period [start, end]:
- per customer: complaints opened in the period / the customer's orders placed in the
  period (cancelled ones left out), and per 100 orders;
- per product: complaints opened in the period about the product (the ticket's product,
  else its asset's product) / units and order lines of the product delivered in the
  period (order lines of orders with a delivery delivered in the period).
Merged duplicate tickets are not counted. Rows are sorted worst first; a customer or
product with complaints but nothing ordered / delivered comes first (rate unknown).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from guanxi.activities.models import TaskStatus
from guanxi.commerce.models import Delivery, DeliveryStatus, Order, OrderLine, OrderStatus
from guanxi.parties.models import Customer
from guanxi.sales.models import Product

from .models import (
    OPEN_TICKET_STATUSES,
    Complaint,
    RootCause,
    Severity,
    Ticket,
    TicketStatus,
)
from .sla_figures import period_bounds

STATES = ("open", "follow_up", "closed")


def complaint_tickets(user) -> QuerySet[Ticket]:
    return (Ticket.objects.visible_to(user)
            .filter(Q(type__is_complaint=True) | Q(complaint__isnull=False))
            .exclude(status=TicketStatus.MERGED))


def filtered(user, f: dict[str, Any], now: dt.datetime | None = None) -> QuerySet[Ticket]:
    """Complaint tickets filtered by severity, root_cause ("none": not set yet), state,
    follow_up_due (the follow-up call is due or overdue), customer and q (subject)."""
    now = now or timezone.now()
    qs = complaint_tickets(user)
    severity = f.get("severity")
    if severity in Severity.values:
        q = Q(complaint__severity=severity)
        if severity == Severity.MINOR:  # the default of a complaint not yet handled
            q |= Q(complaint__isnull=True)
        qs = qs.filter(q)
    cause = f.get("root_cause")
    if cause == "none":
        qs = qs.filter(Q(complaint__isnull=True) | Q(complaint__root_cause_category=""))
    elif cause in RootCause.values:
        qs = qs.filter(complaint__root_cause_category=cause)
    state = f.get("state")
    if state == "open":
        qs = qs.filter(status__in=OPEN_TICKET_STATUSES)
    elif state == "follow_up":
        qs = qs.exclude(status__in=OPEN_TICKET_STATUSES).filter(
            Q(complaint__isnull=True) | Q(complaint__follow_up_done_at__isnull=True))
    elif state == "closed":
        qs = qs.exclude(status__in=OPEN_TICKET_STATUSES).filter(
            complaint__follow_up_done_at__isnull=False)
    if f.get("follow_up_due"):
        qs = qs.filter(complaint__follow_up_task__status=TaskStatus.OPEN,
                       complaint__follow_up_task__due_at__lte=now,
                       complaint__follow_up_done_at__isnull=True)
    if f.get("customer"):
        qs = qs.filter(customer_id=f["customer"])
    text = (f.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(subject__icontains=text) | Q(customer__name__icontains=text))
    return (qs.select_related("customer", "type", "queue", "assignee", "complaint",
                              "complaint__follow_up_task", "complaint__follow_up_task__assignee")
            .order_by("-created_at", "-id"))


def state_of_parts(ticket: Ticket, complaint) -> str:
    """"open", "follow_up" or "closed" (see the module doc)."""
    if ticket.status in OPEN_TICKET_STATUSES:
        return "open"
    return "closed" if complaint is not None and complaint.follow_up_done_at else "follow_up"


def state_of(ticket: Ticket) -> str:
    try:
        complaint = ticket.complaint
    except Complaint.DoesNotExist:
        complaint = None
    return state_of_parts(ticket, complaint)


# ---------------------------------------------------------------- rates


@dataclass
class Rate:
    obj: Any  # Customer or Product (None: complaints without a product)
    complaints: int
    base: Decimal  # orders (customers) or units delivered (products)
    lines: int = 0  # order lines delivered (products)

    @property
    def rate(self) -> float | None:
        return self.complaints / float(self.base) if self.base else None

    @property
    def per_100(self) -> float | None:
        return None if self.rate is None else self.rate * 100

    @property
    def per_100_lines(self) -> float | None:
        return self.complaints * 100 / self.lines if self.lines else None

    def sort_key(self) -> tuple[float, int]:
        return (-(self.rate if self.rate is not None else math.inf), -self.complaints)


def _in_period(user, start: dt.date, end: dt.date) -> QuerySet[Ticket]:
    lo, hi = period_bounds(start, end)
    return complaint_tickets(user).filter(created_at__gte=lo, created_at__lt=hi)


def customer_rates(user, start: dt.date, end: dt.date, limit: int | None = 200) -> list[Rate]:
    counts = dict(_in_period(user, start, end).values_list("customer")
                  .annotate(n=Count("pk")).order_by())
    if not counts:
        return []
    orders = dict(Order.objects.visible_to(user)
                  .filter(customer_id__in=list(counts), ordered_on__gte=start,
                          ordered_on__lte=end)
                  .exclude(status=OrderStatus.CANCELLED)
                  .values_list("customer").annotate(n=Count("pk")).order_by())
    customers = Customer.objects.in_bulk(list(counts))
    rows = [Rate(customers[cid], n, Decimal(orders.get(cid, 0)))
            for cid, n in counts.items() if cid in customers]
    rows.sort(key=Rate.sort_key)
    return rows[:limit] if limit else rows


def delivered_lines(user, start: dt.date, end: dt.date) -> QuerySet[OrderLine]:
    delivered = (Delivery.objects.visible_to(user)
                 .filter(status=DeliveryStatus.DELIVERED, delivered_on__gte=start,
                         delivered_on__lte=end, order__isnull=False)
                 .values("order_id"))
    return OrderLine.objects.filter(order_id__in=delivered).exclude(
        order__status=OrderStatus.CANCELLED)


def product_rates(user, start: dt.date, end: dt.date, limit: int | None = 200) -> list[Rate]:
    counts = dict(_in_period(user, start, end)
                  .annotate(pid=Coalesce(F("product_id"), F("asset__product_id")))
                  .values_list("pid").annotate(n=Count("pk")).order_by())
    counts.pop(None, None)
    if not counts:
        return []
    delivered = {row["product"]: row for row in
                 delivered_lines(user, start, end).filter(product_id__in=list(counts))
                 .values("product").annotate(units=Sum("quantity"), lines=Count("pk"))
                 .order_by()}
    products = Product.objects.in_bulk(list(counts))
    rows = []
    for pid, n in counts.items():
        if pid not in products:
            continue
        d = delivered.get(pid, {})
        rows.append(Rate(products[pid], n, d.get("units") or Decimal(0), d.get("lines") or 0))
    rows.sort(key=Rate.sort_key)
    return rows[:limit] if limit else rows
