"""Reads of opportunities for the list and the pipeline board: filters, sorting,
totals in 元 (amount × rate) and win-probability-weighted, and the board's columns.

Everything starts from `Opportunity.objects.visible_to(user)`. The board queries only
the cards it shows (a capped page per column) plus one GROUP BY for the column totals,
so it stays fast with hundreds of thousands of deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Opportunity, OpportunityStatus, Pipeline, Stage, StageKind

MONEY = DecimalField(max_digits=20, decimal_places=2)
CENT = Decimal("0.01")
# Cards per board column; the rest are one "show more" link away (the filtered list).
BOARD_CAP = 12
# Won / lost columns show deals closed in the last N days (older ones live in the list).
BOARD_CLOSED_DAYS = 30

AMOUNT_CNY = ExpressionWrapper(F("amount") * F("exchange_rate"), output_field=MONEY)
WEIGHTED_CNY = ExpressionWrapper(
    F("amount") * F("exchange_rate") * Coalesce(F("probability"), F("stage__probability"))
    / Value(100), output_field=MONEY)

# sort key → order_by arguments (a leading "-" on the key reverses them).
SORTS: dict[str, tuple[Any, ...]] = {
    "name": ("name", "id"),
    "customer": ("customer__name", "id"),
    "amount": ("amount_cny_db", "id"),
    "close": (F("expected_close").asc(nulls_last=True), "id"),
    "stage": ("stage__order", "id"),
    "updated": ("updated_at", "id"),
}
DEFAULT_SORT = "-updated"


def _reverse(arg: Any) -> Any:
    if isinstance(arg, str):
        return arg[1:] if arg.startswith("-") else f"-{arg}"
    return F(arg.expression.name).desc(nulls_last=True)


def order_args(sort: str | None) -> tuple[str, tuple[Any, ...]]:
    """(the sort key actually used, order_by arguments) for a `sort` parameter."""
    sort = sort or DEFAULT_SORT
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    args = SORTS[key]
    if sort.startswith("-"):
        args = tuple(_reverse(a) for a in args)
    return sort, args


def filtered(user, data: dict[str, Any], *, board: bool = False) -> QuerySet:
    """Visible deals matching the cleaned filter form data (missing keys: no filter)."""
    qs = Opportunity.objects.visible_to(user)
    if customer := data.get("customer"):
        qs = qs.filter(customer_id=customer)
    if pipeline := data.get("pipeline"):
        qs = qs.filter(pipeline=pipeline)
    if not board:
        if stage := data.get("stage"):
            qs = qs.filter(stage=stage)
        if status := data.get("status"):
            qs = qs.filter(status=status)
        if close_from := data.get("close_from"):
            qs = qs.filter(expected_close__gte=close_from)
        if close_to := data.get("close_to"):
            qs = qs.filter(expected_close__lte=close_to)
        if (amount_min := data.get("amount_min")) is not None:
            qs = qs.alias(amount_cny_min=AMOUNT_CNY).filter(amount_cny_min__gte=amount_min)
    owner = data.get("owner") or ""
    if owner == "me":
        qs = qs.filter(owner_id=user.pk)
    elif owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif str(owner).isdigit():
        qs = qs.filter(owner_id=int(owner))
    if team := data.get("team"):
        qs = qs.filter(team_id__in=team.subtree_ids())
    if product_line := data.get("product_line"):
        qs = qs.filter(product_line=product_line)
    if q := (data.get("q") or "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(customer__name__icontains=q)
                       | Q(customer__short_name__icontains=q)
                       | Q(customer__search_text__icontains=q.lower()))
    return qs


def totals(qs: QuerySet) -> dict[str, Any]:
    """Count, sum in 元 and win-probability-weighted sum in 元 of a filtered set."""
    row = qs.order_by().aggregate(n=Count("id"), sum_cny=Sum(AMOUNT_CNY),
                                  sum_weighted=Sum(WEIGHTED_CNY))
    return {
        "count": row["n"] or 0,
        "amount": Decimal(row["sum_cny"] or 0).quantize(CENT),
        "weighted": Decimal(row["sum_weighted"] or 0).quantize(CENT),
    }


def list_rows(qs: QuerySet, sort: str | None) -> tuple[str, QuerySet]:
    sort, args = order_args(sort)
    qs = (qs.annotate(amount_cny_db=AMOUNT_CNY)
          .select_related("customer", "stage", "owner", "pipeline", "product_line")
          .order_by(*args))
    return sort, qs


# ---------------------------------------------------------------- board


@dataclass
class Column:
    stage: Stage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    amount: Decimal = Decimal("0.00")

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


def board_pipeline(pipeline_id: Any = None) -> Pipeline | None:
    qs = Pipeline.objects.filter(active=True)
    if pipeline_id and str(pipeline_id).isdigit():
        chosen = qs.filter(pk=int(pipeline_id)).first()
        if chosen is not None:
            return chosen
    return qs.filter(is_default=True).first() or qs.first()


def board_columns(user, pipeline: Pipeline, data: dict[str, Any], *,
                  cap: int = BOARD_CAP) -> list[Column]:
    """One column per stage: up to `cap` cards (newest first, read in index order) and the
    count and sum in 元 of every matching deal in that stage (one GROUP BY)."""
    stages = list(pipeline.stages.order_by("order", "id"))
    columns = {s.pk: Column(stage=s) for s in stages}
    base = filtered(user, {**data, "pipeline": pipeline}, board=True)
    cutoff = timezone.localdate() - dt.timedelta(days=BOARD_CLOSED_DAYS)
    # Index range reads of (pipeline, status, stage, closed_on, …) alone
    # (sales_opp_board_cover): the open deals grouped by stage, then each closed stage's
    # deals closed since the cutoff — never an OR that reads every deal of the pipeline.
    for row in (base.filter(status=OpportunityStatus.OPEN).order_by().values("stage_id")
                .annotate(n=Count("id"), sum_cny=Sum(AMOUNT_CNY))):
        col = columns.get(row["stage_id"])
        if col is not None:
            col.count = row["n"]
            col.amount = Decimal(row["sum_cny"] or 0).quantize(CENT)
    for s in stages:
        if s.kind != StageKind.OPEN:
            row = base.filter(status=s.kind, stage=s, closed_on__gte=cutoff).aggregate(
                n=Count("id"), sum_cny=Sum(AMOUNT_CNY))
            columns[s.pk].count = row["n"] or 0
            columns[s.pk].amount = Decimal(row["sum_cny"] or 0).quantize(CENT)
    for s in stages:
        if not columns[s.pk].count:
            continue
        # The stage's kind fixes the status (services keep them in step); filtering on
        # it lets the database walk an index instead of testing the OR for every row.
        in_stage = base.filter(stage=s, status=s.kind)
        order = ("-id",)
        if s.kind != StageKind.OPEN:
            # Newest closures first, read in index order (pipeline, status, closed_on…).
            in_stage = in_stage.filter(closed_on__gte=cutoff)
            order = ("-closed_on", "-id")
        columns[s.pk].cards = list(
            in_stage
            .select_related("customer", "owner")
            .only("id", "name", "amount", "currency", "exchange_rate", "expected_close",
                  "stage_entered_at", "version", "status", "stage_id", "owner_id",
                  "customer__id", "customer__name", "customer__owner_id",
                  "owner__id", "owner__display_name", "owner__username",
                  "owner__first_name", "owner__last_name")
            .order_by(*order)[:cap])
    return [columns[s.pk] for s in stages]


def can_move(user, opportunity: Opportunity) -> bool:
    """Whether `user` may move a deal they can see (same rule as
    services.can_edit_opportunity for visible deals, without a query per card)."""
    role = "admin" if user.is_superuser else user.role
    if not user.is_active or role in ("readonly", "finance", "service"):
        return False
    if opportunity.owner_id == user.pk:
        return True
    if role == "rep":
        return False
    return role in ("admin", "director", "marketing", "manager")


def days_in_stage(opportunity: Opportunity, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return max((now - opportunity.stage_entered_at).days, 0)


def stage_kind_is_closed(stage: Stage) -> bool:
    return stage.kind != StageKind.OPEN
