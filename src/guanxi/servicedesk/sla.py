"""SLA clock of a ticket (stub: the SLA work fills it in; keep the signatures).

Every function changes the ticket in memory only; the caller saves it."""

from __future__ import annotations

import datetime as dt


def start(ticket, now: dt.datetime) -> None:
    """Pick the policy for the customer's tier and the ticket's priority and set
    first_response_due_at and resolution_due_at from `now` in business hours."""


def reprioritise(ticket, now: dt.datetime) -> None:
    """The priority (or tier) changed: recompute the targets from ticket.created_at."""


def record_response(ticket, now: dt.datetime) -> None:
    """The first reply to the customer: set first_responded_at (once) and
    response_breached."""


def record_resolution(ticket, now: dt.datetime) -> None:
    """The ticket is resolved: set resolved_at and resolution_breached."""
