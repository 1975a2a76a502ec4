"""REST route of the caller screen-pop, for CTI integrations: GET /api/v1/screen-pop?phone=

The same lookup as the page (/service/call/?phone=): the customers and contacts the
caller may be, scoped to the user the token belongs to; with exactly one customer,
its card (open tickets with SLA state, recent deliveries, overdue invoices, owner).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from guanxi.api.auth import actor
from guanxi.api.schemas import ErrorOut, ValidationErrorOut

from . import screenpop

router = Router(tags=["screen-pop"])


class CallerCustomerOut(Schema):
    id: int
    name: str
    tier: str
    stage: str
    phone: str
    owner: int | None
    owner_name: str
    team: int | None
    team_name: str
    url: str


class CallerContactOut(Schema):
    id: int
    name: str
    title: str
    mobile: str
    phone: str
    phone_ext: str
    email: str


class MatchOut(Schema):
    customer: CallerCustomerOut
    contact: CallerContactOut | None
    via: str = Field(..., description='"customer" (company phone), "mobile" or "office" '
                                      "(a contact's number).")


class TicketBrief(Schema):
    id: int
    reference: str
    subject: str
    status: str
    priority: str
    queue: str
    assignee: str
    sla: str = Field(..., description='"breached", "due" (within 4 hours), "ok" or "none".')
    sla_due_at: dt.datetime | None


class DeliveryBrief(Schema):
    id: int
    number: str
    order: str
    status: str
    carrier: str
    tracking_number: str
    shipped_on: dt.date | None
    expected_on: dt.date | None
    delivered_on: dt.date | None


class InvoiceBrief(Schema):
    id: int
    number: str
    due_on: dt.date | None
    amount: Decimal
    outstanding: Decimal
    currency: str
    overdue_days: int


class AmountOut(Schema):
    currency: str
    amount: Decimal


class CardOut(Schema):
    customer: CallerCustomerOut
    contact: CallerContactOut | None
    open_tickets: list[TicketBrief]
    deliveries: list[DeliveryBrief]
    overdue_invoices: list[InvoiceBrief]
    overdue_total: list[AmountOut]


class ScreenPopOut(Schema):
    phone: str = Field(..., description="The number as sent.")
    e164: str
    ext: str
    matches: list[MatchOut]
    card: CardOut | None = Field(None, description="Set when the number leads to one customer.")


class ScreenPopQuery(Schema):
    phone: str = Field(..., max_length=100,
                       description="The caller's number in any format: +86 138 0013 8000, "
                                   "8613800138000, 0086…, (021) 6234 5678, 021-62345678-123…")


def _customer(c) -> dict:
    return {"id": c.pk, "name": c.name, "tier": c.tier, "stage": c.stage, "phone": c.phone,
            "owner": c.owner_id, "owner_name": str(c.owner) if c.owner_id else "",
            "team": c.team_id, "team_name": c.team.name if c.team_id else "",
            "url": reverse("parties:customer_detail", args=[c.pk])}


def _contact(ct) -> dict | None:
    if ct is None:
        return None
    return {"id": ct.pk, "name": ct.name, "title": ct.title, "mobile": ct.mobile,
            "phone": ct.phone, "phone_ext": ct.phone_ext, "email": ct.email}


def card_json(user, customer, contact) -> dict:
    card = screenpop.caller_card(user, customer, contact)
    return {
        "customer": _customer(customer),
        "contact": _contact(contact),
        "open_tickets": [{
            "id": t.pk, "reference": t.reference, "subject": t.subject, "status": t.status,
            "priority": t.priority, "queue": t.queue.name,
            "assignee": str(t.assignee) if t.assignee_id else "", "sla": t.sla.key,
            "sla_due_at": t.sla.due_at} for t in card["tickets"]],
        "deliveries": [{
            "id": d.pk, "number": d.number, "order": d.order.number if d.order_id else "",
            "status": d.status, "carrier": d.carrier, "tracking_number": d.tracking_number,
            "shipped_on": d.shipped_on, "expected_on": d.expected_on,
            "delivered_on": d.delivered_on} for d in card["deliveries"]],
        "overdue_invoices": [{
            "id": i.pk, "number": i.number, "due_on": i.due_on, "amount": i.amount,
            "outstanding": i.outstanding, "currency": i.currency,
            "overdue_days": i.days_overdue} for i in card["overdue_invoices"]],
        "overdue_total": [{"currency": c, "amount": a} for c, a in card["overdue_total"]],
    }


@router.get("/screen-pop", response={200: ScreenPopOut, 401: ErrorOut, 422: ValidationErrorOut},
            summary="Who is calling: customers and contacts with this number")
def screen_pop(request: HttpRequest, filters: Query[ScreenPopQuery]):
    user = actor(request)
    result = screenpop.lookup(user, filters.phone)
    if result.error:
        raise ValidationError({"phone": [result.error]})
    single = result.single
    return {
        "phone": filters.phone, "e164": result.e164, "ext": result.ext,
        "matches": [{"customer": _customer(m.customer), "contact": _contact(m.contact),
                     "via": m.via} for m in result.matches],
        "card": card_json(user, single.customer, single.contact) if single else None,
    }
