"""Customer-page panels "Satisfaction" and "Cost to serve (12 months)", and answered
surveys on the customer's timeline."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import (
    Panel,
    TimelineEntry,
    TimelineSource,
    register_panel,
    register_timeline,
)

KIND = "survey"


def _satisfaction_context(customer, user) -> dict[str, Any] | None:
    from .survey_services import customer_satisfaction

    data = customer_satisfaction(user, customer)
    if not (data["csat_count"] or data["nps_answers"] or data["pending"]):
        data["empty"] = True
    return data


def _cost_context(customer, user) -> dict[str, Any] | None:
    from . import cost
    from .permissions import can_see_service_figures

    if not can_see_service_figures(user):
        return None
    since, until = cost.default_period()
    return {"cost": cost.customer_cost(user, customer, since, until), "since": since,
            "until": until}


def survey_entries(*, customer, user, before=None, kinds=None, limit=20):
    """Answered surveys, at the time of the answer."""
    from .models import Survey, SurveyKind

    if kinds is not None and KIND not in kinds:
        return []
    qs = (Survey.objects.filter(customer=customer, answered_at__isnull=False)
          .select_related("ticket", "contact", "campaign").order_by("-answered_at", "-id"))
    if before is not None:
        qs = qs.filter(answered_at__lt=before)
    out = []
    for s in qs[:limit]:
        if s.kind == SurveyKind.CSAT:
            title = _("Satisfaction %(score)s/5") % {"score": s.score}
            if s.ticket_id:
                title += f" · {s.ticket.reference}"
        else:
            title = _("Recommendation %(score)s/10") % {"score": s.score}
            if s.campaign_id:
                title += f" · {s.campaign.name}"
        out.append(TimelineEntry(at=s.answered_at, kind=KIND, kind_label=_("survey"),
                                 title=title, body=s.comment,
                                 actor=s.contact.name if s.contact_id else "",
                                 source="surveys", extra={"survey": s}))
    return out


register_panel(Panel(key="satisfaction", title=gettext_lazy("Satisfaction"),
                     template="servicedesk/partials/satisfaction_panel.html",
                     context=_satisfaction_context, order=45))
register_panel(Panel(key="cost_to_serve", title=gettext_lazy("Cost to serve (12 months)"),
                     template="servicedesk/partials/cost_panel.html", context=_cost_context,
                     order=46))
register_timeline(TimelineSource(key="surveys", label=gettext_lazy("Surveys"),
                                 kinds=[(KIND, gettext_lazy("survey"))],
                                 provider=survey_entries))
