"""Administrator-editable settings with defaults from Django settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import SiteSetting

DEFAULTS: dict[str, Any] = {
    "contact_interval_days": settings.GUANXI_CONTACT_INTERVAL_DAYS,
    "industry_pack": None,
    "choices": {},  # choice lists set by industry packs, e.g. {"source_channel": [...]}
}


def get(key: str) -> Any:
    row = SiteSetting.objects.filter(key=key).first()
    return row.value if row is not None else DEFAULTS.get(key)


def put(key: str, value: Any) -> None:
    SiteSetting.objects.update_or_create(key=key, defaults={"value": value})


def contact_interval_days() -> dict[str, int]:
    value = get("contact_interval_days") or {}
    return {tier: int(value.get(tier, d)) for tier, d in settings.GUANXI_CONTACT_INTERVAL_DAYS.items()}
