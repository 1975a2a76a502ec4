"""Periodic jobs: apps register what should run how often; `guanxi scheduler` (started
by `make run` beside the worker, or from cron with `--once`) starts each job when it is
due. The last start of each entry is kept in SiteSetting "scheduler.<key>", claimed in
a transaction so two schedulers never start the same run twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import SiteSetting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    key: str
    every: dt.timedelta
    start: Callable[[], object]  # starts the job (enqueues it); returns the Job
    title: str = ""


_REGISTRY: dict[str, Periodic] = {}


def register(key: str, every: dt.timedelta, start: Callable[[], object], title: str = "") -> None:
    _REGISTRY[key] = Periodic(key, every, start, title)


def entries() -> list[Periodic]:
    return sorted(_REGISTRY.values(), key=lambda p: p.key)


def _setting_key(key: str) -> str:
    return f"scheduler.{key}"


def last_run(key: str) -> dt.datetime | None:
    row = SiteSetting.objects.filter(key=_setting_key(key)).first()
    if row is None or not row.value:
        return None
    return dt.datetime.fromisoformat(row.value["at"])


def _claim(entry: Periodic, now: dt.datetime) -> bool:
    """Record `now` as the entry's last run if it is due; True when this caller won."""
    with transaction.atomic():
        row, _created = SiteSetting.objects.select_for_update().get_or_create(
            key=_setting_key(entry.key), defaults={"value": {}})
        at = row.value.get("at") if row.value else None
        if at and dt.datetime.fromisoformat(at) + entry.every > now:
            return False
        row.value = {"at": now.isoformat()}
        row.save(update_fields=["value"])
        return True


def run_due(now: dt.datetime | None = None) -> list[str]:
    """Start every registered job that is due; returns the keys started."""
    now = now or timezone.now()
    started = []
    for entry in entries():
        if not _claim(entry, now):
            continue
        try:
            entry.start()
        except Exception:  # one broken job must not stop the others
            log.exception("scheduled job %s failed to start", entry.key)
            continue
        started.append(entry.key)
    return started
