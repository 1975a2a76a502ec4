"""Lead conversions on the customer's timeline: "customer created from lead …" or
"lead … added to this customer" (the opportunity opened by the conversion shows up
through sales.timeline's stage changes)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import TimelineEntry, TimelineSource, register_timeline

KIND = "lead"
# A customer created after the lead and this close to its conversion was created by it.
SAME_MOMENT = dt.timedelta(minutes=1)


def lead_entries(*, customer, user, before=None, kinds=None, limit=20):
    from .models import Lead

    if kinds is not None and KIND not in kinds:
        return []
    qs = (Lead.objects.filter(converted_customer=customer, converted_at__isnull=False)
          .select_related("converted_by").order_by("-converted_at", "-id"))
    if before is not None:
        qs = qs.filter(converted_at__lt=before)
    visible = set(Lead.objects.visible_to(user).filter(converted_customer=customer)
                  .values_list("pk", flat=True))
    out = []
    for lead in qs[:limit]:
        if lead.created_at <= customer.created_at <= lead.converted_at + SAME_MOMENT and (
                lead.converted_at - customer.created_at) <= SAME_MOMENT:
            title = _("Customer created from lead “%(lead)s”") % {"lead": lead}
        else:
            title = _("Lead “%(lead)s” added to this customer") % {"lead": lead}
        source = lead.get_source_display() if lead.source else ""
        body = " · ".join(x for x in (source, lead.campaign) if x)
        out.append(TimelineEntry(
            at=lead.converted_at, kind=KIND, kind_label=_("lead"), title=title, body=body,
            actor=str(lead.converted_by) if lead.converted_by else "",
            url=reverse("leads:detail", args=[lead.pk]) if lead.pk in visible else "",
            source="leads", extra={"lead": lead}))
    return out


register_timeline(TimelineSource(key="leads", label=gettext_lazy("Leads"),
                                 kinds=[(KIND, gettext_lazy("lead"))], provider=lead_entries))
