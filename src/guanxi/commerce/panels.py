"""Customer 360 panels of the ERP mirror: open contracts, recent orders with their
delivery status, and receivables (open invoices, payments, balance, overdue amount,
credit used against the credit limit).

Everyone who may see the customer sees them (finance included); a user who may not
gets None (the panel is hidden). Each panel costs a fixed, small number of queries.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.core.registry import Panel, register_panel

from . import selectors


def contracts_context(customer, user) -> dict[str, Any] | None:
    if not selectors.customer_is_visible(user, customer):
        return None
    return selectors.contracts_panel(user, customer)


def orders_context(customer, user) -> dict[str, Any] | None:
    if not selectors.customer_is_visible(user, customer):
        return None
    return selectors.orders_panel(user, customer)


def receivables_context(customer, user) -> dict[str, Any] | None:
    if not selectors.customer_is_visible(user, customer):
        return None
    return selectors.receivables_panel(user, customer)


register_panel(Panel(key="commerce_receivables", title=_("Invoices and payments"),
                     template="commerce/partials/panel_receivables.html",
                     context=receivables_context, order=30))
register_panel(Panel(key="commerce_orders", title=_("Recent orders and deliveries"),
                     template="commerce/partials/panel_orders.html",
                     context=orders_context, order=32))
register_panel(Panel(key="commerce_contracts", title=_("Open contracts"),
                     template="commerce/partials/panel_contracts.html",
                     context=contracts_context, order=34))
