"""Small registries through which apps plug into the customer page without editing it.

timeline: providers of timeline entries (interactions now; deals, tickets, orders later).
panels:   panels on the customer 360 page (deals, tickets, orders, payments later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # a key such as "call", "visit", "ticket", "order"
    kind_label: str
    title: str
    body: str = ""
    actor: str = ""
    url: str = ""
    source: str = ""  # the provider's key
    extra: dict[str, Any] = field(default_factory=dict)


# A provider returns up to `limit` entries of `customer` strictly older than
# `before` (or the newest when None), newest first, filtered by `kinds` (None = all),
# for a user who may see the customer.
TimelineProvider = Callable[..., list[TimelineEntry]]


@dataclass(frozen=True)
class TimelineSource:
    key: str
    label: Any
    kinds: list[tuple[str, Any]]
    provider: TimelineProvider


_timeline: dict[str, TimelineSource] = {}


def register_timeline(source: TimelineSource) -> None:
    _timeline[source.key] = source


def timeline_sources() -> list[TimelineSource]:
    return list(_timeline.values())


def timeline_page(
    *, customer, user, before: dt.datetime | None = None, kinds: set[str] | None = None,
    limit: int = 20,
) -> tuple[list[TimelineEntry], dt.datetime | None]:
    """Merge every provider's newest entries; returns (entries, cursor for the next page)."""
    merged: list[TimelineEntry] = []
    for source in _timeline.values():
        wanted = None if kinds is None else {k for k, _ in source.kinds if k in kinds}
        if wanted is not None and not wanted:
            continue
        merged.extend(
            source.provider(customer=customer, user=user, before=before, kinds=wanted,
                            limit=limit + 1)
        )
    merged.sort(key=lambda e: e.at, reverse=True)
    page = merged[:limit]
    cursor = page[-1].at if len(merged) > limit and page else None
    return page, cursor


@dataclass(frozen=True)
class Panel:
    key: str
    title: Any
    template: str
    # context(customer, user) -> dict for the template; None hides the panel for that user.
    context: Callable[..., dict[str, Any] | None]
    order: int = 100


_panels: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    _panels[panel.key] = panel


def panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda p: p.order)
