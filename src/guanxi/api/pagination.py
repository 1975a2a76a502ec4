"""Limit/offset pagination: {"count", "next", "previous", "items"}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema

MAX_LIMIT = 200
DEFAULT_LIMIT = min(getattr(settings, "GUANXI_PAGE_SIZE", 50), MAX_LIMIT)


class PageQuery(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size (at most 200).")
    offset: int = Field(0, ge=0, description="How many items to skip.")


def _page_url(request: HttpRequest, offset: int, limit: int) -> str:
    query = request.GET.copy()
    query["offset"] = str(offset)
    query["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def paginate(request: HttpRequest, qs: QuerySet, page: PageQuery) -> dict[str, Any]:
    count = qs.count()
    limit, offset = page.limit, page.offset
    items = list(qs[offset:offset + limit])
    return {
        "count": count,
        "next": _page_url(request, offset + limit, limit) if offset + limit < count else None,
        "previous": _page_url(request, max(offset - limit, 0), limit) if offset > 0 else None,
        "items": items,
    }
