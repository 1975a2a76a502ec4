"""Context builders for the customer 360 page (shared by the parties and activities views)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from guanxi.core.registry import panels, timeline_page, timeline_sources

from . import permissions as perms
from .custom_fields import definitions_for
from .display import show_value
from .models import Contact, Customer, FieldType
from .packs import choice_label, field_label

TIMELINE_PAGE = 20


def visible_customer(request: HttpRequest, pk: int) -> Customer:
    """The customer if the user may see it, else 404."""
    qs = Customer.objects.visible_to(request.user).select_related("owner", "team", "industry")
    return get_object_or_404(qs, pk=pk)


def customer_flags(user, customer: Customer) -> dict[str, bool]:
    """What the user may do on this customer (drives which buttons are shown)."""
    return {
        "can_edit": perms.can_edit_customer(user, customer),
        "can_delete": perms.can_delete_customer(user, customer),
        "can_log": perms.can_log_interaction(user, customer),
        "can_restore": perms.can_restore(user),
    }


def interaction_editor(user, customer: Customer, flags: dict[str, bool]):
    """A check `f(interaction) -> bool` equal to activities.services.can_edit_interaction
    for interactions of `customer`, without a query per interaction."""
    others = flags["can_edit"] and user.role != "rep"

    def can_edit(interaction) -> bool:
        if interaction.created_by_id == user.pk:
            return flags["can_log"]
        return others

    return can_edit


def timeline_kinds() -> list[tuple[str, Any]]:
    kinds: dict[str, Any] = {}
    for source in timeline_sources():
        for key, label in source.kinds:
            kinds.setdefault(key, label)
    return list(kinds.items())


def timeline_context(request: HttpRequest, customer: Customer, flags: dict[str, bool], *,
                     from_request: bool = True) -> dict[str, Any]:
    """Entries of one timeline page; kinds and cursor come from the query string."""
    kinds = timeline_kinds()
    valid = {k for k, _ in kinds}
    selected: list[str] = []
    before = None
    if from_request:
        selected = [k for k in request.GET.getlist("kind") if k in valid]
        raw = request.GET.get("before") or ""
        before = parse_datetime(raw) if raw else None
        if raw and before is None:
            raise Http404("bad cursor")
    entries, cursor = timeline_page(customer=customer, user=request.user, before=before,
                                    kinds=set(selected) or None, limit=TIMELINE_PAGE)
    can_edit = interaction_editor(request.user, customer, flags)
    items = []
    for entry in entries:
        interaction = entry.extra.get("interaction") if entry.extra else None
        items.append({
            "entry": entry,
            "interaction": interaction,
            "can_edit": bool(interaction is not None and can_edit(interaction)),
        })
    return {
        "timeline_items": items,
        "timeline_cursor": cursor.isoformat() if cursor else "",
        "timeline_kinds": kinds,
        "timeline_selected": selected,
    }


def rendered_panels(request: HttpRequest, customer: Customer) -> list[dict[str, Any]]:
    """Panels other apps registered, rendered for this user; hidden when context is None."""
    result = []
    for panel in panels():
        ctx = panel.context(customer, request.user)
        if ctx is None:
            continue
        html = render_to_string(panel.template, {"customer": customer, **ctx}, request=request)
        result.append({"key": panel.key, "title": panel.title, "html": html})
    return result


def custom_values(customer: Customer) -> list[dict[str, Any]]:
    """Label and display value of every custom field that applies to the customer."""
    rows = []
    for d in definitions_for(customer.industry_id):
        value = (customer.custom or {}).get(d.key)
        if d.field_type == FieldType.CHOICE and value not in (None, ""):
            shown = choice_label(d, value)
        elif d.field_type == FieldType.MULTI and value:
            shown = "、".join(choice_label(d, v) for v in value)
        else:
            shown = show_value(value)
        rows.append({"key": d.key, "label": field_label(d), "value": shown})
    return rows


def header_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """Everything the customer header and tabs need."""
    flags = customer_flags(request.user, customer)
    return {
        "customer": customer,
        "tags": list(customer.tags.all()),
        "shared_with": list(customer.shared_with.all()) if flags["can_edit"] else [],
        **flags,
    }


def contacts_of(customer: Customer):
    return Contact.objects.filter(customer=customer)
