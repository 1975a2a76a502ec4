"""REST API of installed equipment (assets), mounted under /api/v1/.

Reads start from `Asset.objects.visible_to(user)` (invisible ⇒ 404); writes call
asset_services (PermissionDenied ⇒ 403, ValidationError ⇒ 422, ConflictError ⇒ 409).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.refs import resolve_one
from guanxi.api.schemas import (
    AwareDatetime,
    ConflictOut,
    ErrorOut,
    Page,
    ValidationErrorOut,
    WriteSchema,
    body_data,
    patch_schema,
)
from guanxi.commerce.models import Contract, Order
from guanxi.parties.models import Customer
from guanxi.sales.models import Product

from . import asset_services as svc
from .field_selectors import asset_history
from .models import Asset, AssetStatus, FieldVisit, Ticket

router = Router(tags=["assets"])

Str100 = Annotated[str, StringConstraints(max_length=100)]
Str200 = Annotated[str, StringConstraints(max_length=200)]
Str300 = Annotated[str, StringConstraints(max_length=300)]
Str30 = Annotated[str, StringConstraints(max_length=30)]
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
WarrantyState = Literal["in", "expiring", "expired", "none"]


class AssetOut(Schema):
    id: int
    customer: int
    customer_name: str
    product: int | None
    product_name: str
    name: str
    serial_number: str
    installed_on: dt.date | None
    warranty_ends_on: dt.date | None
    warranty_state: str = Field(..., description="in, expiring (within 60 days), expired "
                                                  "or none (no end date).")
    location: str
    status: str
    order: int | None
    contract: int | None
    notes: str
    source: str
    external_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_customer(obj: Asset) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Asset) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_product(obj: Asset) -> int | None:
        return obj.product_id

    @staticmethod
    def resolve_product_name(obj: Asset) -> str:
        return obj.product.name if obj.product_id else ""

    @staticmethod
    def resolve_warranty_state(obj: Asset) -> str:
        return svc.warranty_state(obj)

    @staticmethod
    def resolve_order(obj: Asset) -> int | None:
        return obj.order_id

    @staticmethod
    def resolve_contract(obj: Asset) -> int | None:
        return obj.contract_id


class AssetFields(WriteSchema):
    product: int | None = Field(None, description="Product id.")
    name: Str200 = Field("", description="Empty: the product's name.")
    serial_number: Str100 = Field("", description="Unique per customer and product.")
    installed_on: dt.date | None = None
    warranty_ends_on: dt.date | None = Field(None, description="Not before installed_on.")
    location: Str300 = ""
    status: AssetStatus = AssetStatus.IN_SERVICE
    order: int | None = Field(None, description="Order id (of the same customer).")
    contract: int | None = Field(None, description="Contract id (of the same customer).")
    notes: str = ""
    source: Str30 = ""
    external_id: Str100 = ""


class AssetIn(AssetFields):
    customer: int = Field(..., description="Customer id.")


AssetPatch = patch_schema(AssetFields, "AssetPatch")


class AssetFilters(PageQuery):
    customer: int | None = Field(None, description="Customer id.")
    product: int | None = Field(None, description="Product id.")
    status: AssetStatus | None = None
    warranty: WarrantyState | None = Field(None, description="Warranty state.")
    q: str | None = Field(None, max_length=100, description="Serial number or name contains.")
    updated_since: AwareDatetime | None = None


def _assets(user) -> QuerySet:
    return Asset.objects.visible_to(user).select_related("customer", "product")


def _visible_asset(user, asset_id: int) -> Asset:
    return get_object_or_404(_assets(user), pk=asset_id)


def _refs(data: dict[str, Any], customer: Customer) -> None:
    errors: dict[str, list[str]] = {}
    resolve_one(data, "product", Product.objects.all(), errors)
    resolve_one(data, "order", Order.objects.filter(customer=customer), errors)
    resolve_one(data, "contract", Contract.objects.filter(customer=customer), errors)
    if errors:
        raise ValidationError(errors)


@router.get("/assets", response=Page[AssetOut], summary="List installed equipment")
def list_assets(request: HttpRequest, filters: Query[AssetFilters]):
    qs = _assets(actor(request))
    for key in ("customer", "product"):
        value = getattr(filters, key)
        if value is not None:
            qs = qs.filter(**{f"{key}_id": value})
    if filters.status is not None:
        qs = qs.filter(status=filters.status.value)
    if filters.warranty:
        qs = svc.warranty_filter(qs, filters.warranty)
    if filters.q:
        qs = qs.filter(Q(serial_number__icontains=filters.q) | Q(name__icontains=filters.q))
    if filters.updated_since is not None:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    return paginate(request, qs.order_by("customer_id", "name", "id"), filters)


@router.post("/assets", response={201: AssetOut, **WRITE_ERRORS},
             summary="Record equipment installed at a customer's site")
def create_asset(request: HttpRequest, payload: AssetIn):
    user = actor(request)
    data = body_data(payload, only_sent=True)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=data.pop("customer"))
    _refs(data, customer)
    asset = svc.asset_create(actor=user, customer=customer, **data)
    return Status(201, _visible_asset(user, asset.pk))


@router.get("/assets/{asset_id}", response={200: AssetOut, 404: ErrorOut},
            summary="One piece of installed equipment")
def get_asset(request: HttpRequest, asset_id: int):
    return _visible_asset(actor(request), asset_id)


@router.patch("/assets/{asset_id}", response={200: AssetOut, 409: ConflictOut, **WRITE_ERRORS},
              summary="Change some details of an asset (plus version)")
def patch_asset(request: HttpRequest, asset_id: int, payload: AssetPatch):  # type: ignore[valid-type]
    user = actor(request)
    asset = _visible_asset(user, asset_id)
    data = body_data(payload, only_sent=True)
    version = data.pop("version")
    _refs(data, asset.customer)
    svc.asset_update(actor=user, asset=asset, version=version, **data)
    return _visible_asset(user, asset_id)


@router.delete("/assets/{asset_id}", response={204: None, 403: ErrorOut, 404: ErrorOut},
               summary="Move an asset to the recycle bin")
def delete_asset(request: HttpRequest, asset_id: int):
    user = actor(request)
    svc.asset_delete(actor=user, asset=_visible_asset(user, asset_id))
    return Status(204, None)


# ---------------------------------------------------------------- history


class TicketRefOut(Schema):
    id: int
    reference: str
    subject: str
    type: str
    status: str
    priority: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None

    @staticmethod
    def resolve_type(obj: Ticket) -> str:
        return obj.type.code


class PartOut(Schema):
    part: str
    quantity: float


class VisitRefOut(Schema):
    id: int
    ticket: int
    technician: int
    technician_name: str
    scheduled_start: dt.datetime
    scheduled_end: dt.datetime
    status: str
    outcome: str
    work_done: str
    parts_used: list[PartOut]
    signed_off_by: str
    time_spent_minutes: int
    travel_minutes: int
    completed_at: dt.datetime | None

    @staticmethod
    def resolve_ticket(obj: FieldVisit) -> int:
        return obj.ticket_id

    @staticmethod
    def resolve_technician(obj: FieldVisit) -> int:
        return obj.technician_id

    @staticmethod
    def resolve_technician_name(obj: FieldVisit) -> str:
        return str(obj.technician)


class ChangeOut(Schema):
    at: dt.datetime
    actor: str
    action: str
    changes: dict[str, Any]


class AssetHistoryOut(Schema):
    asset: int
    tickets: list[TicketRefOut] = Field(..., description="Tickets about the asset, newest "
                                                         "first.")
    visits: list[VisitRefOut] = Field(..., description="Field visits for those tickets, "
                                                       "newest first, with their reports.")
    parts: list[PartOut] = Field(..., description="Parts used in total (done visits).")
    changes: list[ChangeOut] = Field(..., description="Changes to the asset record.")


@router.get("/assets/{asset_id}/history", response={200: AssetHistoryOut, 404: ErrorOut},
            summary="An asset's service history: tickets, visits, parts, changes")
def get_asset_history(request: HttpRequest, asset_id: int):
    user = actor(request)
    asset = _visible_asset(user, asset_id)
    history = asset_history(user, asset)
    return {
        "asset": asset.pk, "tickets": history["tickets"], "visits": history["visits"],
        "parts": history["parts"],
        "changes": [{"at": e.at, "actor": str(e.actor) if e.actor else "", "action": e.action,
                     "changes": e.changes} for e in history["changes"]],
    }
