"""REST API of the commerce mirror (mounted under /api/v1/ by guanxi.api).

ERP sync — `POST /erp/<entity>` with {"source": "erp", "rows": [...]} (at most
schemas.MAX_ROWS rows) for product_lines, products, contracts, orders, deliveries,
invoices and payments: an idempotent bulk upsert keyed by (source, external_id), see
commerce/sync.py. Answers {"created", "updated", "unchanged", …}; 422 lists every bad
row as `rows.<index>.<field>` and writes nothing; 403 for users who may not sync
(administrators and finance may). The body is read and validated in one go by a
pydantic TypeAdapter straight from the JSON bytes (no per-row objects), and may be
larger than Django's form-upload limit (up to MAX_BODY).

Reads — everyone who sees the customer (`.visible_to(user)`; invisible ⇒ 404): a
customer's contracts, orders, deliveries, invoices and payments; one order (lines and
deliveries), contract (milestones) or invoice (payments, outstanding, overdue days);
and the receivables: open invoices across the customers the user sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router
from ninja.errors import HttpError
from pydantic import ValidationError as PydanticError

from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.schemas import ErrorOut, Page, ValidationErrorOut
from guanxi.parties.models import Customer
from guanxi.servicedesk.permissions import can_sync_erp

from . import sync
from .models import (
    OPEN_INVOICE_STATUSES,
    Contract,
    ContractStatus,
    Delivery,
    DeliveryStatus,
    Invoice,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
)
from .schemas import (
    BODIES,
    ENTITIES,
    MAX_ROWS,
    ContractDetailOut,
    ContractOut,
    DeliveryOut,
    InvoiceDetailOut,
    InvoiceOut,
    OrderDetailOut,
    OrderOut,
    PaymentOut,
    SyncOut,
)

router = Router()

SYNC_TAG = "ERP sync"
READ_TAG = "Commerce"
MAX_BODY = 64 * 1024 * 1024  # 5,000 orders with a few lines each is about 2–3 MB

# ================================================================ ERP sync


def _read_body(request: HttpRequest) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise HttpError(413, _("The request is too large: send at most %(n)s rows per request.")
                        % {"n": MAX_ROWS})
    if length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return request.body
    # Bigger than Django's form-upload limit, still within MAX_BODY: read the stream.
    return request.read(MAX_BODY + 1)


def _body_errors(exc: PydanticError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        key = ".".join(str(p) for p in err.get("loc", ())) or "__all__"
        errors.setdefault(key, []).append(str(err.get("msg", "")))
    return errors


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its $defs written in place (for the OpenAPI request body)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(dict(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


SYNC_DOC = """Idempotent bulk upsert of {entity}, keyed by (source, external_id): a retried
batch never makes a second copy. At most {max_rows} rows; each row is the whole record
(see the body schema). Nothing is written unless every row is valid: a 422 lists every
bad row as `rows.<index>.<field>` (index from 0). Administrators and finance only."""


def _sync_view(entity: str) -> Callable[..., Any]:
    adapter = BODIES[entity]

    def view(request: HttpRequest):
        user = actor(request)
        if not can_sync_erp(user):
            raise PermissionDenied(_("You may not synchronise ERP records."))
        try:
            data = adapter.validate_json(_read_body(request))
        except PydanticError as exc:
            raise ValidationError(_body_errors(exc)) from exc
        result = sync.upsert(entity, data["rows"], actor=user, source=data.get("source", "erp"),
                             validated=True)
        return result.counts()

    view.__name__ = view.__qualname__ = f"sync_{entity}"
    return view


for _entity in ENTITIES:
    router.add_api_operation(
        f"/erp/{_entity}", ["POST"], _sync_view(_entity),
        response={200: SyncOut, 403: ErrorOut, 413: ErrorOut, 422: ValidationErrorOut},
        tags=[SYNC_TAG], summary=f"ERP sync: upsert {_entity.replace('_', ' ')}",
        description=SYNC_DOC.format(entity=_entity.replace("_", " "), max_rows=MAX_ROWS),
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": _inline_refs(BODIES[_entity].json_schema())}}}},
    )


# ================================================================ reads


def _visible_customer(user, customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.visible_to(user), pk=customer_id)


class ContractFilters(PageQuery):
    status: ContractStatus | None = None


class OrderFilters(PageQuery):
    status: OrderStatus | None = None


class DeliveryFilters(PageQuery):
    status: DeliveryStatus | None = None


class InvoiceFilters(PageQuery):
    status: InvoiceStatus | None = None
    overdue: bool | None = Field(None, description="Only open invoices past their due date.")


class PaymentFilters(PageQuery):
    received_from: dt.date | None = None
    received_until: dt.date | None = None


def _by_status(qs: QuerySet, status) -> QuerySet:
    return qs if status is None else qs.filter(status=status.value)


def _overdue(qs: QuerySet, overdue: bool | None) -> QuerySet:
    if not overdue:
        return qs
    return qs.filter(status__in=OPEN_INVOICE_STATUSES, due_on__lt=timezone.localdate(),
                     amount__gt=F("paid_amount"))


@router.get("/customers/{customer_id}/contracts",
            response={200: Page[ContractOut], 404: ErrorOut}, tags=[READ_TAG],
            summary="A customer's contracts (newest first)")
def list_customer_contracts(request: HttpRequest, customer_id: int,
                            filters: Query[ContractFilters]):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    qs = Contract.objects.filter(customer=customer).select_related("customer")
    return paginate(request, _by_status(qs, filters.status), filters)


@router.get("/customers/{customer_id}/orders", response={200: Page[OrderOut], 404: ErrorOut},
            tags=[READ_TAG], summary="A customer's orders (newest first)")
def list_customer_orders(request: HttpRequest, customer_id: int, filters: Query[OrderFilters]):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    qs = Order.objects.filter(customer=customer).select_related("customer")
    return paginate(request, _by_status(qs, filters.status), filters)


@router.get("/customers/{customer_id}/deliveries",
            response={200: Page[DeliveryOut], 404: ErrorOut}, tags=[READ_TAG],
            summary="A customer's deliveries (latest expected first)")
def list_customer_deliveries(request: HttpRequest, customer_id: int,
                             filters: Query[DeliveryFilters]):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    qs = Delivery.objects.filter(customer=customer).select_related("customer")
    return paginate(request, _by_status(qs, filters.status), filters)


@router.get("/customers/{customer_id}/invoices",
            response={200: Page[InvoiceOut], 404: ErrorOut}, tags=[READ_TAG],
            summary="A customer's invoices (newest first)")
def list_customer_invoices(request: HttpRequest, customer_id: int,
                           filters: Query[InvoiceFilters]):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    qs = Invoice.objects.filter(customer=customer).select_related("customer")
    return paginate(request, _overdue(_by_status(qs, filters.status), filters.overdue), filters)


@router.get("/customers/{customer_id}/payments",
            response={200: Page[PaymentOut], 404: ErrorOut}, tags=[READ_TAG],
            summary="A customer's payments received (newest first)")
def list_customer_payments(request: HttpRequest, customer_id: int,
                           filters: Query[PaymentFilters]):
    user = actor(request)
    customer = _visible_customer(user, customer_id)
    qs = Payment.objects.filter(customer=customer).select_related("customer")
    if filters.received_from is not None:
        qs = qs.filter(received_on__gte=filters.received_from)
    if filters.received_until is not None:
        qs = qs.filter(received_on__lte=filters.received_until)
    return paginate(request, qs, filters)


@router.get("/orders/{order_id}", response={200: OrderDetailOut, 404: ErrorOut},
            tags=[READ_TAG], summary="One order with its lines and deliveries")
def get_order(request: HttpRequest, order_id: int):
    qs = (Order.objects.visible_to(actor(request)).select_related("customer")
          .prefetch_related("lines", "deliveries__customer"))
    return get_object_or_404(qs, pk=order_id)


@router.get("/contracts/{contract_id}", response={200: ContractDetailOut, 404: ErrorOut},
            tags=[READ_TAG], summary="One contract with its milestones (payment plan included)")
def get_contract(request: HttpRequest, contract_id: int):
    qs = (Contract.objects.visible_to(actor(request)).select_related("customer")
          .prefetch_related("milestones"))
    return get_object_or_404(qs, pk=contract_id)


@router.get("/invoices/{invoice_id}", response={200: InvoiceDetailOut, 404: ErrorOut},
            tags=[READ_TAG], summary="One invoice with its payments, outstanding and overdue days")
def get_invoice(request: HttpRequest, invoice_id: int):
    qs = Invoice.objects.visible_to(actor(request)).select_related("customer")
    return get_object_or_404(qs, pk=invoice_id)


class ReceivableFilters(PageQuery):
    overdue: bool = Field(False, description="Only invoices past their due date.")
    customer: int | None = Field(None, description="Customer id.")
    currency: str | None = Field(None, max_length=3, description="e.g. CNY")


@router.get("/receivables", response=Page[InvoiceOut], tags=[READ_TAG],
            summary="Open invoices across the customers you see, oldest due first")
def list_receivables(request: HttpRequest, filters: Query[ReceivableFilters]):
    """Open and partly paid invoices with something outstanding; `overdue=1` keeps those
    past their due date (finance's dunning list)."""
    qs = (Invoice.objects.visible_to(actor(request)).select_related("customer")
          .filter(status__in=OPEN_INVOICE_STATUSES, amount__gt=F("paid_amount")))
    if filters.overdue:
        qs = _overdue(qs, True)
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    if filters.currency:
        qs = qs.filter(currency=filters.currency.upper())
    return paginate(request, qs.order_by(F("due_on").asc(nulls_last=True), "id"), filters)
