"""REST API of interactions (calls, visits, e-mails… on a customer's timeline).

Mounted under /api/v1/ by guanxi.api. Reads start from `.visible_to(user)`;
writes call the services; a customer the user may not see answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from guanxi.accounts.models import User
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
from guanxi.parties import permissions as perms
from guanxi.parties.models import Contact, Customer

from . import services
from .models import Channel, Direction, Interaction, InteractionKind, Outcome

router = Router()

Subject = Annotated[str, StringConstraints(max_length=200)]


class InteractionFields(WriteSchema):
    kind: InteractionKind = InteractionKind.CALL
    direction: Direction = Direction.OUTBOUND
    channel: Channel | Literal[""] = Field("", description="Empty: the kind's usual channel.")
    occurred_at: AwareDatetime = Field(default_factory=timezone.now,
                                       description="Naive times are read as server time.")
    subject: Subject = Field("", description="Empty: the kind's name.")
    body: str = ""
    outcome: Outcome | Literal[""] = ""
    duration_minutes: int | None = Field(None, ge=0)
    next_step: Subject = ""
    follow_up_on: dt.date | None = None
    follow_up_done: bool = False
    contact: int | None = Field(None, description="Contact id (of the same customer).")
    participant_users: list[int] = Field(default_factory=list, description="User ids.")
    participant_contacts: list[int] = Field(default_factory=list,
                                            description="Contact ids (of the same customer).")


class InteractionIn(InteractionFields):
    customer: int = Field(..., description="Customer id.")


InteractionPut = put_schema(InteractionFields, "InteractionPut")
InteractionPatch = patch_schema(InteractionFields, "InteractionPatch")


class InteractionOut(Schema):
    id: int
    customer: int
    customer_name: str
    contact: int | None
    contact_name: str
    kind: str
    direction: str
    channel: str
    occurred_at: dt.datetime
    subject: str
    body: str
    outcome: str
    duration_minutes: int | None
    next_step: str
    follow_up_on: dt.date | None
    follow_up_done: bool
    created_by: int | None
    created_by_name: str
    participant_users: list[int]
    participant_contacts: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_customer(obj: Interaction) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Interaction) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_contact(obj: Interaction) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_contact_name(obj: Interaction) -> str:
        return obj.contact.name if obj.contact_id else ""

    @staticmethod
    def resolve_created_by(obj: Interaction) -> int | None:
        return obj.created_by_id

    @staticmethod
    def resolve_created_by_name(obj: Interaction) -> str:
        return str(obj.created_by) if obj.created_by_id else ""

    @staticmethod
    def resolve_participant_users(obj: Interaction) -> list[int]:
        return sorted(u.pk for u in obj.participant_users.all())

    @staticmethod
    def resolve_participant_contacts(obj: Interaction) -> list[int]:
        return sorted(c.pk for c in obj.participant_contacts.all())


INTERACTION_ORDERING = Literal[
    "occurred_at", "-occurred_at", "follow_up_on", "-follow_up_on", "created_at", "-created_at",
]


class InteractionFilters(PageQuery):
    customer: int | None = Field(None, description="Customer id.")
    contact: int | None = Field(None, description="Contact id.")
    kind: InteractionKind | None = None
    created_by: int | None = Field(None, description="User id of who logged it.")
    since: AwareDatetime | None = Field(None, description="occurred_at ≥ since")
    until: AwareDatetime | None = Field(None, description="occurred_at < until")
    follow_up_due: bool | None = Field(
        None, description="true: open follow-ups due today or earlier; false: everything else."
    )
    ordering: INTERACTION_ORDERING = "-occurred_at"


def _interactions(user) -> QuerySet:
    return (Interaction.objects.visible_to(user)
            .select_related("customer", "contact", "created_by")
            .prefetch_related("participant_users", "participant_contacts"))


def _visible_interaction(user, interaction_id: int) -> Interaction:
    return get_object_or_404(_interactions(user), pk=interaction_id)


def _filter(qs: QuerySet, f: InteractionFilters) -> QuerySet:
    for field in ("customer", "contact", "created_by"):
        value = getattr(f, field)
        if value is not None:
            qs = qs.filter(**{f"{field}_id": value})
    if f.kind is not None:
        qs = qs.filter(kind=f.kind.value)
    if f.since is not None:
        qs = qs.filter(occurred_at__gte=f.since)
    if f.until is not None:
        qs = qs.filter(occurred_at__lt=f.until)
    if f.follow_up_due is not None:
        due = Q(follow_up_done=False, follow_up_on__lte=timezone.localdate())
        qs = qs.filter(due) if f.follow_up_due else qs.exclude(due)
    return qs.order_by(f.ordering, "-id" if f.ordering.startswith("-") else "id")


def _refs(data: dict[str, Any], customer: Customer) -> None:
    """Contacts must belong to the interaction's customer; colleagues be active users."""
    errors: dict[str, list[str]] = {}
    contacts = Contact.objects.filter(customer=customer)
    resolve_one(data, "contact", contacts, errors)
    resolve_many(data, "participant_contacts", contacts, errors)
    resolve_many(data, "participant_users", User.objects.filter(is_active=True), errors)
    if errors:
        raise ValidationError(errors)


def _update(request: HttpRequest, interaction_id: int, payload: Any, *,
            partial: bool) -> Interaction:
    user = actor(request)
    interaction = _visible_interaction(user, interaction_id)
    perms.require(services.can_edit_interaction(user, interaction))
    data = body_data(payload, only_sent=partial)
    version = data.pop("version")
    _refs(data, interaction.customer)
    return services.interaction_update(actor=user, interaction=interaction, version=version,
                                       **data)


WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


@router.get("/interactions", response=Page[InteractionOut], tags=["interactions"],
            summary="List interactions")
def list_interactions(request: HttpRequest, filters: Query[InteractionFilters]):
    return paginate(request, _filter(_interactions(actor(request)), filters), filters)


@router.post("/interactions", response={201: InteractionOut, **WRITE_ERRORS},
             tags=["interactions"], summary="Log an interaction on a customer's timeline")
def create_interaction(request: HttpRequest, payload: InteractionIn):
    user = actor(request)
    data = body_data(payload, only_sent=True)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=data.pop("customer"))
    perms.require(perms.can_log_interaction(user, customer))
    _refs(data, customer)
    return Status(201, services.interaction_create(actor=user, customer=customer, **data))


@router.get("/interactions/{interaction_id}", response={200: InteractionOut, 404: ErrorOut},
            tags=["interactions"], summary="One interaction")
def get_interaction(request: HttpRequest, interaction_id: int):
    return _visible_interaction(actor(request), interaction_id)


@router.put("/interactions/{interaction_id}",
            response={200: InteractionOut, 409: ConflictOut, **WRITE_ERRORS},
            tags=["interactions"], summary="Replace an interaction (every field, plus version)")
def put_interaction(request: HttpRequest, interaction_id: int, payload: InteractionPut):  # type: ignore[valid-type]
    return _update(request, interaction_id, payload, partial=False)


@router.patch("/interactions/{interaction_id}",
              response={200: InteractionOut, 409: ConflictOut, **WRITE_ERRORS},
              tags=["interactions"], summary="Change some fields of an interaction (plus version)")
def patch_interaction(request: HttpRequest, interaction_id: int, payload: InteractionPatch):  # type: ignore[valid-type]
    return _update(request, interaction_id, payload, partial=True)


@router.delete("/interactions/{interaction_id}",
               response={204: None, 403: ErrorOut, 404: ErrorOut},
               tags=["interactions"], summary="Move an interaction to the recycle bin")
def delete_interaction(request: HttpRequest, interaction_id: int):
    user = actor(request)
    services.interaction_delete(actor=user, interaction=_visible_interaction(user, interaction_id))
    return Status(204, None)
