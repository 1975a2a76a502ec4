"""The `guanxi` command: everything an operator does, in plain words.

Each operator command is a Django management command underneath; this front end
gives them short, plain help. Any other Django command still works through
`guanxi manage <command>` or directly as `guanxi <command>`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

DESCRIPTION = """\
Guanxi (关系) — the CRM for small and medium enterprises.

Getting started:
  guanxi migrate        create the database (run again after every upgrade)
  guanxi demo           optional: fill it with demo customers and users
  guanxi createuser     add a user
  guanxi worker &       run background jobs
  guanxi scheduler &    start periodic jobs (pool returns, scores, reminders)
  guanxi serve          open http://127.0.0.1:8000 in a browser
"""

EPILOG = """\
Settings come from environment variables:
  GUANXI_DATA_DIR       data directory: database, secret key, backups (default ./var)
  DATABASE_URL          another database, e.g. postgres://user:password@host/guanxi
                        (default: a SQLite file in the data directory)
  GUANXI_ALLOWED_HOSTS  names other computers use to reach the server (comma separated)
  GUANXI_DEBUG          1 shows error details in the browser (never on a real server)

`guanxi COMMAND --help` tells more about a command.
"""


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    import django

    django.setup()


def _call(name: str, *args: str) -> None:
    from django.core.management import call_command

    call_command(name, *args)


def _opt(flag: str, value) -> list[str]:
    if value is None or value is False:
        return []
    return [flag] if value is True else [flag, str(value)]


# --- handlers: each gets the parsed namespace and the unparsed rest --------------------------


def _serve(ns, rest):
    _call("serve", "--host", ns.host, "--port", str(ns.port), "--threads", str(ns.threads))


def _migrate(ns, rest):
    _call("migrate", "--no-input", *rest)


def _setup(ns, rest):
    _call("compiletranslations")
    _call("migrate", "--no-input")


def _demo(ns, rest):
    _call("demo", *_opt("--customers", ns.customers), *_opt("--seed", ns.seed),
          *_opt("--reset", ns.reset), *rest)


def _createuser(ns, rest):
    args = []
    for flag, value in (("--username", ns.username), ("--role", ns.role), ("--team", ns.team),
                        ("--password", ns.password), ("--display-name", ns.display_name),
                        ("--email", ns.email)):
        args += _opt(flag, value)
    _call("createuser", *args)


def _backup(ns, rest):
    _call("backup", *([ns.file] if ns.file else []), *_opt("--yes", ns.yes))


def _restore(ns, rest):
    _call("restore", ns.file, *_opt("--yes", ns.yes))


def _worker(ns, rest):
    _call("db_worker", "--queue-name", "*", *rest)


def _scheduler(ns, rest):
    _call("scheduler", *_opt("--once", ns.once))


def _jobs(ns, rest):
    _call("jobs", *_opt("--watch", ns.watch), "--limit", str(ns.limit))


def _reindex(ns, rest):
    _call("reindex", *_opt("--wait", ns.wait))


def _import(ns, rest):
    _call("importdata", *rest)


def _manage(ns, rest):
    from django.core.management import execute_from_command_line

    execute_from_command_line(["guanxi manage", *ns.args, *rest])


# --- the parser ------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, list[str]], None]
# Commands whose unknown options are passed on to the management command underneath.
PASS_THROUGH = {"demo", "worker", "migrate", "manage", "import"}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=26, width=100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guanxi", description=DESCRIPTION, epilog=EPILOG, formatter_class=_Formatter)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    def add(name: str, handler: Handler, summary: str,
            description: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary, description=description or summary,
                           formatter_class=_Formatter)
        p.set_defaults(handler=handler)
        return p

    p = add("serve", _serve, "run the web server (http://127.0.0.1:8000 by default)",
            "Run the web server. It refuses to start while the database needs `guanxi migrate`.\n"
            "Run `guanxi worker` beside it for background jobs.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, only this computer; "
                        "0.0.0.0 for every network)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--threads", type=int, default=8,
                   help="requests served at the same time (default 8)")

    add("worker", _worker, "run background jobs (imports, recomputes); keep it running",
        "Run background jobs such as imports and recomputes. Keep it running beside\n"
        "`guanxi serve`; start more than one on PostgreSQL for more throughput.\n"
        "Options of Django's db_worker (e.g. --batch to run what is queued and stop) pass through.")
    p = add("scheduler", _scheduler,
            "start periodic jobs when due (pool returns, scores, reminders); keep it running",
            "Start periodic background jobs when they are due: customers returned to the\n"
            "pool, win-probability retraining, task reminders. Keep it running beside\n"
            "`guanxi worker`, or run `guanxi scheduler --once` every minute from cron.")
    p.add_argument("--once", action="store_true", help="start what is due now and stop")
    add("migrate", _migrate, "create or update the database tables (after installing or upgrading)")
    add("setup", _setup, "compile the translations and create or update the database tables")

    p = add("demo", _demo, "fill the database with realistic demo customers and users",
            "Fill the database with realistic demo data: teams, users (the logins are\n"
            "printed at the end), customers, contacts and their history.\n"
            "More options: `guanxi manage demo --help`.")
    p.add_argument("--customers", type=int, metavar="N", help="how many customers to create")
    p.add_argument("--seed", type=int, metavar="S",
                   help="random seed: the same seed gives the same data")
    p.add_argument("--reset", action="store_true",
                   help="ERASE EVERYTHING in the database first, then load the demo data")

    p = add("createuser", _createuser, "add a user who can log in",
            "Add a user. What is not given as an option is asked for in the terminal.")
    p.add_argument("--username", help="login name")
    p.add_argument("--role", help="admin, director, manager, rep, service, marketing, finance "
                                  "or readonly")
    p.add_argument("--team", help="team, region or office, by name or id (optional)")
    p.add_argument("--password", help="password (asked for when left out)")
    p.add_argument("--display-name", help="name shown in the application")
    p.add_argument("--email", help="e-mail address")

    p = add("backup", _backup, "copy the whole database to a file (safe while the server runs)",
            "Copy the whole database to FILE, safely while the server runs.\n"
            "SQLite: a copy of the database file. PostgreSQL: a pg_dump archive.")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="where to write (default: backups/ in the data directory)")
    p.add_argument("--yes", action="store_true", help="overwrite FILE if it exists")

    p = add("restore", _restore, "replace the database with a backup file",
            "Replace the whole database with a backup made by `guanxi backup`.\n"
            "Everything changed since that backup is lost. Stop the server and worker first.")
    p.add_argument("file", metavar="FILE", help="the backup to restore")
    p.add_argument("--yes", action="store_true", help="really overwrite the current database")

    p = add("jobs", _jobs, "list background jobs and their progress")
    p.add_argument("--watch", action="store_true",
                   help="keep refreshing every second (Ctrl+C stops)")
    p.add_argument("--limit", type=int, default=20, help="how many of the newest jobs (default 20)")

    p = add("reindex", _reindex,
            "rebuild the search index and last contact dates (a background job)")
    p.add_argument("--wait", action="store_true", help="show the progress until it has finished")

    add("import", _import, "import customers, contacts, interactions, leads or ERP records "
                           "(orders, invoices, …) from CSV or XLSX",
        "guanxi import customers|contacts|interactions|leads FILE [--mapping FILE|NAME]\n"
        "    [--mode create|update|upsert] [--match external_id,phone,email,name]\n"
        "    [--dry-run] [--skip-invalid] [--rejects FILE] [--encoding gb18030|cp950|utf-8]\n"
        "    [--sheet NAME] [--user USERNAME] [--json]\n"
        "guanxi import contracts|orders|deliveries|invoices|payments FILE   ERP records,\n"
        "    upserted by external id (same options; --match does not apply)\n"
        "guanxi import resume JOB   continue a --skip-invalid import that stopped\n\n"
        "Exit status: 0 all rows imported, 1 some rows rejected, 2 the import could not start.")

    p = add("manage", _manage, "run any Django management command (for experts)",
            "Run any Django management command, e.g. `guanxi manage shell` or\n"
            "`guanxi manage changepassword NAME`. `guanxi manage help` lists them.")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the command and its options")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    if argv and not argv[0].startswith("-") and argv[0] not in known:
        # Any other Django management command passes straight through.
        argv = ["manage", *argv]
    if not argv:
        parser.print_help()
        return 0
    ns, rest = parser.parse_known_args(argv)
    if rest and ns.command not in PASS_THROUGH:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    _setup_django()
    from django.core.management.base import CommandError

    try:
        ns.handler(ns, rest)
    except CommandError as exc:
        print(f"guanxi {ns.command}: {exc}", file=sys.stderr)
        return 2 if ns.command == "import" else 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
