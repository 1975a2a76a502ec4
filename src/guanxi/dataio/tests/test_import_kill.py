"""A killed import leaves all of its rows or none (or, with --skip-invalid, whole batches
and a checkpoint it resumes from). Runs the real `guanxi` command in a child process
on its own SQLite data directory and kills it with SIGKILL mid-way."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROWS = 20_000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("runs once, in the SQLite pass")
    base = tmp_path_factory.mktemp("kill")
    csv_path = base / "big.csv"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write("客户名称,手机,城市,客户等级\n")
        f.writelines(f"杀进程测试公司{i}号,1380{i:07d},上海,B\n" for i in range(ROWS))
    return base, csv_path


def _env(data: Path) -> dict[str, str]:
    env = {**os.environ, "GUANXI_DATA_DIR": str(data),
           "DJANGO_SETTINGS_MODULE": "guanxi.config.settings", "GUANXI_IMPORT_WORKERS": "0"}
    env.pop("DATABASE_URL", None)
    return env


def _guanxi() -> str:
    return str(Path(sys.executable).with_name("guanxi"))


def _fresh(base: Path, name: str) -> Path:
    data = base / name
    env = _env(data)
    subprocess.run([_guanxi(), "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([_guanxi(), "createuser", "--username", "boss", "--role", "admin",
                    "--password", "pw-Guanxi-123"], env=env, check=True, capture_output=True)
    return data


def _kill_when(data: Path, args: list[str], at_least: int) -> None:
    proc = subprocess.Popen([_guanxi(), "import", "customers", *args], env=_env(data),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    live = data / "jobs" / "1.json"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                done = json.loads(live.read_text())["done"]
            except (OSError, ValueError, KeyError):
                done = 0
            if done >= at_least:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the import made no progress")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert done < ROWS, "the import finished before it could be killed"


def _count(data: Path, sql: str):
    con = sqlite3.connect(data / "guanxi.sqlite3")
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def test_a_killed_import_leaves_nothing(workdir):
    base, csv_path = workdir
    data = _fresh(base, "all-or-nothing")
    _kill_when(data, [str(csv_path), "--batch-size", "500"], at_least=2_000)
    assert _count(data, "SELECT COUNT(*) FROM parties_customer") == (0,)
    assert _count(data, "SELECT COUNT(*) FROM parties_customer_fts") == (0,)
    # Killed jobs stay "running" until someone looks; the import can simply run again.
    proc = subprocess.run([_guanxi(), "import", "customers", str(csv_path), "--json"],
                          env=_env(data), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["created"] == ROWS
    assert _count(data, "SELECT COUNT(*) FROM parties_customer") == (ROWS,)


def test_a_killed_skip_invalid_import_keeps_whole_batches_and_resumes(workdir):
    base, csv_path = workdir
    data = _fresh(base, "batches")
    _kill_when(data, [str(csv_path), "--skip-invalid", "--batch-size", "500"], at_least=2_000)
    (customers,) = _count(data, "SELECT COUNT(*) FROM parties_customer")
    assert customers > 0 and customers % 500 == 0
    status, result = _count(data, "SELECT status, result FROM core_job WHERE id = 1")
    checkpoint = json.loads(result)
    assert status == "running"
    assert checkpoint["created"] == customers and checkpoint["checkpoint"]["row"] == customers + 1
    proc = subprocess.run([_guanxi(), "import", "resume", "1", "--json"], env=_env(data),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["created"] == ROWS and out["rejected"] == 0
    assert _count(data, "SELECT COUNT(*), COUNT(DISTINCT phone) FROM parties_customer") == (
        ROWS, ROWS)
