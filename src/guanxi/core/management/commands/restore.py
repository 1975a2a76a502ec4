"""`guanxi restore FILE --yes`: replace the whole database with a backup."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from . import _backup


class Command(BaseCommand):
    help = ("Replace the whole database with a backup made by `guanxi backup`. Everything "
            "changed since that backup is lost. Stop the server and the worker first.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup file to restore.")
        parser.add_argument("--yes", action="store_true",
                            help="Really overwrite the current database (no question asked).")
        parser.add_argument("--database", default="default", help="Database alias (advanced).")

    def handle(self, *args, file, yes=False, database="default", **options):
        path = Path(file).expanduser().resolve()
        if not path.is_file():
            raise CommandError(f"{path} does not exist.")
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Restoring overwrites the current database. "
                                   "Add --yes to confirm.")
            answer = input(f"Replace the current database with {path}? "
                           "Everything changed since that backup is lost. Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled; nothing was changed.")
        kind = _backup.vendor(database)
        if kind == "sqlite":
            _backup.sqlite_restore(path, database)
        elif kind == "postgresql":
            _backup.pg_restore(path, database)
        else:
            raise CommandError(f"Restoring {kind} databases is not supported.")
        self.stdout.write(self.style.SUCCESS(
            f"Database restored from {path}. If the backup came from an older version of "
            "Guanxi, run `guanxi migrate` now."))
