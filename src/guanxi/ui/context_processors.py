"""Navigation for the base template; entries whose URL is not installed are skipped."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, roles that see it or None for everyone)
NAV = [
    ("ui:home", _("My day"), None),
    ("parties:customer_list", _("Customers"), None),
    ("parties:contact_list", _("Contacts"), None),
    ("leads:list", _("Leads"), {"admin", "director", "manager", "rep", "marketing"}),
    ("sales:board", _("Deals"), None),
    ("pools:list", _("Pool"), {"admin", "director", "manager", "rep"}),
    ("tasks:calendar", _("Calendar"), None),
    ("activities:interaction_list", _("Interactions"), None),
    ("service:tickets", _("Service desk"), None),
    ("field:board", _("Dispatch"), {"admin", "director", "manager", "service"}),
    ("commerce:orders", _("Orders"), None),
    ("forecast:overview", _("Forecast"), {"admin", "director", "manager", "rep", "finance"}),
    ("dashboard:director", _("Dashboard"), {"admin", "director", "manager"}),
    ("merge:candidates", _("Duplicates"), {"admin", "director", "manager", "rep"}),
    ("imports:history", _("Imports"), {"admin", "director", "manager", "rep", "marketing",
                                       "service", "finance"}),
    ("core:job_list", _("Jobs"), None),
    ("ui:settings", _("Settings"), {"admin"}),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = "admin" if user.is_superuser else user.role
    items = []
    for name, label, roles in NAV:
        if roles is not None and role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": request.path == url or (
            url != "/" and request.path.startswith(url))})
    # The longest matching entry alone is active (/customers/contacts/ is not Customers).
    active = [i for i in items if i["active"]]
    for i in active:
        i["active"] = len(i["url"]) == max(len(a["url"]) for a in active)
    return {"nav_items": items}
