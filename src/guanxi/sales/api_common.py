"""Pieces shared by the sales API modules (api.py, api_leads.py, api_forecast.py):
filters, the stage-gate and claim-limit error shapes, small body schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status
from pydantic import StringConstraints

from guanxi.accounts.models import Team, User
from guanxi.api.schemas import ErrorOut, ValidationErrorOut, WriteSchema

Str3 = Annotated[str, StringConstraints(max_length=3)]
Str50 = Annotated[str, StringConstraints(max_length=50)]
Str100 = Annotated[str, StringConstraints(max_length=100)]
Str200 = Annotated[str, StringConstraints(max_length=200)]

WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


def name_of(user) -> str:
    return str(user) if user is not None else ""


def owner_param() -> Any:
    return Field(None, pattern=r"^(\d+|me|none)$",
                 description='Owner\'s user id, "me", or "none" (no owner: the pool).')


def owner_filter(qs: QuerySet, owner: str | None, user) -> QuerySet:
    """owner=<id> | me | none (no owner)."""
    if owner == "none":
        return qs.filter(owner__isnull=True)
    if owner == "me":
        return qs.filter(owner_id=user.pk)
    if owner is not None:
        return qs.filter(owner_id=int(owner))
    return qs


def team_filter(qs: QuerySet, team_id: int | None) -> QuerySet:
    """team=<id>: the team and its sub-teams."""
    if team_id is None:
        return qs
    team = Team.objects.filter(pk=team_id).first()
    return qs.filter(team_id__in=team.subtree_ids() if team else [])


def active_user(user_id: int, field: str) -> User:
    """An active user by id, else a 422 keyed by `field`."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError({field: [_("There is no record with id %(id)s here.")
                                       % {"id": user_id}]})
    return user


# ---------------------------------------------------------------- stage gates


class StageGateOut(ValidationErrorOut):
    missing: list[str] = Field(..., description="What to do before the deal may enter the "
                                                "stage, in words (empty for other errors).")
    stage: int | None = Field(None, description="The stage that was refused.")


def gate_response(exc: Any) -> Status:
    """A StageGateError as 422 {detail, errors: {stage: missing}, missing, stage}."""
    return Status(422, {
        "detail": exc.messages[0],
        "errors": {"stage": list(exc.missing)},
        "missing": list(exc.missing),
        "stage": exc.stage.pk,
    })


# ---------------------------------------------------------------- the pool


class ClaimLimitOut(Schema):
    detail: str
    claimed_today: int = Field(..., description="Customers and leads you claimed today.")
    limit: int = Field(..., description="The pool's daily claim limit.")


CLAIM_ERRORS = {429: ClaimLimitOut, **WRITE_ERRORS}
CLAIM_DOC = (
    "Over the pool's daily claim limit (customers and leads count together) the answer "
    "is **429** with `claimed_today`, `limit` and a `Retry-After` header (seconds until "
    "local midnight, when the count starts again); nothing is written. A record that "
    "already has an owner answers 422."
)


def seconds_to_midnight() -> int:
    local = timezone.localtime()
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(),
                                   tzinfo=local.tzinfo)
    return max(int((midnight - local).total_seconds()), 1)


def claim_limit_response(exc: ValidationError, response: HttpResponse) -> Status | None:
    """The daily claim limit as 429 with Retry-After; None for any other error."""
    if getattr(exc, "code", None) != "claim_limit":
        return None
    params = getattr(exc, "params", None) or {}
    response["Retry-After"] = str(seconds_to_midnight())
    return Status(429, {"detail": exc.messages[0], "claimed_today": params.get("n", 0),
                        "limit": params.get("limit", 0)})


class ReleaseIn(WriteSchema):
    note: Str200 = Field("", description="Why it goes back to the pool.")


class AssignOut(Schema):
    changed: int = Field(..., description="How many changed owner (all or nothing).")
