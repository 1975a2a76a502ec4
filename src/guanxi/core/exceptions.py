"""Errors raised by services; views and the API turn them into messages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError  # noqa: F401


class ConflictError(Exception):
    """Someone else saved the record after the user loaded it.

    `theirs` lists the other change(s): [{"actor", "at", "changes": {field: [old, new]}}],
    `current_version` is the version now in the database.
    """

    def __init__(self, *, current_version: int, theirs: list[dict[str, Any]]):
        self.current_version = current_version
        self.theirs = theirs
        super().__init__(f"conflict: record is at version {current_version}")
