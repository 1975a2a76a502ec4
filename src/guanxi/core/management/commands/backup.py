"""`guanxi backup [FILE]`: copy the whole database to one file, safely while the server runs."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from . import _backup


class Command(BaseCommand):
    help = ("Copy the whole database to FILE. Safe while the server runs. "
            "SQLite: a consistent copy of the database file; PostgreSQL: a pg_dump archive.")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="Where to write the backup "
                            "(default: backups/guanxi-<date>-<time>… in the data directory).")
        parser.add_argument("--yes", action="store_true",
                            help="Overwrite FILE if it already exists.")
        parser.add_argument("--database", default="default", help="Database alias (advanced).")

    def handle(self, *args, file=None, yes=False, database="default", **options):
        if file:
            path = Path(file).expanduser().resolve()
        else:
            path = Path(settings.DATA_DIR) / "backups" / _backup.default_backup_name(database)
        if path.exists() and not yes:
            raise CommandError(f"{path} already exists. Choose another file or add --yes "
                               "to overwrite it.")
        if not path.parent.is_dir():
            if file:
                raise CommandError(f"The folder {path.parent} does not exist.")
            path.parent.mkdir(parents=True, exist_ok=True)
        if _backup.vendor(database) == "sqlite":
            _backup.sqlite_backup(path, database)
        elif _backup.vendor(database) == "postgresql":
            _backup.pg_backup(path, database)
        else:
            raise CommandError(
                f"Backups of {_backup.vendor(database)} databases are not supported.")
        size = path.stat().st_size
        self.stdout.write(self.style.SUCCESS(f"Backup written to {path} ({size / 1e6:.1f} MB)."))
