"""The "Owner history" panel on the customer page (with the release button)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.core.registry import Panel, register_panel

SHOWN = 8


def owner_history_context(customer, user) -> dict[str, Any] | None:
    """The newest owner changes of a customer the page already showed to `user`."""
    changes = list(customer.owner_changes.select_related("from_user", "to_user", "by", "pool")
                   .order_by("-at", "-id")[:SHOWN + 1])
    return {"changes": changes[:SHOWN], "more": len(changes) > SHOWN}


register_panel(Panel(key="owner_history", title=_("Owner history"),
                     template="sales/pool/_owner_history_panel.html",
                     context=owner_history_context, order=60))
