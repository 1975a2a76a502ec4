"""REST API of complaints (mounted under /api/v1/): the list, one complaint's handling,
the follow-up call's outcome and the complaint rates.

A complaint is addressed by its ticket's id. Reads start from the tickets the user can
see (404 otherwise; a ticket that is not a complaint is a 404 too); writes call
complaint_services (403 refused, nothing written; 409 version conflict; 422 invalid).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.schemas import ConflictOut, ErrorOut, Page, ValidationErrorOut, WriteSchema

from . import complaint_reports as reports
from . import complaint_services as svc
from .models import Complaint, RootCause, Severity, Ticket
from .permissions import can_see_service_figures
from .sla_forms import MAX_PERIOD_DAYS

router = Router(tags=["complaints"])
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 422: ValidationErrorOut}


class ComplaintOut(Schema):
    ticket: int
    reference: str
    subject: str
    customer: int
    customer_name: str
    ticket_status: str
    state: str = Field(..., description="open (being handled), follow_up (resolved, call to "
                                        "make) or closed (followed up).")
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    product: int | None
    severity: str
    root_cause_category: str
    root_cause: str
    corrective_action: str
    corrective_done_on: dt.date | None
    follow_up_task: int | None
    follow_up_due_at: dt.datetime | None
    follow_up_assignee: int | None
    follow_up_done_at: dt.datetime | None
    follow_up_satisfied: bool | None
    follow_up_notes: str
    version: int = Field(..., description="Send it back with PATCH / follow-up.")


def _out(ticket: Ticket, complaint: Complaint | None) -> dict:
    c = complaint or Complaint(ticket=ticket)
    task = c.follow_up_task if c.follow_up_task_id else None
    return {
        "ticket": ticket.pk, "reference": ticket.reference, "subject": ticket.subject,
        "customer": ticket.customer_id, "customer_name": ticket.customer.name,
        "ticket_status": ticket.status, "state": reports.state_of_parts(ticket, complaint),
        "opened_at": ticket.created_at, "resolved_at": ticket.resolved_at,
        "product": ticket.product_id, "severity": c.severity,
        "root_cause_category": c.root_cause_category, "root_cause": c.root_cause,
        "corrective_action": c.corrective_action, "corrective_done_on": c.corrective_done_on,
        "follow_up_task": task.pk if task else None,
        "follow_up_due_at": task.due_at if task else None,
        "follow_up_assignee": task.assignee_id if task else None,
        "follow_up_done_at": c.follow_up_done_at, "follow_up_satisfied": c.follow_up_satisfied,
        "follow_up_notes": c.follow_up_notes, "version": c.version,
    }


def _saved(ticket: Ticket) -> Complaint | None:
    try:
        return ticket.complaint
    except Complaint.DoesNotExist:
        return None


def _visible(user, ticket_id: int) -> Ticket:
    ticket = get_object_or_404(Ticket.objects.visible_to(user).select_related(
        "customer", "type", "queue", "complaint", "complaint__follow_up_task"), pk=ticket_id)
    if not svc.is_complaint(ticket):
        raise Http404
    return ticket


class ComplaintFilters(PageQuery):
    severity: Severity | None = None
    root_cause: RootCause | Literal["none"] | None = Field(
        None, description='A root cause category, or "none" (not analysed yet).')
    state: Literal["open", "follow_up", "closed"] | None = None
    follow_up_due: bool = Field(False, description="Only those whose follow-up call is due.")
    customer: int | None = Field(None, description="Customer id.")
    q: str | None = Field(None, max_length=100, description="In the subject or customer name.")


@router.get("/complaints", response=Page[ComplaintOut], summary="List complaints")
def list_complaints(request: HttpRequest, filters: Query[ComplaintFilters]):
    f = {k: (v.value if hasattr(v, "value") else v)
         for k, v in filters.model_dump().items()}
    page = paginate(request, reports.filtered(actor(request), f), filters)
    page["items"] = [_out(t, _saved(t)) for t in page["items"]]
    return page


class CustomerRateOut(Schema):
    customer: int
    name: str
    complaints: int
    orders: int
    rate: float | None = Field(..., description="Complaints per order (null: no orders).")
    per_100: float | None = Field(..., description="Complaints per 100 orders.")


class ProductRateOut(Schema):
    product: int
    code: str
    name: str
    complaints: int
    units: Decimal = Field(..., description="Units delivered in the period.")
    lines: int = Field(..., description="Order lines delivered in the period.")
    rate: float | None = Field(..., description="Complaints per unit (null: none delivered).")
    per_100_units: float | None
    per_100_lines: float | None


class RatesOut(Schema):
    start: dt.date
    end: dt.date
    customers: list[CustomerRateOut]
    products: list[ProductRateOut]


@router.get("/complaints/rates", response={200: RatesOut, 403: ErrorOut,
                                           422: ValidationErrorOut},
            summary="Complaint rates per customer and per product (worst first)")
def complaint_rates(request: HttpRequest, start: dt.date | None = None,
                    end: dt.date | None = None):
    """Per customer: complaints opened in the period / orders placed in it (and per 100
    orders). Per product: complaints about the product / units and order lines delivered
    in the period. Rates are null when there is nothing to divide by. Default period:
    the last 365 days."""
    user = actor(request)
    if not can_see_service_figures(user):
        raise PermissionDenied(_("You may not see service figures."))
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=364)
    if start > end or (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationError({"start": [_("Choose a period that starts before it ends and "
                                           "spans at most three years.")]})

    def num(v):
        return None if v is None else round(v, 4)

    return {
        "start": start, "end": end,
        "customers": [{"customer": r.obj.pk, "name": r.obj.name, "complaints": r.complaints,
                       "orders": int(r.base), "rate": num(r.rate), "per_100": num(r.per_100)}
                      for r in reports.customer_rates(user, start, end)],
        "products": [{"product": r.obj.pk, "code": r.obj.code, "name": r.obj.name,
                      "complaints": r.complaints, "units": r.base, "lines": r.lines,
                      "rate": num(r.rate), "per_100_units": num(r.per_100),
                      "per_100_lines": num(r.per_100_lines)}
                     for r in reports.product_rates(user, start, end)],
    }


@router.get("/complaints/{ticket_id}", response={200: ComplaintOut, 404: ErrorOut},
            summary="One complaint (by its ticket id)")
def get_complaint(request: HttpRequest, ticket_id: int):
    ticket = _visible(actor(request), ticket_id)
    return _out(ticket, _saved(ticket))


class ComplaintPatch(WriteSchema):
    version: int | None = Field(..., description="The version you loaded; null skips the "
                                                 "check.")
    severity: Severity | None = None
    root_cause_category: RootCause | Literal[""] | None = None
    root_cause: str | None = Field(None, max_length=5000)
    corrective_action: str | None = Field(None, max_length=5000)
    corrective_done_on: dt.date | None = None


@router.patch("/complaints/{ticket_id}", response={200: ComplaintOut, **WRITE_ERRORS},
              summary="Change a complaint's severity, root cause or corrective action")
def patch_complaint(request: HttpRequest, ticket_id: int, payload: ComplaintPatch):
    user = actor(request)
    ticket = _visible(user, ticket_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    for key in ("severity", "root_cause_category", "root_cause", "corrective_action"):
        if key in data and data[key] is None:
            raise ValidationError({key: [_("This field cannot be null.")]})
        if hasattr(data.get(key), "value"):
            data[key] = data[key].value
    svc.complaint_update(actor=user, ticket=ticket, version=version, **data)
    ticket = _visible(user, ticket_id)
    return _out(ticket, _saved(ticket))


class FollowUpIn(WriteSchema):
    satisfied: bool
    notes: str = Field("", max_length=5000)
    version: int | None = Field(None, description="The version you loaded (conflict check).")


class FollowUpOut(ComplaintOut):
    renewed_ticket: int | None = Field(
        ..., description="Not satisfied: the id of the new complaint ticket.")


@router.post("/complaints/{ticket_id}/follow-up", response={200: FollowUpOut, **WRITE_ERRORS},
             summary="Record the outcome of the follow-up call")
def record_complaint_follow_up(request: HttpRequest, ticket_id: int, payload: FollowUpIn):
    """Only after the complaint is resolved, once. Not satisfied: a new complaint ticket is
    opened (its id in `renewed_ticket`)."""
    user = actor(request)
    ticket = _visible(user, ticket_id)
    result = svc.record_follow_up(actor=user, ticket=ticket, satisfied=payload.satisfied,
                                  notes=payload.notes, version=payload.version)
    ticket = _visible(user, ticket_id)
    out = _out(ticket, _saved(ticket))
    out["renewed_ticket"] = result.renewed_ticket.pk if result.renewed_ticket else None
    return out
