"""Backup and restore of the whole database (used by the `backup` and `restore` commands).

SQLite: the sqlite3 online backup API, which copies a consistent snapshot while
the server keeps running (WAL readers never block writers). The backup is one
self-contained file (journal mode DELETE). Restore copies it back through the same
API into the live database file, so no -wal/-shm files are left inconsistent.

PostgreSQL: `pg_dump -Fc` writes a custom-format archive; restore replays it with
`pg_restore` piped into `psql` inside one transaction that first drops and recreates
the public schema, so a failed restore changes nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connections

SQLITE_HEADER = b"SQLite format 3\x00"
PG_ARCHIVE_HEADER = b"PGDMP"


def vendor(using: str = "default") -> str:
    return connections[using].vendor


def default_backup_name(using: str = "default") -> str:
    from django.utils import timezone

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return f"guanxi-{stamp}.{'sqlite3' if vendor(using) == 'sqlite' else 'pgdump'}"


# --- SQLite -------------------------------------------------------------------------


def _sqlite_raw(using: str) -> sqlite3.Connection:
    conn = connections[using]
    conn.ensure_connection()
    if conn.in_atomic_block:
        raise CommandError("Backup and restore cannot run inside a transaction.")
    return conn.connection


def sqlite_backup(path: Path, using: str = "default") -> None:
    raw = _sqlite_raw(using)
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    dst = sqlite3.connect(part)
    try:
        raw.backup(dst)  # one step: a consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")
        ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise CommandError(f"The backup failed its integrity check: {ok}")
    finally:
        dst.close()
    with open(part, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(part, path)


def check_sqlite_file(path: Path) -> None:
    """Refuse anything that is not a sound Guanxi SQLite backup."""
    with open(path, "rb") as fh:
        if fh.read(16) != SQLITE_HEADER:
            raise CommandError(f"{path} is not a SQLite database file.")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = src.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise CommandError(f"{path} is damaged: {ok}")
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        src.close()
    if "django_migrations" not in tables or "parties_customer" not in tables:
        raise CommandError(f"{path} is not a Guanxi database.")


def sqlite_restore(path: Path, using: str = "default") -> None:
    check_sqlite_file(path)
    raw = _sqlite_raw(using)
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        src.backup(raw)
    finally:
        src.close()
    connections[using].close()


# --- PostgreSQL -----------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client program `name` (pg_dump, pg_restore, psql)."""
    candidates = []
    if bindir := os.environ.get("GUANXI_PG_BINDIR"):
        candidates.append(Path(bindir) / name)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                      reverse=True)
    candidates += [v / name for v in versions]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    if found := shutil.which(name):
        return found
    raise CommandError(f"{name} was not found. Install the PostgreSQL client programs "
                       "(Debian: apt-get install postgresql-client).")


def _pg_args(using: str) -> tuple[list[str], dict[str, str]]:
    s = connections[using].settings_dict
    args = []
    if s.get("HOST"):
        args += ["-h", str(s["HOST"])]
    if s.get("PORT"):
        args += ["-p", str(s["PORT"])]
    if s.get("USER"):
        args += ["-U", str(s["USER"])]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    if sslmode := (s.get("OPTIONS") or {}).get("sslmode"):
        env["PGSSLMODE"] = str(sslmode)
    return args, env


def pg_backup(path: Path, using: str = "default") -> None:
    args, env = _pg_args(using)
    name = connections[using].settings_dict["NAME"]
    part = path.with_name(path.name + ".part")
    proc = subprocess.run([pg_tool("pg_dump"), "-Fc", "-f", str(part), *args, "-d", name],
                          check=False, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        raise CommandError(f"pg_dump failed: {proc.stderr.strip()}")
    os.replace(part, path)


def pg_restore(path: Path, using: str = "default") -> None:
    with open(path, "rb") as fh:
        if fh.read(5) != PG_ARCHIVE_HEADER:
            raise CommandError(f"{path} is not a PostgreSQL backup made by `guanxi backup`.")
    args, env = _pg_args(using)
    name = connections[using].settings_dict["NAME"]
    connections[using].close()  # hold no locks while the schema is replaced
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as psql_out:
        dump = subprocess.Popen([pg_tool("pg_restore"), "--no-owner", "--no-privileges",
                                 "-f", "-", str(path)],
                                stdout=subprocess.PIPE, stderr=dump_err, env=env)
        psql = subprocess.Popen([pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", *args,
                                 "-d", name, "-f", "-"],
                                stdin=subprocess.PIPE, stdout=psql_out, stderr=psql_out, env=env)
        assert dump.stdout is not None and psql.stdin is not None
        try:
            # One transaction: COMMIT is sent only when the whole archive was read; at EOF
            # without it psql disconnects and the server rolls everything back.
            psql.stdin.write(b"SET client_min_messages = warning;\nBEGIN;\n"
                             b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
            shutil.copyfileobj(dump.stdout, psql.stdin)
            if dump.wait() == 0:
                psql.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error; its message says why
        finally:
            dump.stdout.close()
            try:
                psql.stdin.close()
            except BrokenPipeError:
                pass
        dump.wait()
        psql.wait()
        dump_err.seek(0)
        psql_out.seek(0)
        if psql.returncode != 0:
            raise CommandError("Restore failed, the database is unchanged: "
                               f"{psql_out.read().decode(errors='replace').strip()}")
        if dump.returncode != 0:
            raise CommandError("Restore failed, the database is unchanged: pg_restore: "
                               f"{dump_err.read().decode(errors='replace').strip()}")
