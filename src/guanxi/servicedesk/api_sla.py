"""REST API of SLAs (mounted under /api/v1/): figures per queue, the policy grid and the
business calendar (working hours and the dated days of a year).

Figures: users who may see service figures (403 otherwise), counted over the tickets
they can see. Policies and calendar: every user reads; administrators write (403
otherwise, nothing written); invalid input is a 422 keyed by field
("A.high.resolution_hours", "days", "lunch_end"…).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import StringConstraints

from guanxi.api.auth import actor
from guanxi.api.schemas import ErrorOut, ValidationErrorOut, WriteSchema

from . import sla_setup
from .models import CalendarDay, Queue
from .permissions import can_manage_service_setup, can_see_service_figures
from .sla_figures import queue_figures
from .sla_forms import MAX_PERIOD_DAYS

router = Router(tags=["sla"])
WRITE_ERRORS = {403: ErrorOut, 422: ValidationErrorOut}

# ================================================================ figures


class FiguresQuery(Schema):
    start: dt.date | None = Field(None, description="First day (local); default: the 1st "
                                                    "of end's month.")
    end: dt.date | None = Field(None, description="Last day (local); default: today.")
    queue: int | None = Field(None, description="Queue id; default: every queue.")


class QueueFiguresOut(Schema):
    queue: int | None = Field(..., description="Queue id; null on the total row.")
    queue_code: str
    queue_name: str
    opened: int = Field(..., description="Tickets created in the period.")
    resolved: int = Field(..., description="Tickets resolved in the period.")
    responded: int = Field(..., description="Tickets first answered in the period.")
    response_within_pct: float | None = Field(
        ..., description="Of those first answered in the period, % within the target.")
    resolution_within_pct: float | None = Field(
        ..., description="Of those resolved in the period, % within the target.")
    avg_response_hours: float | None = Field(..., description="Business hours.")
    p90_response_hours: float | None = Field(..., description="Business hours.")
    breached_now: int = Field(..., description="Open tickets past a due time now.")
    at_risk_now: int = Field(..., description="Open tickets warned, not breached yet.")
    csat: float | None = Field(..., description="Average CSAT (1–5) answered in the period.")
    csat_count: int


class FiguresOut(Schema):
    start: dt.date
    end: dt.date
    queues: list[QueueFiguresOut]
    total: QueueFiguresOut


@router.get("/sla/figures", response={200: FiguresOut, 403: ErrorOut, 404: ErrorOut,
                                      422: ValidationErrorOut},
            summary="SLA figures per queue for a period")
def sla_figures(request: HttpRequest, filters: Query[FiguresQuery]):
    user = actor(request)
    if not can_see_service_figures(user):
        raise PermissionDenied(_("You may not see service figures."))
    end = filters.end or timezone.localdate()
    start = filters.start or end.replace(day=1)
    if start > end or (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationError({"start": [_("Choose a period that starts before it ends and "
                                           "spans at most three years.")]})
    queue = get_object_or_404(Queue, pk=filters.queue) if filters.queue else None
    rows, total = queue_figures(user, start, end, queue=queue)
    return {"start": start, "end": end, "queues": [r.as_dict() for r in rows],
            "total": total.as_dict()}


# ================================================================ policies

Tier = Literal["A", "B", "C", ""]
PriorityName = Literal["low", "normal", "high", "urgent"]


class PolicyOut(Schema):
    tier: str = Field(..., description='"A", "B", "C", or "" (any other tier).')
    priority: str
    first_response_hours: Decimal
    resolution_hours: Decimal
    warn_percent: int
    active: bool


class PolicyIn(WriteSchema):
    tier: Tier = Field(..., description='"" = any tier (the fallback; every priority '
                                        'required).')
    priority: PriorityName
    first_response_hours: Decimal = Field(..., description="Business hours (> 0).")
    resolution_hours: Decimal = Field(..., description="Business hours (≥ first response).")
    warn_percent: int = Field(75, description="Warn when this % of a target has elapsed "
                                              "(1–99).")


class PoliciesIn(WriteSchema):
    policies: list[PolicyIn] = Field(..., max_length=16, description=(
        "The whole grid. A tier-specific cell left out is switched off (that tier then "
        "uses the “any tier” target)."))


def _policies() -> list:
    return [p for p in sla_setup.policy_grid().values() if p is not None]


@router.get("/sla/policies", response=list[PolicyOut], summary="SLA targets (tier × priority)")
def list_sla_policies(request: HttpRequest):
    return _policies()


@router.put("/sla/policies", response={200: list[PolicyOut], **WRITE_ERRORS},
            summary="Replace the SLA target grid (administrators)")
def put_sla_policies(request: HttpRequest, payload: PoliciesIn):
    """New targets apply to tickets opened or re-prioritised afterwards."""
    cells = [p.model_dump() | {"active": True} for p in payload.policies]
    sla_setup.save_policies(actor=actor(request), cells=cells)
    return _policies()


# ================================================================ calendar


class CalendarOut(Schema):
    id: int
    name: str
    work_start: dt.time
    work_end: dt.time
    lunch_start: dt.time | None
    lunch_end: dt.time | None
    weekdays: list[int] = Field(..., description="Working ISO weekdays (1 = Monday).")


class CalendarIn(WriteSchema):
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    work_start: dt.time | None = None
    work_end: dt.time | None = None
    lunch_start: dt.time | None = Field(None, description="null with lunch_end: no break.")
    lunch_end: dt.time | None = None
    weekdays: list[int] | None = None


class DayOut(Schema):
    date: dt.date
    kind: str = Field(..., description="holiday (day off) or workday (make-up working day).")
    name: str


class DayIn(WriteSchema):
    date: dt.date
    kind: Literal["holiday", "workday"]
    name: Annotated[str, StringConstraints(max_length=100)] = ""


class YearQuery(Schema):
    year: int = Field(..., ge=1900, le=2200)


class YearDaysIn(WriteSchema):
    year: int = Field(..., ge=1900, le=2200)
    days: list[DayIn] = Field(..., max_length=366,
                              description="The year's whole list (replaces it).")


class YearDaysOut(Schema):
    year: int
    days: list[DayOut]


@router.get("/sla/calendar", response=CalendarOut, summary="The working hours")
def get_sla_calendar(request: HttpRequest):
    return sla_setup.default_calendar()


@router.put("/sla/calendar", response={200: CalendarOut, **WRITE_ERRORS},
            summary="Change the working hours (administrators; fields not sent are kept)")
def put_sla_calendar(request: HttpRequest, payload: CalendarIn):
    user = actor(request)
    if not can_manage_service_setup(user):
        raise PermissionDenied(_("Only administrators change SLA policies and the calendar."))
    data = payload.model_dump(exclude_unset=True)
    if "name" in data and data["name"] is None:
        data.pop("name")
    for key in ("work_start", "work_end", "weekdays"):
        if key in data and data[key] is None:
            data.pop(key)
    return sla_setup.save_hours(actor=user, calendar=sla_setup.default_calendar(),
                                **data)


def _year_days(year: int) -> dict:
    days = CalendarDay.objects.filter(calendar=sla_setup.default_calendar(),
                                      date__year=year).order_by("date")
    return {"year": year, "days": list(days)}


@router.get("/sla/calendar/days", response={200: YearDaysOut, 422: ValidationErrorOut},
            summary="Holidays and make-up working days of a year")
def list_sla_calendar_days(request: HttpRequest, filters: Query[YearQuery]):
    return _year_days(filters.year)


@router.post("/sla/calendar/days", response={200: YearDaysOut, **WRITE_ERRORS},
             summary="Replace the holidays and make-up working days of a year "
                     "(administrators)")
def set_sla_calendar_days(request: HttpRequest, payload: YearDaysIn):
    user = actor(request)
    if not can_manage_service_setup(user):
        raise PermissionDenied(_("Only administrators change SLA policies and the calendar."))
    entries = [sla_setup.DayEntry(d.date, d.kind, d.name) for d in payload.days]
    sla_setup.set_year_days(actor=user, calendar=sla_setup.default_calendar(),
                            year=payload.year, days=entries)
    return _year_days(payload.year)
