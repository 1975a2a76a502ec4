"""Field service and installed equipment on the customer page: the "Installed
equipment" panel and a timeline source for on-site visits (booked, reported)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import (
    Panel,
    TimelineEntry,
    TimelineSource,
    register_panel,
    register_timeline,
)

KIND = "field"
PANEL_LIMIT = 10


# ---------------------------------------------------------------- panel


def _assets_context(customer, user) -> dict[str, Any] | None:
    from .asset_services import may_edit_asset, warranty_state
    from .models import OPEN_TICKET_STATUSES, Asset

    qs = (Asset.objects.visible_to(user).filter(customer=customer)
          .select_related("product")
          .annotate(open_tickets=Count("tickets", filter=Q(
              tickets__status__in=OPEN_TICKET_STATUSES, tickets__deleted_at__isnull=True)))
          .order_by("status", "name", "id"))
    assets = list(qs[:PANEL_LIMIT + 1])
    today = timezone.localdate()
    for a in assets:
        a.warranty = warranty_state(a, today)
    return {"assets": assets[:PANEL_LIMIT], "more": len(assets) > PANEL_LIMIT,
            "can_add_asset": may_edit_asset(user, customer)}


register_panel(Panel(key="assets", title=gettext_lazy("Installed equipment"),
                     template="servicedesk/partials/asset_panel.html",
                     context=_assets_context, order=45))


# ---------------------------------------------------------------- timeline


def _when(value) -> str:
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def visit_entries(*, customer, user, before=None, kinds=None, limit=20) -> list[TimelineEntry]:
    """A visit booked (when it was booked) and a visit reported (when it was filed)."""
    from .models import FieldVisit, VisitStatus

    if kinds is not None and KIND not in kinds:
        return []
    qs = FieldVisit.objects.filter(customer=customer).select_related(
        "technician", "created_by", "ticket")
    booked = qs.order_by("-created_at", "-id")
    done = qs.filter(status=VisitStatus.DONE, completed_at__isnull=False).order_by(
        "-completed_at", "-id")
    if before is not None:
        booked = booked.filter(created_at__lt=before)
        done = done.filter(completed_at__lt=before)
    label = _("field visit")
    entries = []
    for v in booked[:limit]:
        title = _("On-site visit booked for %(when)s (%(ref)s)") % {
            "when": _when(v.scheduled_start), "ref": v.ticket.reference}
        if v.status == VisitStatus.CANCELLED:
            title += " · " + _("cancelled")
        entries.append(TimelineEntry(
            at=v.created_at, kind=KIND, kind_label=label, title=title,
            body=_("Technician: %(tech)s") % {"tech": v.technician},
            actor=str(v.created_by) if v.created_by else "",
            url=reverse("field:visit_detail", args=[v.pk]), source="field",
            extra={"visit": v}))
    for v in done[:limit]:
        entries.append(TimelineEntry(
            at=v.completed_at, kind=KIND, kind_label=label,
            title=_("Visit report: %(outcome)s (%(ref)s)") % {
                "outcome": v.get_outcome_display(), "ref": v.ticket.reference},
            body=v.work_done, actor=str(v.technician),
            url=reverse("field:visit_detail", args=[v.pk]), source="field",
            extra={"visit": v}))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


register_timeline(TimelineSource(key="field", label=gettext_lazy("Field service"),
                                 kinds=[(KIND, gettext_lazy("field visit"))],
                                 provider=visit_entries))
