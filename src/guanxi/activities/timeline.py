"""Registers interactions as a timeline source (later apps register their own)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.registry import TimelineEntry, TimelineSource, register_timeline

from .models import Interaction, InteractionKind


def interaction_entries(*, customer, user, before=None, kinds=None, limit=20):
    qs = Interaction.objects.filter(customer=customer).select_related("created_by", "contact")
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    return [
        TimelineEntry(
            at=i.occurred_at,
            kind=i.kind,
            kind_label=i.get_kind_display(),
            title=i.subject,
            body=i.body,
            actor=str(i.created_by) if i.created_by else "",
            source="interactions",
            extra={"interaction": i},
        )
        for i in qs[:limit]
    ]


register_timeline(
    TimelineSource(
        key="interactions",
        label=_("Interactions"),
        kinds=list(InteractionKind.choices),
        provider=interaction_entries,
    )
)
