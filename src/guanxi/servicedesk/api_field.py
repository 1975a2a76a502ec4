"""REST API of field service (on-site visits and their reports), under /api/v1/.

Reads start from `FieldVisit.objects.visible_to(user)` (invisible ⇒ 404); writes call
field_services (PermissionDenied ⇒ 403, ValidationError ⇒ 422, ConflictError ⇒ 409).
Booking or moving never refuses an overlap: the answer lists it in `overlaps`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from guanxi.accounts.models import User
from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.schemas import (
    AwareDatetime,
    ConflictOut,
    ErrorOut,
    Page,
    ValidationErrorOut,
    WriteSchema,
    body_data,
)

from . import field_services as svc
from .field_selectors import day_bounds
from .models import FieldVisit, Ticket, VisitOutcome, VisitStatus

router = Router(tags=["field service"])

Str100 = Annotated[str, StringConstraints(max_length=100)]
Str200 = Annotated[str, StringConstraints(max_length=200)]
Str300 = Annotated[str, StringConstraints(max_length=300)]
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
VERSION_DOC = "The version you loaded (conflict check); null skips the check."


class PartIn(WriteSchema):
    part: Str200
    quantity: float = Field(..., gt=0)


class PartOut(Schema):
    part: str
    quantity: float


class OverlapOut(Schema):
    id: int
    scheduled_start: dt.datetime
    scheduled_end: dt.datetime


class VisitOut(Schema):
    id: int
    ticket: int
    ticket_reference: str
    ticket_subject: str
    customer: int
    customer_name: str
    technician: int
    technician_name: str
    scheduled_start: dt.datetime
    scheduled_end: dt.datetime
    address: str
    status: str
    instructions: str
    work_done: str
    parts_used: list[PartOut]
    signed_off_by: str
    time_spent_minutes: int
    travel_minutes: int
    outcome: str
    completed_at: dt.datetime | None
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_ticket(obj: FieldVisit) -> int:
        return obj.ticket_id

    @staticmethod
    def resolve_ticket_reference(obj: FieldVisit) -> str:
        return obj.ticket.reference

    @staticmethod
    def resolve_ticket_subject(obj: FieldVisit) -> str:
        return obj.ticket.subject

    @staticmethod
    def resolve_customer(obj: FieldVisit) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: FieldVisit) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_technician(obj: FieldVisit) -> int:
        return obj.technician_id

    @staticmethod
    def resolve_technician_name(obj: FieldVisit) -> str:
        return str(obj.technician)

    @staticmethod
    def resolve_created_by(obj: FieldVisit) -> int | None:
        return obj.created_by_id


class VisitBookedOut(VisitOut):
    overlaps: list[OverlapOut] = Field(
        ..., description="Other visits of the technician at that time (a warning; the "
                         "visit was booked anyway).")


class VisitIn(WriteSchema):
    ticket: int = Field(..., description="Ticket id (an open ticket).")
    technician: int = Field(..., description="User id: a member of the ticket's queue or a "
                                             "service agent.")
    scheduled_start: AwareDatetime
    scheduled_end: AwareDatetime
    address: Str300 | None = Field(None, description="Default: the customer's address.")
    instructions: str = ""


class VisitPatch(WriteSchema):
    version: int | None = Field(None, description=VERSION_DOC)
    technician: int | None = None
    scheduled_start: AwareDatetime | None = None
    scheduled_end: AwareDatetime | None = None
    address: Str300 | None = None
    instructions: str | None = None


class ReportIn(WriteSchema):
    version: int | None = Field(None, description=VERSION_DOC)
    work_done: str = Field("", description="Required when the outcome is resolved.")
    parts_used: list[PartIn] = Field(default_factory=list)
    signed_off_by: Str100 = Field("", description="The customer's person who signed off "
                                                  "(required when resolved).")
    time_spent_minutes: int = Field(0, ge=0, le=1440)
    travel_minutes: int = Field(0, ge=0, le=1440)
    outcome: VisitOutcome = Field(..., description="resolved: the ticket is resolved; "
                                                   "follow_up: it stays open.")


class CancelIn(WriteSchema):
    version: int | None = Field(None, description=VERSION_DOC)
    reason: Str200 = ""


class VisitFilters(PageQuery):
    technician: str | None = Field(None, pattern=r"^(\d+|me)$",
                                   description='Technician\'s user id or "me".')
    date: dt.date | None = Field(None, description="Visits starting on this local day.")
    date_from: dt.date | None = Field(None, description="Visits starting on or after this day.")
    date_to: dt.date | None = Field(None, description="Visits starting on or before this day.")
    status: VisitStatus | None = None
    ticket: int | None = Field(None, description="Ticket id.")
    customer: int | None = Field(None, description="Customer id.")


def _visits(user) -> QuerySet:
    return FieldVisit.objects.visible_to(user).select_related("ticket", "customer",
                                                              "technician")


def _visible_visit(user, visit_id: int) -> FieldVisit:
    return get_object_or_404(_visits(user), pk=visit_id)


def _technician(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError({"technician": [_("There is no record with id %(id)s here.")
                                              % {"id": user_id}]})
    return user


def _booked(user, visit: FieldVisit) -> FieldVisit:
    """The visit as the user sees it, carrying the overlaps the service found."""
    fresh = _visible_visit(user, visit.pk)
    fresh.overlaps = getattr(visit, "overlaps", [])
    return fresh


@router.get("/visits", response=Page[VisitOut], summary="List field visits")
def list_visits(request: HttpRequest, filters: Query[VisitFilters]):
    user = actor(request)
    qs = _visits(user)
    if filters.technician == "me":
        qs = qs.filter(technician_id=user.pk)
    elif filters.technician:
        qs = qs.filter(technician_id=int(filters.technician))
    if filters.date is not None:
        start, end = day_bounds(filters.date)
        qs = qs.filter(scheduled_start__gte=start, scheduled_start__lt=end)
    if filters.date_from is not None:
        qs = qs.filter(scheduled_start__gte=day_bounds(filters.date_from)[0])
    if filters.date_to is not None:
        qs = qs.filter(scheduled_start__lt=day_bounds(filters.date_to)[1])
    if filters.status is not None:
        qs = qs.filter(status=filters.status.value)
    for key in ("ticket", "customer"):
        value = getattr(filters, key)
        if value is not None:
            qs = qs.filter(**{f"{key}_id": value})
    return paginate(request, qs.order_by("scheduled_start", "id"), filters)


@router.post("/visits", response={201: VisitBookedOut, **WRITE_ERRORS},
             summary="Book an on-site visit for a ticket")
def create_visit(request: HttpRequest, payload: VisitIn):
    user = actor(request)
    ticket = get_object_or_404(Ticket.objects.visible_to(user), pk=payload.ticket)
    visit = svc.visit_schedule(actor=user, ticket=ticket,
                               technician=_technician(payload.technician),
                               start=payload.scheduled_start, end=payload.scheduled_end,
                               address=payload.address, instructions=payload.instructions)
    return Status(201, _booked(user, visit))


@router.get("/visits/{visit_id}", response={200: VisitOut, 404: ErrorOut},
            summary="One field visit (with its report once done)")
def get_visit(request: HttpRequest, visit_id: int):
    return _visible_visit(actor(request), visit_id)


@router.patch("/visits/{visit_id}",
              response={200: VisitBookedOut, 409: ConflictOut, **WRITE_ERRORS},
              summary="Move a scheduled visit (time, technician, address, instructions)")
def patch_visit(request: HttpRequest, visit_id: int, payload: VisitPatch):
    user = actor(request)
    visit = _visible_visit(user, visit_id)
    data = body_data(payload, only_sent=True)
    visit = svc.visit_reschedule(
        actor=user, visit=visit, version=data.get("version"),
        start=data.get("scheduled_start"), end=data.get("scheduled_end"),
        technician=_technician(data.get("technician")), address=data.get("address"),
        instructions=data.get("instructions"))
    return _booked(user, visit)


@router.post("/visits/{visit_id}/report",
             response={200: VisitOut, 409: ConflictOut, **WRITE_ERRORS},
             summary="File the visit report (resolves the ticket or keeps it open)")
def report_visit(request: HttpRequest, visit_id: int, payload: ReportIn):
    """Records the time on site and the travel time, adds the report to the ticket as
    an internal note, and resolves the ticket (outcome resolved) or keeps it open
    (follow_up). Only the technician or a dispatcher may file it, once."""
    user = actor(request)
    visit = _visible_visit(user, visit_id)
    data = body_data(payload, only_sent=False)
    svc.visit_report(actor=user, visit=visit, **data)
    return _visible_visit(user, visit_id)


@router.post("/visits/{visit_id}/cancel",
             response={200: VisitOut, 409: ConflictOut, **WRITE_ERRORS},
             summary="Cancel a scheduled visit")
def cancel_visit(request: HttpRequest, visit_id: int, payload: CancelIn):
    user = actor(request)
    visit = _visible_visit(user, visit_id)
    svc.visit_cancel(actor=user, visit=visit, version=payload.version, reason=payload.reason)
    return _visible_visit(user, visit_id)
