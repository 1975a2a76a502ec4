"""REST API of customers and contacts (mounted under /api/v1/ by guanxi.api).

Reads start from `.visible_to(user)` (invisible ⇒ 404); writes call the services
(PermissionDenied ⇒ 403, ValidationError ⇒ 422, ConflictError ⇒ 409), so a
refused write leaves the database unchanged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Case, Q, QuerySet, When
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from guanxi.accounts.models import Team, User
from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.refs import resolve_many, resolve_one
from guanxi.api.schemas import (
    AwareDatetime,
    ConflictOut,
    ErrorOut,
    Page,
    ValidationErrorOut,
    WriteSchema,
    body_data,
    patch_schema,
    put_schema,
)

from . import permissions as perms
from . import services
from .custom_fields import definitions_for
from .models import Contact, Customer, CustomerKind, Industry, SourceChannel, Stage, Tier
from .normalize import format_phone

router = Router()


Str2 = Annotated[str, StringConstraints(max_length=2)]
Str10 = Annotated[str, StringConstraints(max_length=10)]
Str20 = Annotated[str, StringConstraints(max_length=20)]
Str50 = Annotated[str, StringConstraints(max_length=50)]
Str100 = Annotated[str, StringConstraints(max_length=100)]
Str200 = Annotated[str, StringConstraints(max_length=200)]
Email = Annotated[str, StringConstraints(max_length=254)]
# Phones are accepted as typed ("(023)6532-1234转808") and stored in E.164.
PhoneIn = Annotated[str, StringConstraints(max_length=60)]

# ---------------------------------------------------------------- schemas


class CustomerIn(WriteSchema):
    kind: CustomerKind = CustomerKind.ORGANISATION
    name: Str200
    short_name: Str100 = ""
    country: Str2 = Field("CN", description="ISO 3166 country code.")
    province: Str50 = ""
    city: Str50 = ""
    district: Str50 = ""
    street: Str200 = ""
    postal_code: Str20 = ""
    phone: PhoneIn = Field("", description="Any common form; stored as E.164.")
    phone_ext: Str10 = ""
    email: Email = ""
    website: Str200 = ""
    industry: int | None = Field(None, description="Industry id.")
    source: SourceChannel | Literal[""] = ""
    team: int | None = Field(None, description="Team (region / office) id.")
    owner: int | None = Field(None, description="Account manager's user id.")
    shared_with: list[int] = Field(default_factory=list, description="User ids.")
    tags: list[Str50] = Field(default_factory=list, description="Tag names.")
    tier: Tier = Tier.C
    stage: Stage = Stage.PROSPECT
    credit_days: int = Field(0, ge=0)
    credit_limit: Decimal | None = None
    consent_email: bool = False
    consent_sms: bool = False
    consent_phone: bool = True
    consent_mail: bool = True
    custom: dict[str, Any] = Field(default_factory=dict,
                                   description="Custom field values by key.")
    notes: str = ""
    external_id: Str100 = ""


CustomerPut = put_schema(CustomerIn, "CustomerPut")
CustomerPatch = patch_schema(CustomerIn, "CustomerPatch")


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    short_name: str
    country: str
    province: str
    city: str
    district: str
    street: str
    postal_code: str
    address: str
    phone: str = Field(..., description="E.164, e.g. +862365321234")
    phone_ext: str
    phone_display: str
    email: str
    website: str
    industry: int | None
    industry_name: str
    source: str
    team: int | None
    team_name: str
    owner: int | None
    owner_name: str
    shared_with: list[int]
    tags: list[str]
    tier: str
    stage: str
    credit_days: int
    credit_limit: Decimal | None
    consent_email: bool
    consent_sms: bool
    consent_phone: bool
    consent_mail: bool
    custom: dict[str, Any]
    notes: str
    external_id: str
    last_contact_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_phone_display(obj: Customer) -> str:
        return format_phone(obj.phone, obj.phone_ext)

    @staticmethod
    def resolve_industry(obj: Customer) -> int | None:
        return obj.industry_id

    @staticmethod
    def resolve_industry_name(obj: Customer) -> str:
        return obj.industry.name if obj.industry_id else ""

    @staticmethod
    def resolve_team(obj: Customer) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj: Customer) -> str:
        return obj.team.name if obj.team_id else ""

    @staticmethod
    def resolve_owner(obj: Customer) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_owner_name(obj: Customer) -> str:
        return str(obj.owner) if obj.owner_id else ""

    @staticmethod
    def resolve_shared_with(obj: Customer) -> list[int]:
        return sorted(u.pk for u in obj.shared_with.all())

    @staticmethod
    def resolve_tags(obj: Customer) -> list[str]:
        return [t.name for t in obj.tags.all()]


CUSTOMER_ORDERING = Literal[
    "name", "-name", "updated_at", "-updated_at", "created_at", "-created_at",
    "last_contact_at", "-last_contact_at", "tier", "-tier", "id", "-id",
]


class CustomerFilters(PageQuery):
    q: str | None = Field(None, description="Search: name, pinyin, phone, e-mail, contacts.")
    kind: CustomerKind | None = None
    tier: Tier | None = None
    stage: Stage | None = None
    owner: str | None = Field(
        None, pattern=r"^(\d+|me|none)$",
        description='Account manager\'s user id, "me", or "none" (the pool).')
    team: int | None = Field(None, description="Team id; includes its sub-teams.")
    industry: int | None = Field(None, description="Industry id.")
    tag: str | None = Field(None, description="Tag name.")
    updated_since: AwareDatetime | None = None
    ordering: CUSTOMER_ORDERING | None = Field(
        None, description="Default: best match first with q, else -updated_at.")


class ContactIn(WriteSchema):
    name: Str100
    title: Str100 = ""
    department: Str100 = ""
    mobile: PhoneIn = ""
    phone: PhoneIn = ""
    phone_ext: Str10 = ""
    email: Email = ""
    wechat: Str50 = ""
    is_primary: bool = False
    consent_email: bool = False
    consent_sms: bool = False
    consent_phone: bool = True
    notes: str = ""


ContactPut = put_schema(ContactIn, "ContactPut")
ContactPatch = patch_schema(ContactIn, "ContactPatch")


class ContactOut(Schema):
    id: int
    customer: int
    name: str
    title: str
    department: str
    mobile: str = Field(..., description="E.164")
    mobile_display: str
    phone: str = Field(..., description="E.164")
    phone_ext: str
    phone_display: str
    email: str
    wechat: str
    is_primary: bool
    consent_email: bool
    consent_sms: bool
    consent_phone: bool
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_customer(obj: Contact) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_mobile_display(obj: Contact) -> str:
        return format_phone(obj.mobile)

    @staticmethod
    def resolve_phone_display(obj: Contact) -> str:
        return format_phone(obj.phone, obj.phone_ext)


# ---------------------------------------------------------------- helpers


def _customers(user) -> QuerySet:
    return (Customer.objects.visible_to(user)
            .select_related("industry", "team", "owner")
            .prefetch_related("shared_with", "tags"))


def _visible_customer(user, customer_id: int) -> Customer:
    return get_object_or_404(_customers(user), pk=customer_id)


# A search narrows the list to at most this many best matches.
SEARCH_CAP = 500


def _search(qs: QuerySet, user, q: str, *, ranked: bool) -> QuerySet:
    """The global search (names in both scripts, pinyin, phones, e-mails, contacts)."""
    try:
        from guanxi.parties.selectors import search_customers
    except ImportError:  # pragma: no cover - the search module is optional here
        return qs.filter(Q(name__icontains=q) | Q(short_name__icontains=q)
                         | Q(search_text__icontains=q))
    ids = [c.pk for c in search_customers(user, q, limit=SEARCH_CAP)]
    qs = qs.filter(pk__in=ids)
    if ranked and ids:
        qs = qs.order_by(Case(*(When(pk=pk, then=pos) for pos, pk in enumerate(ids))))
    return qs


def _filter_customers(qs: QuerySet, f: CustomerFilters, user) -> QuerySet:
    for field in ("kind", "tier", "stage"):
        value = getattr(f, field)
        if value is not None:
            qs = qs.filter(**{field: value.value})
    if f.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif f.owner == "me":
        qs = qs.filter(owner_id=user.pk)
    elif f.owner is not None:
        qs = qs.filter(owner_id=int(f.owner))
    if f.industry is not None:
        qs = qs.filter(industry_id=f.industry)
    if f.team is not None:
        team = Team.objects.filter(pk=f.team).first()
        subtree = Team.objects.filter(path__startswith=team.path).values("pk") if team else []
        qs = qs.filter(team_id__in=subtree)
    if f.tag:
        tagged = Customer.tags.through.objects.filter(tag__name=f.tag).values("customer_id")
        qs = qs.filter(pk__in=tagged)
    if f.updated_since is not None:
        qs = qs.filter(updated_at__gte=f.updated_since)
    ordering = f.ordering
    if f.q and f.q.strip():
        # Without an explicit ordering, search results come best match first.
        qs = _search(qs, user, f.q.strip(), ranked=ordering is None)
        if ordering is None:
            return qs
    ordering = ordering or "-updated_at"
    if ordering.lstrip("-") == "id":
        return qs.order_by(ordering)
    # The id breaks ties so that pages never skip or repeat a row.
    return qs.order_by(ordering, "-id" if ordering.startswith("-") else "id")


def _customer_refs(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    users = User.objects.filter(is_active=True)
    resolve_one(data, "industry", Industry.objects.all(), errors)
    resolve_one(data, "team", Team.objects.all(), errors)
    resolve_one(data, "owner", users, errors)
    resolve_many(data, "shared_with", users, errors)
    if errors:
        raise ValidationError(errors)


def _merge_custom(customer: Customer, data: dict[str, Any]) -> None:
    """PATCH of `custom` changes only the keys sent (null clears one)."""
    if "custom" not in data:
        return
    industry = data.get("industry", customer.industry)
    known = {d.key for d in definitions_for(getattr(industry, "pk", industry))}
    merged = {k: v for k, v in (customer.custom or {}).items() if k in known}
    merged.update(data["custom"] or {})
    data["custom"] = merged


def _update_customer(request: HttpRequest, customer_id: int, payload: Any, *,
                     partial: bool) -> Customer:
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    perms.require(perms.can_edit_customer(user, customer))
    data = body_data(payload, only_sent=partial)
    version = data.pop("version")
    _customer_refs(data)
    if partial:
        _merge_custom(customer, data)
    return services.customer_update(actor=user, customer=customer, version=version, **data)


# ---------------------------------------------------------------- customers

WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


@router.get("/customers", response=Page[CustomerOut], tags=["customers"],
            summary="List customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    user = actor(request)
    qs = _filter_customers(_customers(user), filters, user)
    return paginate(request, qs, filters)


@router.post("/customers", response={201: CustomerOut, **WRITE_ERRORS}, tags=["customers"],
             summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn):
    user = actor(request)
    perms.require(perms.can_create_customer(user))
    data = body_data(payload, only_sent=True)
    _customer_refs(data)
    return Status(201, services.customer_create(actor=user, **data))


@router.get("/customers/{customer_id}", response={200: CustomerOut, 404: ErrorOut},
            tags=["customers"], summary="One customer")
def get_customer(request: HttpRequest, customer_id: int):
    return _visible_customer(actor(request), customer_id)


@router.put("/customers/{customer_id}",
            response={200: CustomerOut, 409: ConflictOut, **WRITE_ERRORS},
            tags=["customers"], summary="Replace a customer (every field, plus version)")
def put_customer(request: HttpRequest, customer_id: int, payload: CustomerPut):
    return _update_customer(request, customer_id, payload, partial=False)


@router.patch("/customers/{customer_id}",
              response={200: CustomerOut, 409: ConflictOut, **WRITE_ERRORS},
              tags=["customers"], summary="Change some fields of a customer (plus version)")
def patch_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch):
    return _update_customer(request, customer_id, payload, partial=True)


@router.delete("/customers/{customer_id}", response={204: None, 403: ErrorOut, 404: ErrorOut},
               tags=["customers"], summary="Move a customer to the recycle bin")
def delete_customer(request: HttpRequest, customer_id: int):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    services.customer_delete(actor=user, customer=customer)
    return Status(204, None)


# ---------------------------------------------------------------- contacts


def _visible_contact(user, contact_id: int) -> Contact:
    return get_object_or_404(Contact.objects.visible_to(user).select_related("customer"),
                             pk=contact_id)


def _update_contact(request: HttpRequest, contact_id: int, payload: Any, *,
                    partial: bool) -> Contact:
    user = actor(request)
    contact = _visible_contact(user, contact_id)
    perms.require(perms.can_edit_customer(user, contact.customer))
    data = body_data(payload, only_sent=partial)
    version = data.pop("version")
    return services.contact_update(actor=user, contact=contact, version=version, **data)


@router.get("/customers/{customer_id}/contacts", response={200: Page[ContactOut], 404: ErrorOut},
            tags=["contacts"], summary="Contacts of a customer")
def list_contacts(request: HttpRequest, customer_id: int, page: Query[PageQuery]):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    qs = Contact.objects.visible_to(user).filter(customer=customer)
    return paginate(request, qs.order_by("-is_primary", "name", "id"), page)


@router.post("/customers/{customer_id}/contacts", response={201: ContactOut, **WRITE_ERRORS},
             tags=["contacts"], summary="Add a contact to a customer")
def create_contact(request: HttpRequest, customer_id: int, payload: ContactIn):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    perms.require(perms.can_edit_customer(user, customer))
    data = body_data(payload, only_sent=True)
    return Status(201, services.contact_create(actor=user, customer=customer, **data))


@router.get("/contacts/{contact_id}", response={200: ContactOut, 404: ErrorOut},
            tags=["contacts"], summary="One contact")
def get_contact(request: HttpRequest, contact_id: int):
    return _visible_contact(actor(request), contact_id)


@router.put("/contacts/{contact_id}", response={200: ContactOut, 409: ConflictOut, **WRITE_ERRORS},
            tags=["contacts"], summary="Replace a contact (every field, plus version)")
def put_contact(request: HttpRequest, contact_id: int, payload: ContactPut):
    return _update_contact(request, contact_id, payload, partial=False)


@router.patch("/contacts/{contact_id}",
              response={200: ContactOut, 409: ConflictOut, **WRITE_ERRORS},
              tags=["contacts"], summary="Change some fields of a contact (plus version)")
def patch_contact(request: HttpRequest, contact_id: int, payload: ContactPatch):
    return _update_contact(request, contact_id, payload, partial=True)


@router.delete("/contacts/{contact_id}", response={204: None, 403: ErrorOut, 404: ErrorOut},
               tags=["contacts"], summary="Move a contact to the recycle bin")
def delete_contact(request: HttpRequest, contact_id: int):
    user = actor(request)
    services.contact_delete(actor=user, contact=_visible_contact(user, contact_id))
    return Status(204, None)
