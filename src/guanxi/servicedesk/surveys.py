"""Satisfaction surveys (stub: filled by the satisfaction work)."""

from __future__ import annotations


def on_resolved(*, ticket, actor) -> None:
    """A ticket was resolved: send the customer the one-click CSAT survey."""
