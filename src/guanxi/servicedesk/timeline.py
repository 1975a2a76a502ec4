"""Tickets on the customer's timeline: when each was opened and when it was resolved
(a merged duplicate says where it went)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import TimelineEntry, TimelineSource, register_timeline

KIND = "ticket"


def _url(ticket) -> str:
    return reverse("service:ticket_detail", args=[ticket.pk])


def ticket_entries(*, customer, user, before=None, kinds=None, limit=20):
    from .models import Ticket, TicketStatus

    if kinds is not None and KIND not in kinds:
        return []
    base = (Ticket.objects.filter(customer=customer)
            .select_related("type", "queue", "created_by", "merged_into"))
    opened = base.order_by("-created_at", "-id")
    resolved = base.filter(resolved_at__isnull=False).order_by("-resolved_at", "-id")
    if before is not None:
        opened = opened.filter(created_at__lt=before)
        resolved = resolved.filter(resolved_at__lt=before)
    out = []
    for t in opened[:limit]:
        title = _("Ticket %(ref)s opened: %(subject)s") % {"ref": t.reference,
                                                          "subject": t.subject}
        body = _("%(type)s · %(queue)s") % {"type": t.type.name, "queue": t.queue.name}
        if t.status == TicketStatus.MERGED and t.merged_into_id:
            body += " · " + _("merged into %(ref)s") % {"ref": t.merged_into.reference}
        out.append(TimelineEntry(at=t.created_at, kind=KIND, kind_label=_("ticket"),
                                 title=title, body=body,
                                 actor=str(t.created_by) if t.created_by else "",
                                 url=_url(t), source="tickets",
                                 extra={"ticket": t, "event": "opened"}))
    for t in resolved[:limit]:
        title = _("Ticket %(ref)s resolved: %(subject)s") % {"ref": t.reference,
                                                            "subject": t.subject}
        out.append(TimelineEntry(at=t.resolved_at, kind=KIND, kind_label=_("ticket"),
                                 title=title, body=t.get_status_display(),
                                 url=_url(t), source="tickets",
                                 extra={"ticket": t, "event": "resolved"}))
    out.sort(key=lambda e: e.at, reverse=True)
    return out[:limit]


register_timeline(TimelineSource(key="tickets", label=gettext_lazy("Service tickets"),
                                 kinds=[(KIND, gettext_lazy("ticket"))],
                                 provider=ticket_entries))
