"""Settings from the environment: data directory, secret key file, SQLite tuned for a server.

These run the real settings module in a fresh Python process, the way `guanxi` starts.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import json, sqlite3
    import django
    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        busy_timeout = cursor.fetchone()[0]
        cursor.execute("PRAGMA foreign_keys")
        foreign_keys = cursor.fetchone()[0]

    def other_writer_gets_lock():
        other = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            return True
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc), exc
            return False
        finally:
            other.close()

    free_before = other_writer_gets_lock()
    with transaction.atomic():
        # Only a read: with DEFERRED transactions no write lock would be held yet.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master")
        free_inside = other_writer_gets_lock()
    free_after = other_writer_gets_lock()
    print(json.dumps({
        "name": str(settings.DATABASES["default"]["NAME"]),
        "data_dir": str(settings.DATA_DIR),
        "secret_key": settings.SECRET_KEY,
        "journal_mode": journal_mode, "busy_timeout": busy_timeout,
        "foreign_keys": foreign_keys, "transaction_mode": connection.transaction_mode,
        "free_before": free_before, "free_inside": free_inside, "free_after": free_after,
    }))
""")


def _run_probe(data_dir, **extra_env) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "GUANXI_SECRET_KEY", "GUANXI_DATA_DIR"}}
    env.update(DJANGO_SETTINGS_MODULE="guanxi.config.settings", GUANXI_DATA_DIR=str(data_dir),
               **extra_env)
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, check=False, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_defaults_data_dir_secret_key_and_sqlite_tuning(tmp_path):
    data_dir = tmp_path / "fresh" / "var"  # does not exist yet
    first = _run_probe(data_dir)

    assert first["data_dir"] == str(data_dir) and data_dir.is_dir()
    assert first["name"] == str(data_dir / "guanxi.sqlite3")
    key_file = data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first["secret_key"]) >= 50 and key_file.read_text().strip() == first["secret_key"]

    assert first["journal_mode"] == "wal"
    assert first["busy_timeout"] == 20000
    assert first["foreign_keys"] == 1
    assert first["transaction_mode"] == "IMMEDIATE"
    # IMMEDIATE in effect: a transaction that has only read already holds the write lock.
    assert first["free_before"] is True
    assert first["free_inside"] is False
    assert first["free_after"] is True

    second = _run_probe(data_dir)
    assert second["secret_key"] == first["secret_key"]  # kept, not regenerated


def test_database_url_overrides_the_default_file(tmp_path):
    other = tmp_path / "elsewhere.sqlite3"
    result = _run_probe(tmp_path / "var", DATABASE_URL=f"sqlite:///{other}")
    assert result["name"] == str(other) and result["journal_mode"] == "wal"
    assert other.exists() and not (tmp_path / "var" / "guanxi.sqlite3").exists()


def test_secret_key_from_the_environment_writes_no_file(tmp_path):
    result = _run_probe(tmp_path / "var", GUANXI_SECRET_KEY="k" * 60)
    assert result["secret_key"] == "k" * 60
    assert not (tmp_path / "var" / "secret_key").exists()
