"""The "Opportunities" panel on the customer page."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.core.registry import Panel, register_panel

PANEL_LIMIT = 10


def _context(customer, user) -> dict[str, Any] | None:
    from guanxi.parties import permissions as perms

    from .models import Opportunity

    qs = (Opportunity.objects.visible_to(user).filter(customer=customer)
          .select_related("stage", "owner").order_by("status", "-updated_at", "-id"))
    deals = list(qs[:PANEL_LIMIT + 1])
    can_create = (user.is_active and user.role not in ("readonly", "finance", "service")
                  and customer.deleted_at is None and perms.can_edit_customer(user, customer))
    return {"deals": deals[:PANEL_LIMIT], "more": len(deals) > PANEL_LIMIT,
            "can_create_deal": can_create}


register_panel(Panel(key="opportunities", title=_("Opportunities"),
                     template="sales/opportunities/panel.html", context=_context, order=20))
