"""Opportunities on the customer's timeline: created, each stage change, won / lost."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import TimelineEntry, TimelineSource, register_timeline

KIND = "deal"


def stage_entries(*, customer, user, before=None, kinds=None, limit=20):
    from .models import StageChange

    if kinds is not None and KIND not in kinds:
        return []
    qs = (StageChange.objects.filter(opportunity__customer=customer,
                                     opportunity__deleted_at__isnull=True)
          .select_related("opportunity", "from_stage", "to_stage", "by")
          .order_by("-at", "-id"))
    if before is not None:
        qs = qs.filter(at__lt=before)
    out = []
    for ch in qs[:limit]:
        deal = ch.opportunity
        if ch.from_stage is None:
            title = _("Opportunity “%(name)s” opened at %(stage)s") % {
                "name": deal.name, "stage": ch.to_stage.name}
        else:
            title = _("Opportunity “%(name)s”: %(old)s → %(new)s") % {
                "name": deal.name, "old": ch.from_stage.name, "new": ch.to_stage.name}
        out.append(TimelineEntry(at=ch.at, kind=KIND, kind_label=_("opportunity"), title=title,
                                 body="", actor=str(ch.by) if ch.by else "",
                                 source="sales", extra={"opportunity": deal}))
    return out


register_timeline(TimelineSource(key="sales", label=gettext_lazy("Opportunities"),
                                 kinds=[(KIND, gettext_lazy("opportunity"))],
                                 provider=stage_entries))
