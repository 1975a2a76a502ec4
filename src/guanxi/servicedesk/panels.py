"""The "Service tickets" panel on the customer page: open tickets with their status,
priority and SLA state, how many are closed, and a link to open a new one."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.registry import Panel, register_panel

PANEL_LIMIT = 10


def _context(customer, user) -> dict[str, Any] | None:
    from . import permissions as perms
    from . import selectors
    from .models import OPEN_TICKET_STATUSES, Ticket, TicketStatus

    qs = Ticket.objects.visible_to(user).filter(customer=customer)
    now = timezone.now()
    open_tickets = list(qs.filter(status__in=OPEN_TICKET_STATUSES)
                        .select_related("type", "queue", "assignee")
                        .order_by("-created_at", "-id")[:PANEL_LIMIT + 1])
    for t in open_tickets:
        t.sla_state = selectors.sla_state(t, now)
        t.due = selectors.next_due(t)
    closed = qs.filter(status__in=(TicketStatus.RESOLVED, TicketStatus.CLOSED)).count()
    return {
        "open_tickets": open_tickets[:PANEL_LIMIT],
        "more_open": len(open_tickets) > PANEL_LIMIT,
        "closed_count": closed,
        "can_create_ticket": customer.deleted_at is None
        and perms.can_create_ticket(user, customer),
    }


register_panel(Panel(key="tickets", title=_("Service tickets"),
                     template="servicedesk/partials/ticket_panel.html", context=_context,
                     order=30))
