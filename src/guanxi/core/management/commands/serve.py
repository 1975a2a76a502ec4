"""`guanxi serve`: the production web server (waitress), static files through WhiteNoise."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def pending_migrations(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Names of migrations not yet applied to the database ("app.0002_x")."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


class Command(BaseCommand):
    help = "Serve Guanxi on http://127.0.0.1:8000 (waitress). Stop it with Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1",
                            help="Address to listen on (default 127.0.0.1; 0.0.0.0 for every "
                                 "network interface).")
        parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
        parser.add_argument("--threads", type=int, default=8,
                            help="Requests served at the same time (default 8).")

    def handle(self, *args, host="127.0.0.1", port=8000, threads=8, **options):
        pending = pending_migrations()
        if pending:
            raise CommandError(
                f"The database is not up to date ({len(pending)} change(s) pending, e.g. "
                f"{pending[0]}). Run `guanxi migrate` first, then start the server again.")
        call_command("collectstatic", interactive=False, verbosity=0)

        import waitress

        from guanxi.config.wsgi import application

        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.stdout.write(f"Guanxi is running on http://{shown}:{port}/ — press Ctrl+C to stop.")
        if host not in ("127.0.0.1", "localhost"):
            self.stdout.write("Other computers reach it by this machine's name or address; list "
                              "those in GUANXI_ALLOWED_HOSTS (comma separated).")
        self.stdout.flush()
        try:
            waitress.serve(application, host=host, port=port, threads=threads, ident="guanxi",
                           _quiet=True)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}. "
                               "Is another server running there? Choose another --port.") from exc
