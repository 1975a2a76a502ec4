"""The `guanxi` command: help, createuser, backup → change → restore, jobs, serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from guanxi.accounts.models import Role, User
from guanxi.cli import main
from guanxi.core.models import AuditEntry, Job, JobStatus
from guanxi.parties.models import Customer
from guanxi.testing.factories import CustomerFactory

OPERATOR_COMMANDS = ["serve", "worker", "migrate", "demo", "createuser", "backup", "restore",
                     "jobs", "manage"]


def test_help_lists_the_operator_commands_in_plain_words(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in OPERATOR_COMMANDS:
        assert f"\n    {command}" in out, command
    assert "GUANXI_DATA_DIR" in out and "DATABASE_URL" in out


@pytest.mark.parametrize("command", ["serve", "backup", "restore", "createuser", "demo", "jobs"])
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"usage: guanxi {command}" in capsys.readouterr().out


def test_unknown_options_are_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backup", "--frobnicate"])
    assert exc.value.code == 2
    assert "unrecognised arguments: --frobnicate" in capsys.readouterr().err


# --- createuser ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_createuser_with_role_and_team(org, capsys):
    code = main(["createuser", "--username", "wang", "--role", "manager", "--team", "华东区",
                 "--password", "Zhong-Guo-2024!", "--display-name", "王经理"])
    assert code == 0, capsys.readouterr().err
    user = User.objects.get(username="wang")
    assert user.role == Role.MANAGER and user.team == org["east"]
    assert user.display_name == "王经理" and user.check_password("Zhong-Guo-2024!")
    assert not user.is_staff
    assert AuditEntry.objects.filter(model="accounts.user", object_id=user.pk).exists()


@pytest.mark.django_db
def test_createuser_admin_can_use_the_admin_site(org):
    assert main(["createuser", "--username", "boss", "--role", "admin", "--password",
                 "Zhong-Guo-2024!"]) == 0
    boss = User.objects.get(username="boss")
    assert boss.is_admin and boss.is_staff and boss.is_superuser and boss.team is None


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["--role", "king", "--password", "Zhong-Guo-2024!"], "Unknown role 'king'"),
    (["--role", "rep", "--team", "火星办事处", "--password", "Zhong-Guo-2024!"],
     "no team called '火星办事处'"),
    (["--role", "rep", "--password", "123"], "User not created. password:"),
    (["--role", "rep"], "Password is missing"),
])
def test_createuser_refuses_bad_input(org, capsys, args, message):
    assert main(["createuser", "--username", "li", *args]) == 1
    assert message in capsys.readouterr().err
    assert not User.objects.filter(username="li").exists()


@pytest.mark.django_db
def test_createuser_refuses_a_duplicate(users, capsys):
    assert main(["createuser", "--username", "REP", "--role", "rep",
                 "--password", "Zhong-Guo-2024!"]) == 1
    assert "already exists" in capsys.readouterr().err


# --- backup and restore ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_change_restore_round_trip(tmp_path, capsys):
    kept = CustomerFactory(name="上海清源水务")
    backup = tmp_path / "before.bak"
    assert main(["backup", str(backup)]) == 0, capsys.readouterr().err
    assert backup.stat().st_size > 0

    Customer.all_objects.filter(pk=kept.pk).update(name="改过的名字")
    CustomerFactory(name="备份之后的客户")
    assert Customer.objects.count() == 2

    assert main(["restore", str(backup), "--yes"]) == 0, capsys.readouterr().err
    names = list(Customer.objects.values_list("name", flat=True))
    assert names == ["上海清源水务"]
    # The restored database is fully usable: writes work and ids continue.
    later = CustomerFactory(name="恢复之后的客户")
    assert later.pk > kept.pk and Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_without_yes_and_changes_nothing(tmp_path, capsys):
    CustomerFactory(name="甲")
    backup = tmp_path / "a.bak"
    assert main(["backup", str(backup)]) == 0
    CustomerFactory(name="乙")
    assert main(["restore", str(backup)]) == 1  # stdin is not a terminal here
    assert "--yes" in capsys.readouterr().err
    assert Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_backup_does_not_overwrite_without_yes(tmp_path, capsys):
    backup = tmp_path / "exists.bak"
    backup.write_bytes(b"precious")
    assert main(["backup", str(backup)]) == 1
    assert "already exists" in capsys.readouterr().err and backup.read_bytes() == b"precious"
    assert main(["backup", str(backup), "--yes"]) == 0
    assert backup.read_bytes() != b"precious"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, capsys):
    CustomerFactory(name="甲")
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["restore", str(junk), "--yes"]) == 1
    assert "not a" in capsys.readouterr().err
    assert Customer.objects.count() == 1
    assert main(["restore", str(tmp_path / "missing.bak"), "--yes"]) == 1


@pytest.mark.django_db(transaction=True)
def test_backup_without_file_goes_to_the_data_directory(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    assert main(["backup"]) == 0
    (written,) = (tmp_path / "backups").iterdir()
    assert written.name.startswith("guanxi-") and str(written) in capsys.readouterr().out


# --- jobs -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_jobs_lists_progress_bars(users, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    Job.objects.create(kind="import", title="Import customers.xlsx", created_by=users["rep"],
                       status=JobStatus.RUNNING, progress=500, total=1000)
    Job.objects.create(kind="x", title="Broken import", status=JobStatus.FAILED,
                       message="ValueError: no header row")
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert "Import customers.xlsx" in out and "[##########----------]  50%  500/1000" in out
    assert "failed" in out and "ValueError: no header row" in out and "system" in out


@pytest.mark.django_db
def test_jobs_when_there_are_none(capsys):
    assert main(["jobs"]) == 0
    assert "No jobs yet." in capsys.readouterr().out


@pytest.mark.django_db
def test_reindex_starts_the_job(capsys, django_capture_on_commit_callbacks):
    CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert main(["reindex"]) == 0
    job = Job.objects.get()
    assert job.kind == "rebuild_search_index" and job.status == JobStatus.SUCCEEDED
    assert f"Job #{job.pk} started" in capsys.readouterr().out


@pytest.mark.django_db
def test_other_django_commands_pass_through(capsys):
    assert main(["manage", "check"]) == 0
    assert main(["check"]) == 0
    assert "no issues" in capsys.readouterr().out


# --- serve (a real server in another process, on its own SQLite file) ----------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "GUANXI_DATA_DIR"}}
    env.update(GUANXI_DATA_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    return env


def _guanxi(*args: str) -> list[str]:
    return [sys.executable, "-m", "guanxi.cli", *args]


def test_serve_refuses_pending_migrations_then_serves(tmp_path):
    env = _env(tmp_path)
    refused = subprocess.run(_guanxi("serve", "--port", str(_free_port())), env=env, check=False,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "Run `guanxi migrate` first" in refused.stderr

    migrated = subprocess.run(_guanxi("migrate"), env=env, check=False, capture_output=True,
                              text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr

    port = _free_port()
    server = subprocess.Popen(_guanxi("serve", "--port", str(port), "--threads", "2"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                css = urllib.request.urlopen(f"{base}/static/ui/guanxi.css", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert css.status == 200 and b"--brand" in css.read()
        htmx = urllib.request.urlopen(f"{base}/static/django_htmx/htmx-2.min.js", timeout=5)
        assert htmx.status == 200

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"{base}/jobs/", timeout=10)
        assert redirect.value.code == 302 and "/login/" in redirect.value.headers["Location"]
        assert (tmp_path / "var" / "static" / "ui" / "guanxi.css").exists()  # collected
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"Guanxi is running on http://127.0.0.1:{port}/" in out
