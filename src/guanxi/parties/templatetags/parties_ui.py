"""Template filters for customer pages: readable phone numbers and tel: links."""

from __future__ import annotations

import datetime as dt

from django import template

from guanxi.parties.display import ago
from guanxi.parties.normalize import format_phone

register = template.Library()


@register.filter
def phone(e164: str, ext: str = "") -> str:
    """+8613800138000 → 138 0013 8000 (with "转 808" when there is an extension)."""
    return format_phone(e164 or "", ext or "")


@register.filter
def tel_href(e164: str, ext: str = "") -> str:
    """A tel: URI (RFC 3966), with ;ext= for an extension."""
    if not e164:
        return ""
    return f"tel:{e164};ext={ext}" if ext else f"tel:{e164}"


@register.filter
def industry_name(industry) -> str:
    """An industry's name in the active language (industry packs translate theirs)."""
    if not industry:
        return ""
    from guanxi.parties.packs import industry_label

    return industry_label(industry)


@register.filter
def source_name(value: str) -> str:
    """A source channel's label, as the applied industry pack names it."""
    if not value:
        return ""
    from guanxi.parties.forms import source_choices

    return dict(source_choices()).get(value, value)


@register.filter(name="ago")
def ago_filter(value: dt.datetime | None) -> str:
    """A short relative time with one unit: "3 days ago", "in 2 hours", "just now"."""
    return ago(value)
