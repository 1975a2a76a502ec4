"""Complaint handling (stub: filled by the complaints work)."""

from __future__ import annotations


def on_resolved(*, ticket, actor) -> None:
    """A complaint ticket was resolved: schedule the follow-up call."""
