"""Template filters of the service desk that any template may use.

    {% load service_tags %}
    {{ customer.phone|tel_link:customer.phone_ext }}   → <a href="tel:+86…">021 6234 5678 转 12</a>
    {{ contact.mobile|tel_link }}
"""

from __future__ import annotations

from django import template
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from guanxi.parties.normalize import format_phone, normalize_phone
from guanxi.parties.templatetags.parties_ui import tel_href

register = template.Library()


@register.filter
def tel_link(value: str, ext: str = "") -> str:
    """A click-to-call link showing the number in its readable national form.

    `value` is normally stored E.164; anything else is normalised first, and what
    cannot be read as a phone number is shown as plain (escaped) text."""
    value = (value or "").strip()
    if not value:
        return ""
    e164, ext = value, (ext or "").strip()
    if not value.startswith("+"):
        try:
            e164, found = normalize_phone(value)
        except ValidationError:
            return format_html("{}", value)
        ext = ext or found
    return format_html('<a class="tel" href="{}">{}</a>', tel_href(e164, ext),
                       format_phone(e164, ext))


@register.inclusion_tag("servicedesk/partials/survey_ticket.html")
def ticket_survey(ticket) -> dict:
    """The ticket's satisfaction survey: its state, the answer, or its link to copy
    (when it could not be e-mailed). Usage: {% load service_tags %}{% ticket_survey ticket %}"""
    from guanxi.servicedesk import surveys

    survey = surveys.ticket_survey(ticket) if ticket is not None and ticket.pk else None
    if survey is None:
        return {"survey": None}
    state = surveys.survey_state(survey)
    return {"survey": survey, "state": state,
            "link": surveys.survey_url(survey) if state == surveys.OPEN else ""}


# The service desk's own pages, shown as tabs under the desk's header:
# (url name, label, who sees it: None = everyone, else a permission check).
def _service_pages():
    from django.utils.translation import gettext_lazy as _

    from guanxi.servicedesk import permissions as p

    return [
        ("service:tickets", _("Tickets"), None),
        ("screenpop:lookup", _("Caller lookup"), None),
        ("field:board", _("Dispatch"), lambda u: p.can_dispatch(u)),
        ("field:my_visits", _("My visits"), None),
        ("assets:list", _("Equipment"), None),
        ("complaints:list", _("Complaints"), None),
        ("sla:figures", _("SLA"), p.can_see_service_figures),
        ("satisfaction:figures", _("Satisfaction"), p.can_see_service_figures),
        ("costtoserve:ranking", _("Cost to serve"), p.can_see_service_figures),
    ]


@register.inclusion_tag("servicedesk/partials/service_nav.html", takes_context=True)
def service_nav(context, current: str = "") -> dict:
    """Tabs linking the service desk's pages. Usage: {% service_nav "service:tickets" %}"""
    from django.urls import reverse

    user = context["request"].user
    items = [{"url": reverse(name), "label": label, "active": name == current}
             for name, label, allowed in _service_pages() if allowed is None or allowed(user)]
    return {"items": items}
