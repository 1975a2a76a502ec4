"""Recording time spent serving a customer (the raw data of cost to serve)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from .models import Ticket, TimeEntry


def record_time(*, customer, user, kind: str, minutes: int, ticket=None, visit=None,
                on: dt.date | None = None) -> TimeEntry | None:
    """Add a time entry (no-op for 0 minutes) and keep the ticket's total current.
    Call inside the service's transaction."""
    if not minutes or minutes <= 0:
        return None
    entry = TimeEntry.objects.create(customer=customer, user=user, kind=kind,
                                     minutes=minutes, ticket=ticket, visit=visit,
                                     on=on or timezone.localdate())
    if ticket is not None:
        Ticket.all_objects.filter(pk=ticket.pk).update(
            time_spent_minutes=F("time_spent_minutes") + minutes)
    return entry
