"""Template helpers of the pool pages: `{% can_release_customer customer as allowed %}`."""

from __future__ import annotations

from django import template

from guanxi.sales import pool

register = template.Library()


@register.simple_tag(takes_context=True)
def can_release_customer(context, customer) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return pool.can_release(user, customer)
