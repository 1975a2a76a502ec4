"""REST API of the service desk tickets (mounted under /api/v1/): tickets, their
messages, assign / status / merge, ticket types and queues.

Reads start from `Ticket.objects.visible_to(user)` (invisible ⇒ 404); writes call the
ticket services (PermissionDenied ⇒ 403 with nothing written, ValidationError ⇒ 422,
ConflictError ⇒ 409), which audit every change. Internal notes are listed for everyone
inside the company who sees the ticket; a customer-facing channel (the portal) shows
replies only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from guanxi.accounts.models import User
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
)
from guanxi.commerce.models import Contract, Order
from guanxi.parties import permissions as party_perms
from guanxi.parties.models import Contact, Customer
from guanxi.sales.api_common import WRITE_ERRORS, Str200, name_of
from guanxi.sales.models import Product

from . import permissions as perms
from . import selectors, services
from .models import (
    OPEN_TICKET_STATUSES,
    Asset,
    Channel,
    Priority,
    Queue,
    Ticket,
    TicketMessage,
    TicketStatus,
    TicketType,
)

router = Router(tags=["tickets"])

TypeRef = int | str
TYPE_DOC = "Ticket type: its id or its code (e.g. equipment_fault)."

# ================================================================ schemas


class TicketOut(Schema):
    id: int
    reference: str = Field(..., description="The number customers quote: T000123.")
    customer: int
    customer_name: str
    contact: int | None
    contact_name: str
    type: int
    type_code: str
    type_name: str
    is_complaint: bool
    queue: int
    queue_code: str
    queue_name: str
    assignee: int | None
    assignee_name: str
    subject: str
    description: str
    channel: str
    priority: str
    status: str
    asset: int | None
    order: int | None
    contract: int | None
    product: int | None
    sla_state: str = Field(..., description='"breached", "at_risk", "ok", "met" or "" '
                                            "(no SLA).")
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    first_responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    response_breached: bool
    resolution_breached: bool
    escalated_at: dt.datetime | None
    merged_into: int | None
    time_spent_minutes: int
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_customer(obj: Ticket) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Ticket) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_contact(obj: Ticket) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_contact_name(obj: Ticket) -> str:
        return obj.contact.name if obj.contact_id else ""

    @staticmethod
    def resolve_type(obj: Ticket) -> int:
        return obj.type_id

    @staticmethod
    def resolve_type_code(obj: Ticket) -> str:
        return obj.type.code

    @staticmethod
    def resolve_type_name(obj: Ticket) -> str:
        return obj.type.name

    @staticmethod
    def resolve_is_complaint(obj: Ticket) -> bool:
        return obj.type.is_complaint

    @staticmethod
    def resolve_queue(obj: Ticket) -> int:
        return obj.queue_id

    @staticmethod
    def resolve_queue_code(obj: Ticket) -> str:
        return obj.queue.code

    @staticmethod
    def resolve_queue_name(obj: Ticket) -> str:
        return obj.queue.name

    @staticmethod
    def resolve_assignee(obj: Ticket) -> int | None:
        return obj.assignee_id

    @staticmethod
    def resolve_assignee_name(obj: Ticket) -> str:
        return name_of(obj.assignee)

    @staticmethod
    def resolve_asset(obj: Ticket) -> int | None:
        return obj.asset_id

    @staticmethod
    def resolve_order(obj: Ticket) -> int | None:
        return obj.order_id

    @staticmethod
    def resolve_contract(obj: Ticket) -> int | None:
        return obj.contract_id

    @staticmethod
    def resolve_product(obj: Ticket) -> int | None:
        return obj.product_id

    @staticmethod
    def resolve_sla_state(obj: Ticket) -> str:
        return selectors.sla_state(obj)

    @staticmethod
    def resolve_merged_into(obj: Ticket) -> int | None:
        return obj.merged_into_id

    @staticmethod
    def resolve_created_by(obj: Ticket) -> int | None:
        return obj.created_by_id


class TicketFields(WriteSchema):
    subject: Str200
    description: str = Field("", max_length=20000)
    type: TypeRef = Field(..., description=TYPE_DOC)
    contact: int | None = Field(None, description="Contact id (of the same customer).")
    channel: Channel = Channel.PHONE
    priority: Priority | None = Field(None, description="Default: the type's.")
    asset: int | None = Field(None, description="Asset id (of the same customer).")
    order: int | None = Field(None, description="Order id (of the same customer).")
    contract: int | None = Field(None, description="Contract id (of the same customer).")
    product: int | None = Field(None, description="Product id; default: the asset's.")


class TicketIn(TicketFields):
    customer: int = Field(..., description="Customer id.")
    assignee: int | None = Field(None, description="User id; default: the queue's default "
                                                   "assignee. Must work the type's queue.")


class TicketEditable(TicketFields):
    priority: Priority = Priority.NORMAL  # type: ignore[assignment]


TicketPatch = patch_schema(TicketEditable, "TicketPatch")


class MessageOut(Schema):
    id: int
    ticket: int
    kind: str = Field(..., description="reply (to the customer), note (internal), inbound "
                                       "(from the customer) or system.")
    body: str
    author: int | None
    author_name: str
    created_at: dt.datetime
    emailed_to: str
    time_spent_minutes: int

    @staticmethod
    def resolve_ticket(obj: TicketMessage) -> int:
        return obj.ticket_id

    @staticmethod
    def resolve_author(obj: TicketMessage) -> int | None:
        return obj.author_id

    @staticmethod
    def resolve_author_name(obj: TicketMessage) -> str:
        return name_of(obj.author)


class MessageIn(WriteSchema):
    kind: Literal["reply", "note", "inbound"] = Field(
        ..., description="reply: e-mailed to the contact (or customer); note: internal, never "
                         "e-mailed; inbound: a message received from the customer.")
    body: str = Field(..., min_length=1, max_length=20000)
    time_spent_minutes: int = Field(0, ge=0, le=24 * 60,
                                    description="Recorded as ticket time (cost to serve).")


class AssignIn(WriteSchema):
    assignee: int | None = Field(..., description="User id, or null to unassign. Must be a "
                                                  "member or the manager of the queue, or "
                                                  "desk staff.")
    queue: int | None = Field(None, description="Move to this queue id as well.")


class StatusIn(WriteSchema):
    status: Literal["new", "open", "pending", "resolved", "closed"]
    note: str = Field("", max_length=1000, description="Internal note kept with the change.")


class MergeIn(WriteSchema):
    into: int = Field(..., description="Id of the ticket (same customer) that survives.")


class TicketTypeOut(Schema):
    id: int
    code: str
    name: str
    queue: int
    queue_code: str
    queue_name: str
    default_priority: str
    is_complaint: bool
    order: int
    active: bool

    @staticmethod
    def resolve_queue(obj: TicketType) -> int:
        return obj.queue_id

    @staticmethod
    def resolve_queue_code(obj: TicketType) -> str:
        return obj.queue.code

    @staticmethod
    def resolve_queue_name(obj: TicketType) -> str:
        return obj.queue.name


class QueueOut(Schema):
    id: int
    code: str
    name: str
    team: int | None
    team_name: str
    manager: int | None
    manager_name: str
    members: list[int]
    default_assignee: int | None
    order: int
    active: bool
    open_tickets: int = Field(..., description="Open tickets in it that you can see.")

    @staticmethod
    def resolve_team(obj: Queue) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj: Queue) -> str:
        return obj.team.name if obj.team_id else ""

    @staticmethod
    def resolve_manager(obj: Queue) -> int | None:
        return obj.manager_id

    @staticmethod
    def resolve_manager_name(obj: Queue) -> str:
        return name_of(obj.manager)

    @staticmethod
    def resolve_members(obj: Queue) -> list[int]:
        return sorted(m.pk for m in obj.members.all())

    @staticmethod
    def resolve_default_assignee(obj: Queue) -> int | None:
        return obj.default_assignee_id

    @staticmethod
    def resolve_open_tickets(obj: Queue) -> int:
        return getattr(obj, "open_count", 0)


TICKET_ORDERING = Literal["created_at", "-created_at", "updated_at", "-updated_at",
                          "resolution_due_at", "-resolution_due_at"]


class TicketFilters(PageQuery):
    status: TicketStatus | Literal["unresolved"] | None = Field(
        None, description='A status, or "unresolved" (new, open and pending); none: all.')
    queue: int | None = Field(None, description="Queue id.")
    type: int | None = Field(None, description="Ticket type id.")
    assignee: str | None = Field(None, pattern=r"^(\d+|me|none)$",
                                 description='Assignee\'s user id, "me" or "none".')
    customer: int | None = Field(None, description="Customer id.")
    priority: Priority | None = None
    sla: Literal["breached", "at_risk"] | None = None
    q: str | None = Field(None, max_length=100, description="Subject, reference or customer.")
    updated_since: AwareDatetime | None = None
    ordering: TICKET_ORDERING = "-created_at"


# ================================================================ helpers


def _tickets(user) -> QuerySet:
    return selectors.tickets(user)


def _visible_ticket(user, ticket_id: int) -> Ticket:
    return get_object_or_404(_tickets(user), pk=ticket_id)


def _resolve_type(data: dict[str, Any], errors: dict[str, list[str]]) -> None:
    if "type" not in data or data["type"] is None:
        return
    ref = data["type"]
    qs = TicketType.objects.select_related("queue")
    found = (qs.filter(pk=ref).first() if isinstance(ref, int)
             else qs.filter(code=str(ref)).first())
    if found is None:
        errors["type"] = [_("There is no ticket type %(ref)s.") % {"ref": ref}]
    else:
        data["type"] = found


def _resolve_refs(data: dict[str, Any], user) -> None:
    errors: dict[str, list[str]] = {}
    _resolve_type(data, errors)
    resolve_one(data, "contact", Contact.objects.visible_to(user), errors)
    resolve_one(data, "asset", Asset.objects.visible_to(user), errors)
    resolve_one(data, "order", Order.objects.visible_to(user), errors)
    resolve_one(data, "contract", Contract.objects.visible_to(user), errors)
    resolve_one(data, "product", Product.objects.all(), errors)
    resolve_one(data, "assignee", User.objects.filter(is_active=True), errors)
    if errors:
        raise ValidationError(errors)


# ================================================================ tickets


@router.get("/tickets", response=Page[TicketOut], summary="List tickets")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]):
    user = actor(request)
    status = filters.status
    data: dict[str, Any] = {
        "status": (selectors.STATUS_ANY if status is None else selectors.STATUS_OPEN
                   if status == "unresolved" else getattr(status, "value", status)),
        "queue": filters.queue, "type": filters.type, "customer": filters.customer,
        "priority": getattr(filters.priority, "value", filters.priority),
        "assignee": filters.assignee, "sla": filters.sla, "q": filters.q,
    }
    qs = selectors.filter_tickets(_tickets(user), data, user)
    if filters.updated_since is not None:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    field = filters.ordering
    qs = qs.order_by(field, "-id" if field.startswith("-") else "id")
    return paginate(request, qs, filters)


@router.post("/tickets", response={201: TicketOut, **WRITE_ERRORS},
             summary="Open a ticket (routed by its type to the department's queue)")
def create_ticket(request: HttpRequest, payload: TicketIn):
    """The type decides the queue; the assignee is the one sent or the queue's default
    assignee; the priority defaults to the type's. The SLA clock starts now."""
    user = actor(request)
    data = body_data(payload, only_sent=False)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=data.pop("customer"))
    party_perms.require(perms.can_create_ticket(user, customer))
    _resolve_refs(data, user)
    ticket = services.ticket_create(actor=user, customer=customer, **data)
    return Status(201, _visible_ticket(user, ticket.pk))


@router.get("/tickets/{ticket_id}", response={200: TicketOut, 404: ErrorOut},
            summary="One ticket")
def get_ticket(request: HttpRequest, ticket_id: int):
    return _visible_ticket(actor(request), ticket_id)


@router.patch("/tickets/{ticket_id}", response={200: TicketOut, 409: ConflictOut,
                                                **WRITE_ERRORS},
              summary="Change a ticket's details (plus version)")
def patch_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatch):  # type: ignore[valid-type]
    """A new `type` re-routes the ticket to that type's queue; a new `priority`
    recomputes the SLA targets. Status, assignee and merges have their own routes."""
    user = actor(request)
    ticket = _visible_ticket(user, ticket_id)
    party_perms.require(perms.can_work_ticket(user, ticket))
    data = body_data(payload, only_sent=True)
    version = data.pop("version")
    _resolve_refs(data, user)
    services.ticket_update(actor=user, ticket=ticket, version=version, **data)
    return _visible_ticket(user, ticket_id)


@router.get("/tickets/{ticket_id}/messages", response={200: list[MessageOut], 404: ErrorOut},
            summary="The conversation of a ticket, oldest first (internal notes included)")
def list_messages(request: HttpRequest, ticket_id: int):
    ticket = _visible_ticket(actor(request), ticket_id)
    return list(selectors.conversation(ticket))


@router.post("/tickets/{ticket_id}/messages", response={201: MessageOut, **WRITE_ERRORS},
             summary="Add a reply, an internal note or a message from the customer")
def add_message(request: HttpRequest, ticket_id: int, payload: MessageIn):
    """A reply is e-mailed to the contact (else the customer) with the ticket reference
    in the subject, and the first one stops the first-response clock; `emailed_to` says
    where it went ("" when there is no address). Notes are never e-mailed."""
    user = actor(request)
    ticket = _visible_ticket(user, ticket_id)
    allowed = (perms.can_comment_ticket(user, ticket) if payload.kind == "note"
               else perms.can_work_ticket(user, ticket))
    party_perms.require(allowed)
    message = services.ticket_add_message(actor=user, ticket=ticket, kind=payload.kind,
                                          body=payload.body,
                                          time_spent_minutes=payload.time_spent_minutes)
    return Status(201, message)


@router.post("/tickets/{ticket_id}/assign", response={200: TicketOut, **WRITE_ERRORS},
             summary="Assign a ticket (optionally to another queue)")
def assign_ticket(request: HttpRequest, ticket_id: int, payload: AssignIn):
    user = actor(request)
    ticket = _visible_ticket(user, ticket_id)
    party_perms.require(perms.can_work_ticket(user, ticket))
    data = body_data(payload, only_sent=False)
    errors: dict[str, list[str]] = {}
    resolve_one(data, "assignee", User.objects.filter(is_active=True), errors)
    resolve_one(data, "queue", Queue.objects.all(), errors)
    if errors:
        raise ValidationError(errors)
    services.ticket_assign(actor=user, ticket=ticket, assignee=data["assignee"],
                           queue=data.get("queue"))
    return _visible_ticket(user, ticket_id)


@router.post("/tickets/{ticket_id}/status", response={200: TicketOut, **WRITE_ERRORS},
             summary="Change a ticket's status")
def set_ticket_status(request: HttpRequest, ticket_id: int, payload: StatusIn):
    """Allowed: new → open/pending/resolved/closed, open ↔ pending, open/pending →
    resolved/closed, resolved → closed, resolved/closed → open (reopen). Resolving (or
    closing an unresolved ticket) stops the SLA clock, schedules a complaint's follow-up
    and sends the satisfaction survey."""
    user = actor(request)
    ticket = _visible_ticket(user, ticket_id)
    party_perms.require(perms.can_work_ticket(user, ticket))
    services.ticket_set_status(actor=user, ticket=ticket, status=payload.status,
                               note=payload.note)
    return _visible_ticket(user, ticket_id)


@router.post("/tickets/{ticket_id}/merge", response={200: TicketOut, **WRITE_ERRORS},
             summary="Merge a duplicate ticket into another of the same customer")
def merge_ticket(request: HttpRequest, ticket_id: int, payload: MergeIn):
    """Messages, visits, time entries and surveys move to `into`; this ticket ends as
    "merged". The answer is the surviving ticket."""
    user = actor(request)
    source = _visible_ticket(user, ticket_id)
    party_perms.require(perms.can_work_ticket(user, source))
    target = _tickets(user).filter(pk=payload.into).first()
    if target is None:
        raise ValidationError({"into": [_("There is no record with id %(id)s here.")
                                        % {"id": payload.into}]})
    services.ticket_merge(actor=user, source=source, target=target)
    return _visible_ticket(user, target.pk)


# ================================================================ types and queues


@router.get("/ticket-types", response=list[TicketTypeOut], summary="Ticket types and "
            "the queue each routes to")
def list_ticket_types(request: HttpRequest, active: bool | None = None):
    qs = TicketType.objects.select_related("queue").order_by("order", "name")
    if active is not None:
        qs = qs.filter(active=active)
    return list(qs)


@router.get("/queues", response=list[QueueOut], summary="Department queues with their "
            "members and open tickets")
def list_queues(request: HttpRequest, active: bool | None = None):
    user = actor(request)
    counts = dict(Ticket.objects.visible_to(user).filter(status__in=OPEN_TICKET_STATUSES)
                  .order_by().values("queue").annotate(n=Count("id"))
                  .values_list("queue", "n"))
    qs = (Queue.objects.select_related("team", "manager").prefetch_related("members")
          .order_by("order", "name"))
    if active is not None:
        qs = qs.filter(active=active)
    queues = list(qs)
    for q in queues:
        q.open_count = counts.get(q.pk, 0)
    return queues
