"""Version checks for optimistic concurrency (see VersionedModel)."""

from __future__ import annotations

from django.db import models

from .exceptions import ConflictError
from .models import AuditEntry


def check_version(obj: models.Model, expected: int | None) -> None:
    """Raise ConflictError when `obj` (freshly loaded, locked) moved past `expected`.

    `expected=None` means the caller did not send a version (an API client that
    opts out of the check); the write then goes through.
    """
    if expected is None or obj.version == expected:
        return
    entries = AuditEntry.objects.filter(
        model=obj._meta.label_lower, object_id=obj.pk, version__gt=expected
    ).select_related("actor").order_by("at", "id")
    theirs = [
        {
            "actor": str(e.actor) if e.actor else "",
            "at": e.at,
            "action": e.action,
            "changes": e.changes,
        }
        for e in entries
    ]
    raise ConflictError(current_version=obj.version, theirs=theirs)
