"""REST API of leads: CRUD, qualify / disqualify / reopen, convert into customer +
contact + opportunity, the lead pool (claim, release, assign) and duplicate hints.

Mounted under /api/v1/ through guanxi.sales.api. Reads start from
`Lead.objects.visible_to(user)` (invisible ⇒ 404); every write calls sales.leads or
sales.pool, which check permissions before writing and audit the change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StringConstraints

from guanxi.accounts.models import Team, User
from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.refs import resolve_one
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
from guanxi.parties.models import Customer, Industry, SourceChannel
from guanxi.parties.normalize import format_phone

from . import leads as services
from . import pool as pool_services
from .api_common import (
    CLAIM_DOC,
    CLAIM_ERRORS,
    WRITE_ERRORS,
    AssignOut,
    ReleaseIn,
    StageGateOut,
    Str50,
    Str100,
    Str200,
    active_user,
    claim_limit_response,
    gate_response,
    name_of,
    owner_filter,
    owner_param,
    team_filter,
)
from .models import Lead, LeadStatus, Pipeline, ProductLine, Stage
from .services import StageGateError

router = Router()

PhoneIn = Annotated[str, StringConstraints(max_length=60)]
Email = Annotated[str, StringConstraints(max_length=254)]


# ---------------------------------------------------------------- schemas


class LeadFields(WriteSchema):
    company: Str200 = ""
    name: Str100 = Field("", description="Contact person. A lead needs a company or a name.")
    title: Str100 = ""
    phone: PhoneIn = Field("", description="Any common form; stored as E.164.")
    email: Email = ""
    wechat: Str100 = ""
    province: Str50 = ""
    city: Str50 = ""
    address: Str200 = ""
    website: Str200 = ""
    industry: int | None = Field(None, description="Industry id.")
    product_line: int | None = Field(None, description="Product line id.")
    source: SourceChannel | Literal[""] = ""
    campaign: Str100 = ""
    description: str = ""
    estimated_amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    owner: int | None = Field(None, description="Owner's user id; null: the pool. On create, "
                                                "not sent: a rep's own lead.")
    team: int | None = Field(None, description="Team (region / office) id; default: the "
                                               "owner's team.")
    consent: bool = False
    score_override: int | None = Field(None, ge=0, le=100, description="Score set by hand (%).")


LeadPut = put_schema(LeadFields, "LeadPut")
LeadPatch = patch_schema(LeadFields, "LeadPatch")


class LeadOut(Schema):
    id: int
    company: str
    name: str
    title: str
    phone: str = Field(..., description="E.164")
    phone_display: str
    email: str
    wechat: str
    province: str
    city: str
    address: str
    website: str
    industry: int | None
    product_line: int | None
    product_line_name: str
    source: str
    campaign: str
    form: int | None
    description: str
    estimated_amount: Decimal | None
    status: str
    unqualified_reason: str
    owner: int | None
    owner_name: str
    owner_since: dt.datetime | None
    team: int | None
    team_name: str
    pool: int | None
    last_activity_at: dt.datetime | None
    score: float | None = Field(..., description="Learned probability (0–1).")
    score_override: int | None
    display_score: int | None = Field(..., description="The override, else the learned "
                                                       "score, in %.")
    score_reasons: list[Any]
    consent: bool
    converted_customer: int | None
    converted_contact: int | None
    converted_opportunity: int | None
    converted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_phone_display(obj: Lead) -> str:
        return format_phone(obj.phone)

    @staticmethod
    def resolve_industry(obj: Lead) -> int | None:
        return obj.industry_id

    @staticmethod
    def resolve_product_line(obj: Lead) -> int | None:
        return obj.product_line_id

    @staticmethod
    def resolve_product_line_name(obj: Lead) -> str:
        return obj.product_line.name if obj.product_line_id else ""

    @staticmethod
    def resolve_form(obj: Lead) -> int | None:
        return obj.form_id

    @staticmethod
    def resolve_owner(obj: Lead) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_owner_name(obj: Lead) -> str:
        return name_of(obj.owner)

    @staticmethod
    def resolve_team(obj: Lead) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj: Lead) -> str:
        return obj.team.name if obj.team_id else ""

    @staticmethod
    def resolve_pool(obj: Lead) -> int | None:
        return obj.pool_id

    @staticmethod
    def resolve_converted_customer(obj: Lead) -> int | None:
        return obj.converted_customer_id

    @staticmethod
    def resolve_converted_contact(obj: Lead) -> int | None:
        return obj.converted_contact_id

    @staticmethod
    def resolve_converted_opportunity(obj: Lead) -> int | None:
        return obj.converted_opportunity_id


LEAD_ORDERING = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "company", "-company",
    "score", "-score", "last_activity_at", "-last_activity_at",
]


class LeadFilters(PageQuery):
    q: str | None = Field(None, description="Company, name, phone or e-mail contains.")
    status: LeadStatus | None = None
    owner: str | None = owner_param()
    team: int | None = Field(None, description="Team id; includes its sub-teams.")
    pool: int | None = Field(None, description="Pool id.")
    source: SourceChannel | None = None
    campaign: str | None = None
    product_line: int | None = Field(None, description="Product line id.")
    updated_since: AwareDatetime | None = None
    ordering: LEAD_ORDERING = "-created_at"


class VersionIn(WriteSchema):
    version: int | None = Field(None, description="The version you loaded (conflict check); "
                                                  "null skips the check.")


class DisqualifyIn(VersionIn):
    reason: Str200 = Field(..., description="Why the lead is unqualified.")


class ConvertOpportunityIn(WriteSchema):
    name: Str200 | None = Field(None, description="Default: the company (or name).")
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2,
                                   description="Default: the lead's estimated amount.")
    expected_close: dt.date | None = None
    product_line: int | None = Field(None, description="Default: the lead's.")
    pipeline: int | None = Field(None, description="Default: the product line's pipeline.")
    stage: int | None = Field(None, description="Default: the pipeline's first stage.")
    next_step: Str200 | None = None


class ConvertIn(VersionIn):
    customer: int | None = Field(None, description="Attach to this existing customer "
                                                   "instead of creating one.")
    create_opportunity: bool = True
    opportunity: ConvertOpportunityIn | None = None


class DuplicateOut(Schema):
    customer: int
    customer_name: str
    owner_name: str
    score: float = Field(..., description="0–100: how likely the same company.")
    reasons: list[str]


class LeadAssignIn(WriteSchema):
    leads: list[int] = Field(..., min_length=1, max_length=500,
                             description="Lead ids (all or nothing).")
    to_user: int = Field(..., description="The new owner's user id.")
    note: Str200 = ""


# ---------------------------------------------------------------- helpers


def _leads(user) -> QuerySet:
    return Lead.objects.visible_to(user).select_related("owner", "team", "product_line")


def _visible_lead(user, lead_id: int) -> Lead:
    return get_object_or_404(_leads(user), pk=lead_id)


def _filter_leads(qs: QuerySet, f: LeadFilters, user) -> QuerySet:
    if f.q and f.q.strip():
        q = f.q.strip()
        qs = qs.filter(Q(company__icontains=q) | Q(name__icontains=q) | Q(phone__icontains=q)
                       | Q(email__icontains=q.lower()))
    if f.status is not None:
        qs = qs.filter(status=f.status.value)
    if f.source is not None:
        qs = qs.filter(source=f.source.value)
    if f.campaign:
        qs = qs.filter(campaign=f.campaign)
    for field in ("pool", "product_line"):
        value = getattr(f, field)
        if value is not None:
            qs = qs.filter(**{f"{field}_id": value})
    qs = team_filter(owner_filter(qs, f.owner, user), f.team)
    if f.updated_since is not None:
        qs = qs.filter(updated_at__gte=f.updated_since)
    field = f.ordering.lstrip("-")
    if field in ("score", "last_activity_at"):
        # Leads without a score or activity come last either way.
        expr = (F(field).desc(nulls_last=True) if f.ordering.startswith("-")
                else F(field).asc(nulls_last=True))
        return qs.order_by(expr, "-id")
    return qs.order_by(f.ordering, "-id" if f.ordering.startswith("-") else "id")


def _lead_refs(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    resolve_one(data, "industry", Industry.objects.all(), errors)
    resolve_one(data, "product_line", ProductLine.objects.all(), errors)
    resolve_one(data, "owner", User.objects.filter(is_active=True), errors)
    resolve_one(data, "team", Team.objects.all(), errors)
    if errors:
        raise ValidationError(errors)


def _update_lead(request: HttpRequest, lead_id: int, payload: Any, *, partial: bool) -> Lead:
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    _require_edit(user, lead)
    data = body_data(payload, only_sent=partial)
    version = data.pop("version")
    _lead_refs(data)
    services.lead_update(actor=user, lead=lead, version=version, **data)
    return _visible_lead(user, lead_id)


def _require_edit(user, lead: Lead) -> None:
    """Refuse (403) before validating the body, so a refusal never reads as a 422."""
    if not services.can_edit_lead(user, lead):
        raise PermissionDenied(_("You may not change this lead."))


def _convert_opportunity(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if not data:
        return None
    data = {k: v for k, v in data.items() if v is not None}
    errors: dict[str, list[str]] = {}
    resolve_one(data, "product_line", ProductLine.objects.all(), errors)
    resolve_one(data, "pipeline", Pipeline.objects.filter(active=True), errors)
    stages = Stage.objects.select_related("pipeline")
    if isinstance(data.get("pipeline"), Pipeline):
        stages = stages.filter(pipeline=data["pipeline"])
    resolve_one(data, "stage", stages, errors)
    if errors:
        raise ValidationError({f"opportunity.{k}": v for k, v in errors.items()})
    if data.get("stage") is not None and data.get("pipeline") is None:
        data["pipeline"] = data["stage"].pipeline
    return data


# ---------------------------------------------------------------- routes

LEAD_WRITE = {200: LeadOut, 409: ConflictOut, **WRITE_ERRORS}


@router.get("/leads", response=Page[LeadOut], tags=["leads"], summary="List leads")
def list_leads(request: HttpRequest, filters: Query[LeadFilters]):
    user = actor(request)
    return paginate(request, _filter_leads(_leads(user), filters, user), filters)


@router.post("/leads", response={201: LeadOut, **WRITE_ERRORS}, tags=["leads"],
             summary="Create a lead")
def create_lead(request: HttpRequest, payload: LeadFields):
    """A rep's lead is their own unless `owner` is sent; a lead without owner goes to
    its team's pool."""
    user = actor(request)
    if not services.can_create_lead(user):
        raise PermissionDenied(_("You may not create leads."))
    data = body_data(payload, only_sent=True)
    _lead_refs(data)
    lead = services.lead_create(actor=user, **data)
    return Status(201, _visible_lead(user, lead.pk))


@router.post("/lead-assignments", response={200: AssignOut, **WRITE_ERRORS}, tags=["leads"],
             summary="Assign leads to a user (directors, administrators; managers within "
                     "their team)")
def assign_leads(request: HttpRequest, payload: LeadAssignIn):
    user = actor(request)
    ids = list(dict.fromkeys(payload.leads))
    found = list(Lead.objects.visible_to(user).filter(pk__in=ids))
    if len(found) != len(ids):
        missing = sorted(set(ids) - {lead.pk for lead in found})
        raise HttpError(404, _("There is no lead with id %(id)s here.")
                        % {"id": ", ".join(map(str, missing))})
    to_user = active_user(payload.to_user, "to_user")
    changed = pool_services.assign_leads(actor=user, leads=found, to_user=to_user,
                                         note=payload.note)
    return {"changed": changed}


@router.get("/leads/{lead_id}", response={200: LeadOut, 404: ErrorOut}, tags=["leads"],
            summary="One lead")
def get_lead(request: HttpRequest, lead_id: int):
    return _visible_lead(actor(request), lead_id)


@router.put("/leads/{lead_id}", response=LEAD_WRITE, tags=["leads"],
            summary="Replace a lead (every field, plus version)")
def put_lead(request: HttpRequest, lead_id: int, payload: LeadPut):  # type: ignore[valid-type]
    return _update_lead(request, lead_id, payload, partial=False)


@router.patch("/leads/{lead_id}", response=LEAD_WRITE, tags=["leads"],
              summary="Change some fields of a lead (plus version)")
def patch_lead(request: HttpRequest, lead_id: int, payload: LeadPatch):  # type: ignore[valid-type]
    return _update_lead(request, lead_id, payload, partial=True)


@router.delete("/leads/{lead_id}", response={204: None, 403: ErrorOut, 404: ErrorOut},
               tags=["leads"], summary="Move a lead to the recycle bin")
def delete_lead(request: HttpRequest, lead_id: int):
    user = actor(request)
    services.lead_delete(actor=user, lead=_visible_lead(user, lead_id))
    return Status(204, None)


@router.post("/leads/{lead_id}/qualify", response=LEAD_WRITE, tags=["leads"],
             summary="Mark a lead qualified (ready to convert)")
def qualify_lead(request: HttpRequest, lead_id: int, payload: VersionIn):
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    _require_edit(user, lead)
    services.lead_qualify(actor=user, lead=lead, version=payload.version)
    return _visible_lead(user, lead_id)


@router.post("/leads/{lead_id}/disqualify", response=LEAD_WRITE, tags=["leads"],
             summary="Mark a lead unqualified, with the reason")
def disqualify_lead(request: HttpRequest, lead_id: int, payload: DisqualifyIn):
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    _require_edit(user, lead)
    services.lead_disqualify(actor=user, lead=lead, reason=payload.reason,
                             version=payload.version)
    return _visible_lead(user, lead_id)


@router.post("/leads/{lead_id}/reopen", response=LEAD_WRITE, tags=["leads"],
             summary="Reopen a qualified or unqualified lead (back to working)")
def reopen_lead(request: HttpRequest, lead_id: int, payload: VersionIn):
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    _require_edit(user, lead)
    services.lead_reopen(actor=user, lead=lead, version=payload.version)
    return _visible_lead(user, lead_id)


@router.post("/leads/{lead_id}/convert",
             response={200: LeadOut, 403: ErrorOut, 404: ErrorOut, 409: ConflictOut,
                       422: StageGateOut},
             tags=["leads"], summary="Convert a lead into customer, contact and opportunity")
def convert_lead(request: HttpRequest, lead_id: int, payload: ConvertIn):
    """One transaction: a new customer (or the existing `customer`), the lead's person as
    a contact, and — unless `create_opportunity` is false — an opportunity linked to the
    lead. If any part fails nothing is written. The answer is the lead with
    `converted_customer`, `converted_contact` and `converted_opportunity` set; a 422
    with `missing` means the opportunity's start stage refused it."""
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    _require_edit(user, lead)
    customer = None
    if payload.customer is not None:
        customer = get_object_or_404(Customer.objects.visible_to(user), pk=payload.customer)
    opportunity = _convert_opportunity(
        payload.opportunity.model_dump(exclude_unset=True) if payload.opportunity else None)
    try:
        services.lead_convert(actor=user, lead=lead, customer=customer,
                              create_opportunity=payload.create_opportunity,
                              version=payload.version, opportunity=opportunity)
    except StageGateError as exc:
        return gate_response(exc)
    return _visible_lead(user, lead_id)


@router.get("/leads/{lead_id}/duplicates", response={200: list[DuplicateOut], 404: ErrorOut},
            tags=["leads"], summary="Existing customers that are probably the lead's company")
def list_lead_duplicates(request: HttpRequest, lead_id: int):
    """Customers you can see with the same phone, e-mail or (nearly) the same name — a
    candidate for `customer` when converting."""
    user = actor(request)
    rows = services.duplicates_for_lead(user, _visible_lead(user, lead_id))
    return [{"customer": r["customer"].pk, "customer_name": r["customer"].name,
             "owner_name": name_of(r["customer"].owner), "score": r["score"],
             "reasons": r["reasons"]} for r in rows]


# ---------------------------------------------------------------- the lead pool


@router.get("/pools/{pool_id}/leads", response={200: Page[LeadOut], 404: ErrorOut},
            tags=["pool"], summary="Leads in a pool")
def list_pool_leads(request: HttpRequest, pool_id: int, page: Query[PageQuery]):
    user = actor(request)
    pool = get_object_or_404(pool_services.pools_for_user(user), pk=pool_id)
    qs = (pool_services.pool_leads(user, pool).select_related("owner", "team", "product_line")
          .order_by("-created_at", "-id"))
    return paginate(request, qs, page)


@router.post("/leads/{lead_id}/claim", response={200: LeadOut, **CLAIM_ERRORS},
             tags=["pool"], summary="Claim a lead from the pool (you become its owner)",
             description=CLAIM_DOC)
def claim_lead(request: HttpRequest, lead_id: int, response: HttpResponse):
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    try:
        pool_services.claim_lead(actor=user, lead=lead)
    except ValidationError as exc:
        limited = claim_limit_response(exc, response)
        if limited is None:
            raise
        return limited
    return _visible_lead(user, lead_id)


@router.post("/leads/{lead_id}/release", response={200: LeadOut, **WRITE_ERRORS},
             tags=["pool"], summary="Release a lead to the pool (no owner)")
def release_lead(request: HttpRequest, lead_id: int, payload: ReleaseIn):
    user = actor(request)
    lead = _visible_lead(user, lead_id)
    pool_services.release_lead(actor=user, lead=lead, note=payload.note)
    return _visible_lead(user, lead_id)
