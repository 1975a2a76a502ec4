"""Pydantic shapes of the ERP mirror: the rows an ERP sends (one TypedDict per entity,
validated in bulk with a TypeAdapter — plain dicts out, no per-row objects) and the
records the REST API answers with.

A row is the whole record: an optional field left out takes its default (blank, none,
zero), except where commerce/sync.py says otherwise (invoice paid_amount/status, and
nested `lines`/`milestones`, which are left alone when the key is absent).
Unknown keys are errors (a misspelt field must not be silently ignored). External ids
sent as JSON numbers are taken as text.
"""


import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired

from ninja import Field as NinjaField
from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, with_config
from typing_extensions import TypedDict

from .models import (
    ContractStatus,
    DeliveryStatus,
    InvoiceStatus,
    MilestoneKind,
    OrderStatus,
    PaymentMethod,
)

MAX_ROWS = 5000

ROW_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)


def _text(max_length: int, *, required: bool = False) -> Any:
    return Annotated[str, StringConstraints(max_length=max_length, min_length=1 if required else 0)]


def _choices(choices: type) -> Any:
    return Literal[tuple(choices.values)]  # type: ignore[misc]


ExternalId = _text(100, required=True)
Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30,
                                          pattern=r"^[A-Za-z0-9_.:-]+$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
Quantity = Annotated[Decimal, Field(max_digits=14, decimal_places=3)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                            pattern=r"^[A-Za-z]{3}$")]
CustomerId = Annotated[int, Field(ge=1)]
Seq = Annotated[int, Field(ge=1, le=32767)]


@with_config(ROW_CONFIG)
class _CustomerRef(TypedDict):
    external_id: ExternalId
    customer: NotRequired[_text(100, required=True)]
    customer_id: NotRequired[CustomerId]


@with_config(ROW_CONFIG)
class ProductLineRow(TypedDict):
    external_id: ExternalId
    code: Annotated[str, StringConstraints(min_length=1, max_length=50,
                                           pattern=r"^[-a-zA-Z0-9_]+$")]
    name: _text(100, required=True)
    active: NotRequired[bool]


@with_config(ROW_CONFIG)
class ProductRow(TypedDict):
    external_id: ExternalId
    code: _text(50, required=True)
    name: _text(200, required=True)
    product_line: NotRequired[_text(100, required=True)]
    product_line_code: NotRequired[_text(50, required=True)]
    unit_price: NotRequired[Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
                            | None]
    active: NotRequired[bool]


@with_config(ROW_CONFIG)
class MilestoneRow(TypedDict):
    seq: NotRequired[Seq]
    kind: NotRequired[_choices(MilestoneKind)]
    name: _text(200, required=True)
    due_on: NotRequired[dt.date | None]
    done_on: NotRequired[dt.date | None]
    amount: NotRequired[Money | None]


@with_config(ROW_CONFIG)
class ContractRow(_CustomerRef):
    number: NotRequired[_text(60)]
    title: NotRequired[_text(200)]
    status: NotRequired[_choices(ContractStatus)]
    signed_on: NotRequired[dt.date | None]
    starts_on: NotRequired[dt.date | None]
    ends_on: NotRequired[dt.date | None]
    amount: NotRequired[Money]
    currency: NotRequired[Currency]
    executed_amount: NotRequired[Money]
    opportunity_id: NotRequired[Annotated[int, Field(ge=1)] | None]
    notes: NotRequired[str]
    milestones: NotRequired[Annotated[list[MilestoneRow], Field(max_length=500)]]


@with_config(ROW_CONFIG)
class OrderLineRow(TypedDict):
    line_no: NotRequired[Annotated[int, Field(ge=1, le=2_000_000_000)]]
    product: NotRequired[_text(100, required=True)]
    product_code: NotRequired[_text(50)]
    description: NotRequired[_text(200)]
    quantity: NotRequired[Quantity]
    unit: NotRequired[_text(20)]
    unit_price: NotRequired[Money]
    amount: NotRequired[Money]


@with_config(ROW_CONFIG)
class OrderRow(_CustomerRef):
    contract: NotRequired[_text(100, required=True) | None]
    number: NotRequired[_text(60)]
    ordered_on: dt.date
    promised_on: NotRequired[dt.date | None]
    status: NotRequired[_choices(OrderStatus)]
    amount: NotRequired[Money]
    currency: NotRequired[Currency]
    lines: NotRequired[Annotated[list[OrderLineRow], Field(max_length=1000)]]


@with_config(ROW_CONFIG)
class DeliveryRow(_CustomerRef):
    order: NotRequired[_text(100, required=True) | None]
    number: NotRequired[_text(60)]
    status: NotRequired[_choices(DeliveryStatus)]
    carrier: NotRequired[_text(100)]
    tracking_number: NotRequired[_text(100)]
    shipped_on: NotRequired[dt.date | None]
    expected_on: NotRequired[dt.date | None]
    delivered_on: NotRequired[dt.date | None]
    address: NotRequired[_text(300)]


@with_config(ROW_CONFIG)
class InvoiceRow(_CustomerRef):
    order: NotRequired[_text(100, required=True) | None]
    contract: NotRequired[_text(100, required=True) | None]
    number: NotRequired[_text(60)]
    issued_on: dt.date
    due_on: NotRequired[dt.date | None]
    amount: NotRequired[Money]
    paid_amount: NotRequired[Money]
    currency: NotRequired[Currency]
    status: NotRequired[_choices(InvoiceStatus)]


@with_config(ROW_CONFIG)
class PaymentRow(_CustomerRef):
    invoice: NotRequired[_text(100, required=True) | None]
    contract: NotRequired[_text(100, required=True) | None]
    received_on: dt.date
    amount: Money
    currency: NotRequired[Currency]
    method: NotRequired[_choices(PaymentMethod)]
    reference: NotRequired[_text(100)]


ROW_TYPES: dict[str, type] = {
    "product_lines": ProductLineRow,
    "products": ProductRow,
    "contracts": ContractRow,
    "orders": OrderRow,
    "deliveries": DeliveryRow,
    "invoices": InvoiceRow,
    "payments": PaymentRow,
}
ENTITIES = tuple(ROW_TYPES)


def _body_type(entity: str, row: type) -> type:
    body = TypedDict(  # type: ignore[operator]
        f"Sync{row.__name__}s",
        {"source": NotRequired[Source],
         "rows": Annotated[list[row], Field(max_length=MAX_ROWS)]},  # type: ignore[valid-type]
    )
    body.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return body


#: entity → TypeAdapter of a list of its rows (file imports, Python callers).
ROWS: dict[str, TypeAdapter] = {e: TypeAdapter(list[t]) for e, t in ROW_TYPES.items()}
#: entity → TypeAdapter of the request body {"source": …, "rows": […]} (the API).
BODIES: dict[str, TypeAdapter] = {e: TypeAdapter(_body_type(e, t)) for e, t in ROW_TYPES.items()}


# ================================================================ API answers


class SyncOut(Schema):
    entity: str
    source: str
    rows: int = NinjaField(..., description="Rows received.")
    created: int
    updated: int
    unchanged: int = NinjaField(..., description="Rows identical to the stored record "
                                                 "(only their synced_at is refreshed).")


class _Record(Schema):
    id: int
    source: str
    external_id: str
    synced_at: dt.datetime
    customer: int
    customer_name: str

    @staticmethod
    def resolve_customer(obj: Any) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.name


class MilestoneOut(Schema):
    seq: int
    kind: str
    name: str
    due_on: dt.date | None
    done_on: dt.date | None
    amount: Decimal | None


class ContractOut(_Record):
    number: str
    title: str
    status: str
    signed_on: dt.date | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    amount: Decimal
    currency: str
    executed_amount: Decimal
    execution_percent: int | None = NinjaField(..., description="executed / amount (%).")
    opportunity: int | None
    notes: str

    @staticmethod
    def resolve_opportunity(obj: Any) -> int | None:
        return obj.opportunity_id


class ContractDetailOut(ContractOut):
    milestones: list[MilestoneOut]

    @staticmethod
    def resolve_milestones(obj: Any) -> list[Any]:
        return list(obj.milestones.all())


class OrderLineOut(Schema):
    line_no: int
    product: int | None
    product_code: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal

    @staticmethod
    def resolve_product(obj: Any) -> int | None:
        return obj.product_id


class OrderOut(_Record):
    contract: int | None
    number: str
    ordered_on: dt.date
    promised_on: dt.date | None
    status: str
    amount: Decimal
    currency: str

    @staticmethod
    def resolve_contract(obj: Any) -> int | None:
        return obj.contract_id


class DeliveryOut(_Record):
    order: int | None
    number: str
    status: str
    carrier: str
    tracking_number: str
    shipped_on: dt.date | None
    expected_on: dt.date | None
    delivered_on: dt.date | None
    address: str

    @staticmethod
    def resolve_order(obj: Any) -> int | None:
        return obj.order_id


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]
    deliveries: list[DeliveryOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_deliveries(obj: Any) -> list[Any]:
        return list(obj.deliveries.all())


class InvoiceOut(_Record):
    order: int | None
    contract: int | None
    number: str
    issued_on: dt.date
    due_on: dt.date | None
    amount: Decimal
    paid_amount: Decimal
    currency: str
    status: str
    outstanding: Decimal = NinjaField(..., description="amount − paid (0 when cancelled).")
    overdue_days: int = NinjaField(..., description="Days past due_on while something is "
                                                    "outstanding (0 otherwise).")

    @staticmethod
    def resolve_order(obj: Any) -> int | None:
        return obj.order_id

    @staticmethod
    def resolve_contract(obj: Any) -> int | None:
        return obj.contract_id

    @staticmethod
    def resolve_overdue_days(obj: Any) -> int:
        return obj.overdue_days()


class PaymentOut(_Record):
    invoice: int | None
    contract: int | None
    received_on: dt.date
    amount: Decimal
    currency: str
    method: str
    reference: str

    @staticmethod
    def resolve_invoice(obj: Any) -> int | None:
        return obj.invoice_id

    @staticmethod
    def resolve_contract(obj: Any) -> int | None:
        return obj.contract_id


class InvoiceDetailOut(InvoiceOut):
    payments: list[PaymentOut]

    @staticmethod
    def resolve_payments(obj: Any) -> list[Any]:
        return list(obj.payments.select_related("customer").all())
