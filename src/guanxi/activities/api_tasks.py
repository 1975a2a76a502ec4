"""REST API of tasks and appointments (mounted under /api/v1/ by guanxi.api).

Reads start from `Task.objects.visible_to(user)` (invisible ⇒ 404); every write calls
activities.task_services, which checks permissions before writing and audits the
change (on the customer's timeline when the task is on a customer). Completing a
call, visit, meeting or e-mail task on a customer logs the interaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from guanxi.accounts.models import User
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
    put_schema,
)
from guanxi.parties.models import Contact, Customer

from . import task_services as services
from .models import Outcome, Recurrence, Task, TaskKind, TaskStatus

router = Router()

Str200 = Annotated[str, StringConstraints(max_length=200)]
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
LINKS = ("customer", "lead", "opportunity")


# ---------------------------------------------------------------- schemas


class TaskFields(WriteSchema):
    title: Str200
    kind: TaskKind = TaskKind.TODO
    assignee: int | None = Field(None, description="User id; on create, not sent: you.")
    due_at: AwareDatetime = Field(..., description="Due, or the start of an appointment. "
                                                   "Naive times are read as server time.")
    end_at: AwareDatetime | None = Field(None, description="Set for an appointment.")
    all_day: bool = False
    location: Str200 = ""
    notes: str = ""
    remind_minutes_before: int | None = Field(None, ge=0)
    recurrence: Recurrence = Recurrence.NONE
    recurrence_interval: int = Field(1, ge=1)
    recurrence_until: dt.date | None = None
    customer: int | None = Field(None, description="Customer id (a deal's task takes the "
                                                   "deal's customer).")
    contact: int | None = Field(None, description="Contact id (of the task's customer).")
    lead: int | None = Field(None, description="Lead id (a task is on a customer or a lead).")
    opportunity: int | None = Field(None, description="Opportunity id.")


TaskPut = put_schema(TaskFields, "TaskPut")
TaskPatch = patch_schema(TaskFields, "TaskPatch")


class TaskCompleteIn(WriteSchema):
    outcome: Outcome | Literal[""] = ""
    notes: str = Field("", description="Added to the task's notes and the logged interaction.")
    log_interaction: bool = Field(True, description="A call, visit, meeting or e-mail task on "
                                                    "a customer logs the interaction.")


class TaskCancelIn(WriteSchema):
    stop_series: bool = Field(False, description="End a repeating task's series here.")


class TaskOut(Schema):
    id: int
    title: str
    kind: str
    status: str
    assignee: int
    assignee_name: str
    created_by: int | None
    due_at: dt.datetime
    end_at: dt.datetime | None
    all_day: bool
    location: str
    notes: str
    remind_minutes_before: int | None
    remind_at: dt.datetime | None
    recurrence: str
    recurrence_interval: int
    recurrence_until: dt.date | None
    series: int | None
    customer: int | None
    customer_name: str
    contact: int | None
    lead: int | None
    opportunity: int | None
    done_at: dt.datetime | None
    outcome: str
    interaction: int | None = Field(..., description="The interaction logged on completion.")
    next_occurrence: int | None = Field(
        None, description="After complete/cancel of a repeating task: the next one's id.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_assignee(obj: Task) -> int:
        return obj.assignee_id

    @staticmethod
    def resolve_assignee_name(obj: Task) -> str:
        return str(obj.assignee)

    @staticmethod
    def resolve_created_by(obj: Task) -> int | None:
        return obj.created_by_id

    @staticmethod
    def resolve_series(obj: Task) -> int | None:
        return obj.series_id

    @staticmethod
    def resolve_customer(obj: Task) -> int | None:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Task) -> str:
        return obj.customer.name if obj.customer_id else ""

    @staticmethod
    def resolve_contact(obj: Task) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_lead(obj: Task) -> int | None:
        return obj.lead_id

    @staticmethod
    def resolve_opportunity(obj: Task) -> int | None:
        return obj.opportunity_id

    @staticmethod
    def resolve_interaction(obj: Task) -> int | None:
        return obj.interaction_id

    @staticmethod
    def resolve_next_occurrence(obj: Task) -> int | None:
        nxt = getattr(obj, "next_occurrence", None)
        return nxt.pk if nxt is not None else None


TASK_ORDERING = Literal["due_at", "-due_at", "updated_at", "-updated_at", "created_at",
                        "-created_at"]


class TaskFilters(PageQuery):
    assignee: str | None = Field(None, pattern=r"^(\d+|me)$",
                                 description='Assignee\'s user id or "me".')
    status: TaskStatus | None = None
    kind: TaskKind | None = None
    customer: int | None = Field(None, description="Customer id.")
    lead: int | None = Field(None, description="Lead id.")
    opportunity: int | None = Field(None, description="Opportunity id.")
    due_from: AwareDatetime | None = Field(None, description="due_at ≥ this time")
    due_until: AwareDatetime | None = Field(None, description="due_at < this time")
    overdue: bool | None = Field(None, description="true: open and due before now.")
    updated_since: AwareDatetime | None = None
    ordering: TASK_ORDERING = "due_at"


# ---------------------------------------------------------------- helpers


def _tasks(user) -> QuerySet:
    return Task.objects.visible_to(user).select_related("assignee", "customer")


def _visible_task(user, task_id: int) -> Task:
    return get_object_or_404(_tasks(user), pk=task_id)


def _filter(qs: QuerySet, f: TaskFilters, user) -> QuerySet:
    if f.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif f.assignee is not None:
        qs = qs.filter(assignee_id=int(f.assignee))
    if f.status is not None:
        qs = qs.filter(status=f.status.value)
    if f.kind is not None:
        qs = qs.filter(kind=f.kind.value)
    for field in LINKS:
        value = getattr(f, field)
        if value is not None:
            qs = qs.filter(**{f"{field}_id": value})
    if f.due_from is not None:
        qs = qs.filter(due_at__gte=f.due_from)
    if f.due_until is not None:
        qs = qs.filter(due_at__lt=f.due_until)
    if f.overdue is not None:
        late = Q(status=TaskStatus.OPEN, due_at__lt=timezone.now())
        qs = qs.filter(late) if f.overdue else qs.exclude(late)
    if f.updated_since is not None:
        qs = qs.filter(updated_at__gte=f.updated_since)
    return qs.order_by(f.ordering, "-id" if f.ordering.startswith("-") else "id")


def _visible_link(user, field: str, pk: int):
    """A linked customer, lead or opportunity the user may not see answers 404."""
    from guanxi.sales.models import Lead, Opportunity

    model = {"customer": Customer, "lead": Lead, "opportunity": Opportunity}[field]
    return get_object_or_404(model.objects.visible_to(user), pk=pk)


def _refs(user, data: dict[str, Any], task: Task | None = None) -> None:
    """Ids in the body → records. Links the user may not see are 404 (only links that
    change are looked up, so an old link stays as it is)."""
    for field in LINKS:
        value = data.get(field)
        if value is None:
            continue
        if task is not None and getattr(task, f"{field}_id") == value:
            data[field] = getattr(task, field)
        else:
            data[field] = _visible_link(user, field, value)
    errors: dict[str, list[str]] = {}
    customer = data.get("customer", task.customer if task is not None else None)
    opp = data.get("opportunity")
    if customer is None and opp is not None:
        customer = opp.customer
    contacts = (Contact.objects.filter(customer=customer) if customer is not None
                else Contact.objects.none())
    resolve_one(data, "contact", contacts, errors)
    resolve_one(data, "assignee", User.objects.filter(is_active=True), errors)
    if errors:
        raise ValidationError(errors)


def _require_edit(user, task: Task) -> None:
    if not services.can_edit_task(user, task):
        raise PermissionDenied(_("You may not change this task."))


def _update(request: HttpRequest, task_id: int, payload: Any, *, partial: bool) -> Task:
    user = actor(request)
    task = _visible_task(user, task_id)
    _require_edit(user, task)
    data = body_data(payload, only_sent=partial)
    version = data.pop("version")
    if data.get("assignee", 0) is None:
        data.pop("assignee")  # a task always has an assignee: null keeps the current one
    _refs(user, data, task)
    services.task_update(actor=user, task=task, version=version, **data)
    return _visible_task(user, task_id)


# ---------------------------------------------------------------- routes


@router.get("/tasks", response=Page[TaskOut], tags=["tasks"],
            summary="List tasks and appointments")
def list_tasks(request: HttpRequest, filters: Query[TaskFilters]):
    """Your own tasks (assigned or created) and those on customers and leads you can see."""
    user = actor(request)
    return paginate(request, _filter(_tasks(user), filters, user), filters)


@router.post("/tasks", response={201: TaskOut, **WRITE_ERRORS}, tags=["tasks"],
             summary="Create a task or appointment")
def create_task(request: HttpRequest, payload: TaskFields):
    user = actor(request)
    if not services.can_create_task(user):
        raise PermissionDenied(_("You may not create tasks."))
    data = body_data(payload, only_sent=True)
    if data.get("assignee", 0) is None:
        data.pop("assignee")
    _refs(user, data)
    task = services.task_create(actor=user, **data)
    return Status(201, _visible_task(user, task.pk))


@router.get("/tasks/{task_id}", response={200: TaskOut, 404: ErrorOut}, tags=["tasks"],
            summary="One task")
def get_task(request: HttpRequest, task_id: int):
    return _visible_task(actor(request), task_id)


@router.put("/tasks/{task_id}", response={200: TaskOut, 409: ConflictOut, **WRITE_ERRORS},
            tags=["tasks"], summary="Replace a task (every field, plus version)")
def put_task(request: HttpRequest, task_id: int, payload: TaskPut):  # type: ignore[valid-type]
    return _update(request, task_id, payload, partial=False)


@router.patch("/tasks/{task_id}", response={200: TaskOut, 409: ConflictOut, **WRITE_ERRORS},
              tags=["tasks"], summary="Change some fields of a task (plus version)")
def patch_task(request: HttpRequest, task_id: int, payload: TaskPatch):  # type: ignore[valid-type]
    return _update(request, task_id, payload, partial=True)


@router.delete("/tasks/{task_id}", response={204: None, 403: ErrorOut, 404: ErrorOut},
               tags=["tasks"], summary="Move a task to the recycle bin")
def delete_task(request: HttpRequest, task_id: int):
    user = actor(request)
    services.task_delete(actor=user, task=_visible_task(user, task_id))
    return Status(204, None)


@router.post("/tasks/{task_id}/complete", response={200: TaskOut, **WRITE_ERRORS},
             tags=["tasks"], summary="Mark a task done (logs the call, visit… it was)")
def complete_task(request: HttpRequest, task_id: int, payload: TaskCompleteIn):
    """A call, visit, meeting or e-mail task on a customer logs the interaction (subject =
    title, with the outcome), returned as `interaction`; a repeating task creates the
    next occurrence (`next_occurrence`)."""
    user = actor(request)
    task = _visible_task(user, task_id)
    _require_edit(user, task)
    done = services.task_complete(actor=user, task=task, outcome=str(payload.outcome or ""),
                                  notes=payload.notes, log_interaction=payload.log_interaction)
    out = _visible_task(user, task_id)
    out.next_occurrence = getattr(done, "next_occurrence", None)  # type: ignore[attr-defined]
    return out


@router.post("/tasks/{task_id}/cancel", response={200: TaskOut, **WRITE_ERRORS},
             tags=["tasks"], summary="Cancel an open task")
def cancel_task(request: HttpRequest, task_id: int, payload: TaskCancelIn):
    user = actor(request)
    task = _visible_task(user, task_id)
    _require_edit(user, task)
    done = services.task_cancel(actor=user, task=task, stop_series=payload.stop_series)
    out = _visible_task(user, task_id)
    out.next_occurrence = getattr(done, "next_occurrence", None)  # type: ignore[attr-defined]
    return out
