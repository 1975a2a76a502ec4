"""SLA clock of a ticket: targets in business hours (see calendar.py).

Every function changes the ticket in memory only; the caller saves it. The policy is
the one for (customer tier, priority), else the "any tier" one ("", priority); without
a policy the ticket has no targets. Warnings and escalation on breach are the
scheduler's job (sla_services.py).
"""

from __future__ import annotations

import datetime as dt

from .calendar import add_business_hours


def policy_for(tier: str, priority: str):
    """The active SlaPolicy for a customer tier and a priority (tier-specific first)."""
    from .models import SlaPolicy

    rows = {p.tier: p for p in SlaPolicy.objects.filter(active=True, priority=priority,
                                                         tier__in={tier or "", ""})}
    return rows.get(tier or "") or rows.get("")


def _targets(ticket, now: dt.datetime) -> None:
    tier = ticket.customer.tier if ticket.customer_id else ""
    policy = policy_for(tier, ticket.priority)
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    base = ticket.created_at or now
    ticket.first_response_due_at = add_business_hours(base, policy.first_response_hours)
    ticket.resolution_due_at = add_business_hours(base, policy.resolution_hours)


def start(ticket, now: dt.datetime) -> None:
    """Pick the policy for the customer's tier and the ticket's priority and set
    first_response_due_at and resolution_due_at from `now` in business hours."""
    _targets(ticket, now)
    ticket.response_warned_at = ticket.resolution_warned_at = None
    ticket.response_breached = ticket.resolution_breached = False


def reprioritise(ticket, now: dt.datetime) -> None:
    """The priority (or tier) changed: recompute the targets from ticket.created_at.

    A target that now lies in the future is armed again (its warning and breach flags
    are cleared, so the scheduler warns and escalates against the new target); a target
    already met keeps its outcome, measured against the new due time."""
    _targets(ticket, now)
    due = ticket.first_response_due_at
    if ticket.first_responded_at is not None:
        ticket.response_breached = bool(due and ticket.first_responded_at > due)
    elif due is None or due > now:
        ticket.response_breached = False
        ticket.response_warned_at = None
    due = ticket.resolution_due_at
    if ticket.resolved_at is not None and not ticket.is_open:
        ticket.resolution_breached = bool(due and ticket.resolved_at > due)
    elif due is None or due > now:
        ticket.resolution_breached = False
        ticket.resolution_warned_at = None


def record_response(ticket, now: dt.datetime) -> None:
    """The first reply to the customer: set first_responded_at (once) and
    response_breached."""
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = now
    due = ticket.first_response_due_at
    ticket.response_breached = bool(ticket.response_breached or (due and now > due))


def record_resolution(ticket, now: dt.datetime) -> None:
    """The ticket is resolved: set resolved_at and resolution_breached (a breach already
    flagged by the scheduler stays)."""
    ticket.resolved_at = now
    due = ticket.resolution_due_at
    ticket.resolution_breached = bool(ticket.resolution_breached or (due and now > due))
