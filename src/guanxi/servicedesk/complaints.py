"""Complaint handling: the hook ticket services call when a ticket is resolved.

The handling itself (severity, root cause, corrective action, follow-up outcome) lives
in complaint_services.py; the complaint rates in complaint_reports.py."""

from __future__ import annotations


def on_resolved(*, ticket, actor) -> None:
    """A complaint ticket was resolved: schedule the follow-up call (a call task for the
    customer's owner, due N business days after the resolution). Other tickets: nothing."""
    from .complaint_services import is_complaint, schedule_follow_up

    if is_complaint(ticket):
        schedule_follow_up(ticket=ticket, actor=actor)
