"""REST API of the forecast and sales targets (read-only), mounted under /api/v1/
through guanxi.sales.api. The numbers are those of sales.forecast and sales.targets,
computed over the deals and targets the user may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.schemas import Page

from . import forecast as forecast_services
from . import targets as target_services
from .api_common import name_of
from .models import PeriodKind, SalesTarget

router = Router()


class PeriodOut(Schema):
    start: dt.date
    end: dt.date = Field(..., description="Exclusive.")
    label: str


class ForecastFigures(Schema):
    pipeline: Decimal = Field(..., description="Open deals expected to close (元).")
    weighted: Decimal = Field(..., description="Pipeline × effective probability (元).")
    committed: Decimal = Field(..., description="Open deals at or above the commit "
                                                "threshold (元).")
    count: int = Field(..., description="Open deals.")
    won: Decimal = Field(..., description="Won revenue (元).")
    target: Decimal | None = Field(..., description="Target (元), if one is set.")
    attainment: float | None = Field(..., description="Won ÷ target (%).")


class ForecastPeriodRow(ForecastFigures):
    start: dt.date
    label: str


class ForecastGroupRow(ForecastFigures):
    key: int | None = Field(..., description="User, team or product line id (null: not set).")
    label: str


class ForecastOut(Schema):
    period: str
    group_by: str
    commit_threshold: int = Field(..., description="Effective probability (%) from which "
                                                   "an open deal is committed.")
    periods: list[PeriodOut]
    by_period: list[ForecastPeriodRow]
    by_group: list[ForecastGroupRow]
    total: ForecastFigures


class ForecastQuery(Schema):
    period: Literal["month", "quarter"] = "month"
    start: dt.date | None = Field(None, description="A day in the first period (default: "
                                                    "today).")
    count: int | None = Field(None, ge=1, le=24, description="How many periods (default: "
                                                             "6 months or 4 quarters).")
    group_by: Literal["rep", "team", "region", "product_line"] = "rep"


def _figures(row: forecast_services.Row) -> dict:
    return {"pipeline": row.totals.pipeline, "weighted": row.totals.weighted,
            "committed": row.totals.committed, "count": row.totals.count, "won": row.won,
            "target": row.target, "attainment": row.attainment}


@router.get("/forecast", response=ForecastOut, tags=["forecast"],
            summary="Forecast: pipeline, weighted, committed, won and targets by period "
                    "and group")
def get_forecast(request: HttpRequest, filters: Query[ForecastQuery]):
    """Open deals by expected close date and won deals by close date, per month or
    quarter, summed per rep, team (office), region or product line — over the deals
    you can see. Money in 元 (amount × exchange rate)."""
    result = forecast_services.forecast(actor(request), kind=filters.period,
                                        start=filters.start, count=filters.count,
                                        group_by=filters.group_by)
    return {
        "period": result.kind,
        "group_by": result.group_by,
        "commit_threshold": result.threshold,
        "periods": [{"start": p.start, "end": p.end, "label": p.label} for p in result.periods],
        "by_period": [{"start": r.key, "label": r.label, **_figures(r)}
                      for r in result.by_period],
        "by_group": [{"key": r.key, "label": r.label, **_figures(r)} for r in result.by_group],
        "total": _figures(result.total),
    }


class TargetOut(Schema):
    id: int
    user: int | None
    user_name: str
    team: int | None
    team_name: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date = Field(..., description="Exclusive.")
    product_line: int | None
    amount: Decimal
    won: Decimal = Field(..., description="Won revenue in the period (of the deals you see).")
    attainment: float | None = Field(..., description="Won ÷ target (%).")

    @staticmethod
    def resolve_user(obj: SalesTarget) -> int | None:
        return obj.user_id

    @staticmethod
    def resolve_user_name(obj: SalesTarget) -> str:
        return name_of(obj.user)

    @staticmethod
    def resolve_team(obj: SalesTarget) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj: SalesTarget) -> str:
        return obj.team.name if obj.team_id else ""

    @staticmethod
    def resolve_period_end(obj: SalesTarget) -> dt.date:
        return target_services.period_end(obj)

    @staticmethod
    def resolve_product_line(obj: SalesTarget) -> int | None:
        return obj.product_line_id

    @staticmethod
    def resolve_won(obj: SalesTarget, context) -> Decimal:
        return _attainment(obj, context).won

    @staticmethod
    def resolve_attainment(obj: SalesTarget, context) -> float | None:
        return _attainment(obj, context).percent


def _attainment(obj: SalesTarget, context) -> target_services.Attainment:
    cached = getattr(obj, "_api_attainment", None)
    if cached is None:
        cached = target_services.attainment(obj, viewer=actor(context["request"]))
        obj._api_attainment = cached  # type: ignore[attr-defined]
    return cached


class TargetFilters(PageQuery):
    period_kind: PeriodKind | None = None
    period_from: dt.date | None = Field(None, description="period_start ≥ this date")
    period_until: dt.date | None = Field(None, description="period_start < this date")
    user: int | None = Field(None, description="User id (a rep's own targets).")
    team: int | None = Field(None, description="Team id (team targets).")


def _filter_targets(qs: QuerySet, f: TargetFilters) -> QuerySet:
    if f.period_kind is not None:
        qs = qs.filter(period_kind=f.period_kind.value)
    if f.period_from is not None:
        qs = qs.filter(period_start__gte=f.period_from)
    if f.period_until is not None:
        qs = qs.filter(period_start__lt=f.period_until)
    if f.user is not None:
        qs = qs.filter(user_id=f.user)
    if f.team is not None:
        qs = qs.filter(user__isnull=True, team_id=f.team)
    return qs.order_by("-period_start", "id")


@router.get("/targets", response=Page[TargetOut], tags=["forecast"],
            summary="Sales targets you may see, with won revenue and attainment")
def list_targets(request: HttpRequest, filters: Query[TargetFilters]):
    """Everyone who reads all customers sees every target; managers their team's; reps
    their own and their office's."""
    qs = target_services.targets_visible_to(actor(request))
    return paginate(request, _filter_targets(qs, filters), filters)
