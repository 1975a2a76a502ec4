"""REST API of sales: opportunities, pipelines, product lines and the customer pool
(mounted under /api/v1/ by guanxi.api; leads and the forecast join from their own
modules below).

Reads start from `.visible_to(user)` (invisible ⇒ 404); writes call the services
(PermissionDenied ⇒ 403, ValidationError ⇒ 422, ConflictError ⇒ 409), so a refused
write leaves the database unchanged and every change is audited by the service.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from guanxi.accounts.models import Team, User
from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.refs import resolve_many, resolve_one
from guanxi.api.schemas import (
    AwareDatetime,
    ConflictOut,
    ErrorOut,
    Page,
    WriteSchema,
    body_data,
    patch_schema,
    put_schema,
)
from guanxi.parties import permissions as perms
from guanxi.parties.api import CustomerOut
from guanxi.parties.models import Contact, Customer, SourceChannel

from . import pool as pool_services
from . import services
from .api_common import (
    CLAIM_DOC,
    CLAIM_ERRORS,
    WRITE_ERRORS,
    AssignOut,
    ReleaseIn,
    StageGateOut,
    Str3,
    Str200,
    active_user,
    claim_limit_response,
    gate_response,
    name_of,
    owner_filter,
    owner_param,
    team_filter,
)
from .models import (
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Pool,
    Product,
    ProductLine,
    Stage,
    StageChange,
)

router = Router()

# ================================================================ pipelines


class StageOut(Schema):
    id: int
    name: str
    order: int
    kind: str
    probability: int = Field(..., description="Win probability of deals in it (%).")
    required_fields: list[str] = Field(
        ..., description="Opportunity fields that must be filled to enter the stage.")
    required_activities: list[str] = Field(
        ..., description="Interaction kinds that must be logged first (e.g. visit).")


class PipelineOut(Schema):
    id: int
    name: str
    product_line: int | None
    product_line_name: str
    is_default: bool
    active: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_product_line(obj: Pipeline) -> int | None:
        return obj.product_line_id

    @staticmethod
    def resolve_product_line_name(obj: Pipeline) -> str:
        return obj.product_line.name if obj.product_line_id else ""

    @staticmethod
    def resolve_stages(obj: Pipeline) -> list[Stage]:
        return list(obj.stages.all())


class PipelineFilters(Schema):
    active: bool | None = Field(None, description="Only active (true) or inactive (false).")


def _pipelines() -> QuerySet:
    return Pipeline.objects.select_related("product_line").prefetch_related("stages")


@router.get("/pipelines", response=list[PipelineOut], tags=["pipelines"],
            summary="Pipelines with their stages and entry rules")
def list_pipelines(request: HttpRequest, filters: Query[PipelineFilters]):
    qs = _pipelines()
    if filters.active is not None:
        qs = qs.filter(active=filters.active)
    return list(qs)


@router.get("/pipelines/{pipeline_id}", response={200: PipelineOut, 404: ErrorOut},
            tags=["pipelines"], summary="One pipeline with its stages")
def get_pipeline(request: HttpRequest, pipeline_id: int):
    return get_object_or_404(_pipelines(), pk=pipeline_id)


class ProductOut(Schema):
    id: int
    code: str
    name: str
    unit_price: Decimal | None
    active: bool


class ProductLineOut(Schema):
    id: int
    code: str
    name: str
    active: bool
    products: list[ProductOut]

    @staticmethod
    def resolve_products(obj: ProductLine) -> list[Product]:
        return list(obj.products.all())


@router.get("/product-lines", response=list[ProductLineOut], tags=["pipelines"],
            summary="Product lines with their products")
def list_product_lines(request: HttpRequest):
    return list(ProductLine.objects.prefetch_related("products"))


# ================================================================ opportunities


class OpportunityFields(WriteSchema):
    name: Str200
    contact: int | None = Field(None, description="Contact id (of the same customer).")
    owner: int | None = Field(None, description="Owner's user id. On create, not sent: the "
                                                "customer's owner, else you.")
    team: int | None = Field(None, description="Team (region / office) id. On create, not "
                                               "sent: the owner's team.")
    product_line: int | None = Field(None, description="Product line id.")
    products: list[int] = Field(default_factory=list, description="Product ids.")
    amount: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)
    currency: Str3 = "CNY"
    exchange_rate: Decimal = Field(Decimal(1), gt=0, max_digits=12, decimal_places=6,
                                   description="Rate to 元 (CNY).")
    expected_close: dt.date | None = None
    probability: int | None = Field(None, ge=0, le=100,
                                    description="Hand override (%); null: the stage's.")
    competitors: Str200 = ""
    next_step: Str200 = ""
    source: SourceChannel | Literal[""] = ""
    lost_reason: Str200 = ""


class OpportunityIn(OpportunityFields):
    customer: int = Field(..., description="Customer id.")
    pipeline: int | None = Field(None, description="Pipeline id; default: the product "
                                                   "line's pipeline, else the default one.")
    stage: int | None = Field(None, description="Open stage to start in; default: the "
                                                "pipeline's first.")


OpportunityPut = put_schema(OpportunityFields, "OpportunityPut")
OpportunityPatch = patch_schema(OpportunityFields, "OpportunityPatch")


class OpportunityMoveIn(WriteSchema):
    stage: int = Field(..., description="Stage id (of the deal's pipeline).")
    version: int | None = Field(None, description="The version you loaded (conflict check); "
                                                  "null skips the check.")
    lost_reason: Str200 = Field("", description="Needed to enter a lost stage.")


class OpportunityOut(Schema):
    id: int
    customer: int
    customer_name: str
    contact: int | None
    contact_name: str
    name: str
    pipeline: int
    pipeline_name: str
    stage: int
    stage_name: str
    stage_kind: str
    status: str
    owner: int | None
    owner_name: str
    team: int | None
    team_name: str
    product_line: int | None
    product_line_name: str
    products: list[int]
    amount: Decimal
    currency: str
    exchange_rate: Decimal
    amount_cny: Decimal
    expected_close: dt.date | None
    probability: int | None = Field(..., description="Hand override (%), or null.")
    win_probability: int = Field(..., description="The override, else the stage's (%).")
    competitors: str
    next_step: str
    source: str
    closed_on: dt.date | None
    lost_reason: str
    stage_entered_at: dt.datetime
    score: float | None = Field(..., description="Learned win probability (0–1).")
    score_reasons: list[Any]
    lead: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_customer(obj: Opportunity) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Opportunity) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_contact(obj: Opportunity) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_contact_name(obj: Opportunity) -> str:
        return obj.contact.name if obj.contact_id else ""

    @staticmethod
    def resolve_pipeline(obj: Opportunity) -> int:
        return obj.pipeline_id

    @staticmethod
    def resolve_pipeline_name(obj: Opportunity) -> str:
        return obj.pipeline.name

    @staticmethod
    def resolve_stage(obj: Opportunity) -> int:
        return obj.stage_id

    @staticmethod
    def resolve_stage_name(obj: Opportunity) -> str:
        return obj.stage.name

    @staticmethod
    def resolve_stage_kind(obj: Opportunity) -> str:
        return obj.stage.kind

    @staticmethod
    def resolve_owner(obj: Opportunity) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_owner_name(obj: Opportunity) -> str:
        return name_of(obj.owner)

    @staticmethod
    def resolve_team(obj: Opportunity) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj: Opportunity) -> str:
        return obj.team.name if obj.team_id else ""

    @staticmethod
    def resolve_product_line(obj: Opportunity) -> int | None:
        return obj.product_line_id

    @staticmethod
    def resolve_product_line_name(obj: Opportunity) -> str:
        return obj.product_line.name if obj.product_line_id else ""

    @staticmethod
    def resolve_products(obj: Opportunity) -> list[int]:
        return sorted(p.pk for p in obj.products.all())

    @staticmethod
    def resolve_lead(obj: Opportunity) -> int | None:
        return obj.lead_id


class StageChangeOut(Schema):
    from_stage: int | None
    from_stage_name: str
    to_stage: int
    to_stage_name: str
    at: dt.datetime
    by: int | None
    by_name: str

    @staticmethod
    def resolve_from_stage(obj: StageChange) -> int | None:
        return obj.from_stage_id

    @staticmethod
    def resolve_from_stage_name(obj: StageChange) -> str:
        return obj.from_stage.name if obj.from_stage_id else ""

    @staticmethod
    def resolve_to_stage(obj: StageChange) -> int:
        return obj.to_stage_id

    @staticmethod
    def resolve_to_stage_name(obj: StageChange) -> str:
        return obj.to_stage.name

    @staticmethod
    def resolve_by(obj: StageChange) -> int | None:
        return obj.by_id

    @staticmethod
    def resolve_by_name(obj: StageChange) -> str:
        return name_of(obj.by)


OPPORTUNITY_ORDERING = Literal[
    "updated_at", "-updated_at", "created_at", "-created_at", "expected_close",
    "-expected_close", "amount", "-amount", "name", "-name", "stage_entered_at",
    "-stage_entered_at",
]


class OpportunityFilters(PageQuery):
    status: OpportunityStatus | None = None
    stage: int | None = Field(None, description="Stage id.")
    pipeline: int | None = Field(None, description="Pipeline id.")
    owner: str | None = owner_param()
    team: int | None = Field(None, description="Team id; includes its sub-teams.")
    customer: int | None = Field(None, description="Customer id.")
    product_line: int | None = Field(None, description="Product line id.")
    closing_from: dt.date | None = Field(None, description="expected_close ≥ this date")
    closing_until: dt.date | None = Field(None, description="expected_close ≤ this date")
    updated_since: AwareDatetime | None = None
    ordering: OPPORTUNITY_ORDERING = "-updated_at"


def _opportunities(user) -> QuerySet:
    return (Opportunity.objects.visible_to(user)
            .select_related("customer", "contact", "pipeline", "stage", "owner", "team",
                            "product_line")
            .prefetch_related("products"))


def _visible_opportunity(user, opportunity_id: int) -> Opportunity:
    return get_object_or_404(_opportunities(user), pk=opportunity_id)


def _filter_opportunities(qs: QuerySet, f: OpportunityFilters, user) -> QuerySet:
    if f.status is not None:
        qs = qs.filter(status=f.status.value)
    for field in ("stage", "pipeline", "customer", "product_line"):
        value = getattr(f, field)
        if value is not None:
            qs = qs.filter(**{f"{field}_id": value})
    qs = team_filter(owner_filter(qs, f.owner, user), f.team)
    if f.closing_from is not None:
        qs = qs.filter(expected_close__gte=f.closing_from)
    if f.closing_until is not None:
        qs = qs.filter(expected_close__lte=f.closing_until)
    if f.updated_since is not None:
        qs = qs.filter(updated_at__gte=f.updated_since)
    return qs.order_by(f.ordering, "-id" if f.ordering.startswith("-") else "id")


def _opportunity_refs(data: dict[str, Any], customer: Customer) -> None:
    errors: dict[str, list[str]] = {}
    resolve_one(data, "contact", Contact.objects.filter(customer=customer), errors)
    resolve_one(data, "owner", User.objects.filter(is_active=True), errors)
    resolve_one(data, "team", Team.objects.all(), errors)
    resolve_one(data, "product_line", ProductLine.objects.all(), errors)
    resolve_many(data, "products", Product.objects.all(), errors)
    resolve_one(data, "pipeline", Pipeline.objects.filter(active=True), errors)
    stages = Stage.objects.select_related("pipeline")
    if isinstance(data.get("pipeline"), Pipeline):
        stages = stages.filter(pipeline=data["pipeline"])
    resolve_one(data, "stage", stages, errors)
    if errors:
        raise ValidationError(errors)
    if data.get("stage") is not None and data.get("pipeline") is None:
        data["pipeline"] = data["stage"].pipeline


def _update_opportunity(request: HttpRequest, opportunity_id: int, payload: Any, *,
                        partial: bool) -> Opportunity:
    user = actor(request)
    opportunity = _visible_opportunity(user, opportunity_id)
    perms.require(services.can_edit_opportunity(user, opportunity))
    data = body_data(payload, only_sent=partial)
    version = data.pop("version")
    _opportunity_refs(data, opportunity.customer)
    services.opportunity_update(actor=user, opportunity=opportunity, version=version, **data)
    return _visible_opportunity(user, opportunity_id)


@router.get("/opportunities", response=Page[OpportunityOut], tags=["opportunities"],
            summary="List opportunities")
def list_opportunities(request: HttpRequest, filters: Query[OpportunityFilters]):
    user = actor(request)
    return paginate(request, _filter_opportunities(_opportunities(user), filters, user), filters)


@router.post("/opportunities",
             response={201: OpportunityOut, 403: ErrorOut, 404: ErrorOut, 422: StageGateOut},
             tags=["opportunities"], summary="Create an opportunity for a customer")
def create_opportunity(request: HttpRequest, payload: OpportunityIn):
    """Starts in the pipeline's first open stage (or `stage`). A 422 with `missing` means
    the start stage's entry rules are not met."""
    user = actor(request)
    data = body_data(payload, only_sent=True)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=data.pop("customer"))
    perms.require(perms.can_edit_customer(user, customer))
    _opportunity_refs(data, customer)
    try:
        opportunity = services.opportunity_create(actor=user, customer=customer, **data)
    except services.StageGateError as exc:
        return gate_response(exc)
    return Status(201, _visible_opportunity(user, opportunity.pk))


@router.get("/opportunities/{opportunity_id}", response={200: OpportunityOut, 404: ErrorOut},
            tags=["opportunities"], summary="One opportunity")
def get_opportunity(request: HttpRequest, opportunity_id: int):
    return _visible_opportunity(actor(request), opportunity_id)


@router.put("/opportunities/{opportunity_id}",
            response={200: OpportunityOut, 409: ConflictOut, **WRITE_ERRORS},
            tags=["opportunities"],
            summary="Replace an opportunity's details (every field, plus version)")
def put_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityPut):  # type: ignore[valid-type]
    """The stage is changed with POST …/move, not here."""
    return _update_opportunity(request, opportunity_id, payload, partial=False)


@router.patch("/opportunities/{opportunity_id}",
              response={200: OpportunityOut, 409: ConflictOut, **WRITE_ERRORS},
              tags=["opportunities"],
              summary="Change some details of an opportunity (plus version)")
def patch_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityPatch):  # type: ignore[valid-type]
    """The stage is changed with POST …/move, not here."""
    return _update_opportunity(request, opportunity_id, payload, partial=True)


@router.post("/opportunities/{opportunity_id}/move",
             response={200: OpportunityOut, 403: ErrorOut, 404: ErrorOut, 409: ConflictOut,
                       422: StageGateOut},
             tags=["opportunities"], summary="Move an opportunity to another stage")
def move_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityMoveIn):
    """Entering a won or lost stage closes the deal (lost needs `lost_reason`). When the
    stage's entry rules are not met the answer is 422 with `missing`: what to do first,
    in words; nothing is written."""
    user = actor(request)
    opportunity = _visible_opportunity(user, opportunity_id)
    perms.require(services.can_edit_opportunity(user, opportunity))
    errors: dict[str, list[str]] = {}
    data = {"stage": payload.stage}
    resolve_one(data, "stage", Stage.objects.filter(pipeline_id=opportunity.pipeline_id), errors)
    if errors:
        raise ValidationError(errors)
    try:
        services.opportunity_move(actor=user, opportunity=opportunity, stage=data["stage"],
                                  version=payload.version, lost_reason=payload.lost_reason)
    except services.StageGateError as exc:
        return gate_response(exc)
    return _visible_opportunity(user, opportunity_id)


@router.get("/opportunities/{opportunity_id}/stage-changes",
            response={200: list[StageChangeOut], 404: ErrorOut}, tags=["opportunities"],
            summary="The stage history of an opportunity, oldest first")
def list_stage_changes(request: HttpRequest, opportunity_id: int):
    opportunity = _visible_opportunity(actor(request), opportunity_id)
    return list(StageChange.objects.filter(opportunity=opportunity)
                .select_related("from_stage", "to_stage", "by").order_by("at", "id"))


@router.delete("/opportunities/{opportunity_id}",
               response={204: None, 403: ErrorOut, 404: ErrorOut},
               tags=["opportunities"], summary="Move an opportunity to the recycle bin")
def delete_opportunity(request: HttpRequest, opportunity_id: int):
    user = actor(request)
    services.opportunity_delete(actor=user,
                                opportunity=_visible_opportunity(user, opportunity_id))
    return Status(204, None)


# ================================================================ customer pool


class PoolOut(Schema):
    id: int
    name: str
    team: int
    team_name: str
    product_line: int | None
    daily_claim_limit: int
    return_after_days_without_contact: int
    return_after_days_without_open_deal: int
    active: bool
    customer_count: int = Field(..., description="Customers in the pool you can see.")

    @staticmethod
    def resolve_team(obj: Pool) -> int:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj: Pool) -> str:
        return obj.team.name

    @staticmethod
    def resolve_product_line(obj: Pool) -> int | None:
        return obj.product_line_id

    @staticmethod
    def resolve_customer_count(obj: Pool, context) -> int:
        return pool_services.pool_customers(actor(context["request"]), obj).count()


class PoolList(Schema):
    claims_today: int = Field(..., description="Customers you claimed today (any pool).")
    items: list[PoolOut]


class AssignIn(WriteSchema):
    customers: list[int] = Field(..., min_length=1, max_length=500,
                                 description="Customer ids (all or nothing).")
    to_user: int = Field(..., description="The new owner's user id.")
    note: Str200 = ""


def _visible_pool(user, pool_id: int) -> Pool:
    return get_object_or_404(pool_services.pools_for_user(user), pk=pool_id)


def _customers(user) -> QuerySet:
    return (Customer.objects.visible_to(user)
            .select_related("industry", "team", "owner")
            .prefetch_related("shared_with", "tags"))


@router.get("/pools", response=PoolList, tags=["pool"],
            summary="The customer pools (公海) you work with, and how many you claimed today")
def list_pools(request: HttpRequest):
    user = actor(request)
    pools = list(pool_services.pools_for_user(user))
    return {"claims_today": pool_services.claims_today(user), "items": pools}


@router.get("/pools/{pool_id}/customers", response={200: Page[CustomerOut], 404: ErrorOut},
            tags=["pool"], summary="Customers in a pool")
def list_pool_customers(request: HttpRequest, pool_id: int, page: Query[PageQuery]):
    user = actor(request)
    pool = _visible_pool(user, pool_id)
    qs = (pool_services.pool_customers(user, pool).select_related("industry", "team", "owner")
          .prefetch_related("shared_with", "tags").order_by("-updated_at", "-id"))
    return paginate(request, qs, page)


@router.post("/customers/{customer_id}/claim",
             response={200: CustomerOut, **CLAIM_ERRORS}, tags=["pool"],
             summary="Claim a customer from the pool (you become its owner)",
             description=CLAIM_DOC)
def claim_customer(request: HttpRequest, customer_id: int, response: HttpResponse):
    user = actor(request)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=customer_id)
    try:
        pool_services.claim(actor=user, customer=customer)
    except ValidationError as exc:
        limited = claim_limit_response(exc, response)
        if limited is None:
            raise
        return limited
    return get_object_or_404(_customers(user), pk=customer_id)


@router.post("/customers/{customer_id}/release", response={200: CustomerOut, **WRITE_ERRORS},
             tags=["pool"], summary="Release a customer to the pool (no owner)")
def release_customer(request: HttpRequest, customer_id: int, payload: ReleaseIn):
    user = actor(request)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=customer_id)
    pool_services.release(actor=user, customer=customer, note=payload.note)
    return get_object_or_404(_customers(user), pk=customer_id)


@router.post("/customer-assignments", response={200: AssignOut, **WRITE_ERRORS}, tags=["pool"],
             summary="Assign customers to a user (directors, administrators; managers "
                     "within their team)")
def assign_customers(request: HttpRequest, payload: AssignIn):
    user = actor(request)
    ids = list(dict.fromkeys(payload.customers))
    found = list(Customer.objects.visible_to(user).filter(pk__in=ids))
    if len(found) != len(ids):
        missing = sorted(set(ids) - {c.pk for c in found})
        raise HttpError(404, _("There is no customer with id %(id)s here.")
                        % {"id": ", ".join(map(str, missing))})
    to_user = active_user(payload.to_user, "to_user")
    changed = pool_services.assign(actor=user, customers=found, to_user=to_user,
                                   note=payload.note)
    return {"changed": changed}


# Leads (and the forecast) live in their own modules, under the same /api/v1/ prefix.
from .api_forecast import router as _forecast_router
from .api_leads import router as _leads_router

router.add_router("", _leads_router)
router.add_router("", _forecast_router)
