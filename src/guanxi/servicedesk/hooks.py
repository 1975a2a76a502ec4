"""What happens after a ticket reaches an end state, called by ticket services inside
their transaction (explicit calls, no signals)."""

from __future__ import annotations


def ticket_resolved(*, ticket, actor) -> None:
    """A ticket was resolved (or closed without being resolved first): complaints get
    their follow-up call, the customer gets the satisfaction survey."""
    from . import complaints, surveys

    complaints.on_resolved(ticket=ticket, actor=actor)
    surveys.on_resolved(ticket=ticket, actor=actor)
