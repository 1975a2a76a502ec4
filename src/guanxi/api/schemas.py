"""Schemas and helpers shared by the API routers of every app."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Generic, TypeVar

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, create_model

T = TypeVar("T")


def _aware(value: dt.datetime) -> dt.datetime:
    """Naive datetimes are read in the server's time zone (Asia/Shanghai by default)."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_current_timezone())
    return value


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(
        ..., description='Messages keyed by field, e.g. {"phone": ["…"], "custom.size": ["…"]}'
    )


class ConflictChange(Schema):
    actor: str
    at: dt.datetime
    action: str
    changes: dict[str, Any]


class ConflictOut(Schema):
    detail: str
    current_version: int
    theirs: list[ConflictChange] = Field(
        ...,
        description="The other change(s) saved since your version: who, when, field: [old, new].",
    )


class Page(Schema, Generic[T]):
    count: int
    next: str | None = Field(None, description="URL of the next page, or null.")
    previous: str | None = Field(None, description="URL of the previous page, or null.")
    items: list[T]


class WriteSchema(Schema):
    """Request bodies reject unknown fields: a misspelt field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def _fields_of(base: type[Schema]) -> dict[str, Any]:
    """Each field's annotation with its constraints (max length, validators) kept."""
    return {
        name: (Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation, f)
        for name, f in base.model_fields.items()
    }


def put_schema(base: type[WriteSchema], name: str) -> type[WriteSchema]:
    """PUT replaces the whole record: every field of `base` is required, plus `version`."""
    fields: dict[str, Any] = {
        key: (ann, Field(..., description=f.description))
        for key, (ann, f) in _fields_of(base).items()
    }
    fields["version"] = (int, Field(..., description="The version you loaded (conflict check)."))
    return create_model(name, __base__=base, **fields)  # type: ignore[call-overload]


def patch_schema(base: type[WriteSchema], name: str) -> type[WriteSchema]:
    """PATCH changes only the fields sent (same types, so null only where null is allowed)."""
    fields: dict[str, Any] = {
        # The default is never validated, so "not sent" is distinguishable from null.
        key: (ann, Field(None, description=f.description))
        for key, (ann, f) in _fields_of(base).items()
    }
    fields["version"] = (int, Field(..., description="The version you loaded (conflict check)."))
    return create_model(name, __base__=base, **fields)  # type: ignore[call-overload]


def plain(value: Any) -> Any:
    """Enum members (Django choices) as their plain values, recursively."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def body_data(payload: Schema, *, only_sent: bool) -> dict[str, Any]:
    """The fields of a request body as plain Python values for a service call."""
    data = payload.model_dump(exclude_unset=only_sent)
    return {k: plain(v) for k, v in data.items()}
