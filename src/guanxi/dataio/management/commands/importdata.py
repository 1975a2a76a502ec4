"""`guanxi import customers FILE …`: import from the command line (see dataio/engine.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from guanxi.core.jobs import clear_live, job_failed, job_running, job_succeeded
from guanxi.core.models import Job, JobStatus


class Command(BaseCommand):
    help = ("Import customers, contacts, interactions, leads or ERP records (contracts, orders, "
            "deliveries, invoices, payments) from a CSV or XLSX file.")

    def add_arguments(self, parser):
        parser.add_argument("target", choices=["customers", "contacts", "interactions", "leads", "contracts",
                                     "orders", "deliveries", "invoices", "payments", "resume"],
                            help="what the file holds (or `resume JOB` to continue an import)")
        parser.add_argument("file", help="the CSV or XLSX file (for resume: the job number)")
        parser.add_argument("--mapping", help="a JSON file {\"column\": \"field\"} or the name "
                                              "of a mapping saved in the web wizard")
        parser.add_argument("--mode", choices=["create", "update", "upsert"], default="upsert")
        parser.add_argument("--match", default="external_id,phone,email,name",
                            help="keys that identify an existing customer, in order "
                                 "(external_id, phone, email, name; comma separated)")
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="import the valid rows; write the others to the rejects file")
        parser.add_argument("--rejects", help="where to write rejected rows "
                                              "(default: FILE.rejects.csv)")
        parser.add_argument("--encoding", help="the file's encoding (default: detected)")
        parser.add_argument("--sheet", help="the worksheet of an XLSX file (default: the first)")
        parser.add_argument("--user", help="import as this user (default: the first "
                                           "administrator)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, **o):
        from guanxi.accounts.models import User
        from guanxi.dataio.engine import (
            IMPORT_KIND,
            ImportError_,
            ImportOptions,
            finish_job,
            job_title,
            run_import,
        )

        if o["user"]:
            actor = User.objects.filter(username=o["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"There is no active user {o['user']!r}.")
        else:
            actor = (User.objects.filter(is_active=True, role="admin").order_by("pk").first()
                     or User.objects.filter(is_superuser=True, is_active=True).first())
            if actor is None:
                raise CommandError("There is no administrator; create one with "
                                   "`guanxi createuser` or pass --user.")
        resume = None
        start_after = 0
        if o["target"] == "resume":
            job = Job.objects.filter(pk=int(o["file"]), kind=IMPORT_KIND).first()
            if job is None:
                raise CommandError(f"There is no import job {o['file']}.")
            options = ImportOptions.from_dict(job.params["options"])
            if not options.skip_invalid or job.status == JobStatus.SUCCEEDED:
                raise CommandError("Only a --skip-invalid import that stopped part-way can be "
                                   "resumed.")
            resume = job.result or {}
            start_after = resume.get("checkpoint", {}).get("row", 0)
            path = Path(job.params["path"])
            rejects = Path(resume["rejects"]) if resume.get("rejects") else None
        else:
            path = Path(o["file"])
            if not path.exists():
                raise CommandError(f"{path}: no such file.")
            options = ImportOptions(
                target=o["target"], mode=o["mode"],
                match=tuple(k.strip() for k in o["match"].split(",") if k.strip()),
                dry_run=o["dry_run"], skip_invalid=o["skip_invalid"], encoding=o["encoding"],
                sheet=o["sheet"], mapping=self._mapping(o["mapping"], o["target"]),
                batch_size=o["batch_size"])
            bad = set(options.match) - {"external_id", "phone", "email", "name"}
            if bad:
                raise CommandError(f"--match: unknown key(s) {', '.join(sorted(bad))}.")
            rejects = Path(o["rejects"]) if o["rejects"] else path.with_name(
                path.name + ".rejects.csv")
            job = Job.objects.create(
                kind=IMPORT_KIND, created_by=actor, status=JobStatus.QUEUED,
                title=job_title(options),
                params={"path": str(path.resolve()), "original_name": path.name,
                        "options": options.to_dict(), "cli": True})
        job_running(job.pk)
        started = time.monotonic()
        tty = sys.stderr.isatty() and not o["json"]
        last = [0.0]

        def progress(result):
            now = time.monotonic()
            if now - last[0] < 1 and tty:
                return
            last[0] = now
            rate = result.rows / max(now - started, 1e-6)
            line = f"{result.rows:,} rows · {rate:,.0f} rows/s"
            if tty:
                sys.stderr.write("\r" + line + " " * 10)
            elif not o["json"] and o["verbosity"] > 1:
                sys.stderr.write(line + "\n")
            sys.stderr.flush()

        try:
            result = run_import(path, options, actor=actor, job_id=job.pk,
                                original_name=path.name, rejects_path=rejects,
                                start_after=start_after, resume=resume, on_batch=progress)
        except ImportError_ as exc:
            job_failed(job.pk, str(exc))
            clear_live(job.pk)
            if o["json"]:
                self.stdout.write(json.dumps({"created": 0, "updated": 0, "unchanged": 0,
                                              "merged": 0, "rejected": 0, "errors": [
                                                  {"row": None, "column": "", "message": str(exc)}],
                                              "job": job.pk}, ensure_ascii=False))
                sys.exit(2)
            raise CommandError(str(exc)) from exc
        except BaseException as exc:
            job_failed(job.pk, f"{type(exc).__name__}: {exc}")
            raise
        if tty:
            sys.stderr.write("\r" + " " * 60 + "\r")
        job_succeeded(job.pk, finish_job(job.pk, result, start_after))
        if o["json"]:
            self.stdout.write(json.dumps(result.summary(), ensure_ascii=False))
        else:
            self._report(result, options)
        if result.rejected:
            sys.exit(1)

    def _mapping(self, value, target):
        if not value:
            return None
        p = Path(value)
        if p.exists():
            try:
                data = json.loads(p.read_text(encoding="utf-8-sig"))
            except ValueError as exc:
                raise CommandError(f"{p}: not a JSON object ({exc}).") from exc
            if not isinstance(data, dict):
                raise CommandError(f"{p}: not a JSON object.")
            return {str(k): str(v or "") for k, v in data.items()}
        from guanxi.dataio.models import SavedMapping

        saved = SavedMapping.objects.filter(target=target, name=value).first()
        if saved is None:
            raise CommandError(f"--mapping {value!r}: no such file and no saved mapping of "
                               f"that name.")
        return saved.mapping

    def _report(self, r, options):
        w = self.stdout.write
        head = "Dry run — nothing was written." if options.dry_run else (
            "Imported." if r.committed else "Nothing was imported.")
        w(head)
        w(f"  rows {r.rows:,}: created {r.created:,}, updated {r.updated:,}, unchanged "
          f"{r.unchanged:,}, merged {r.merged:,}, rejected {r.rejected:,}  ({r.seconds:.1f} s, "
          f"{r.rows / max(r.seconds, 1e-6):,.0f} rows/s; {r.format} {r.encoding})")
        for e in r.errors[:50]:
            w(f"  row {e.row}, {e.column or '-'}: {e.message}")
        if r.errors_total > 50:
            w(f"  … and {r.errors_total - 50:,} more problems")
        if r.near_total:
            w(f"  {r.near_total:,} near matches flagged for review on the duplicates page")
        if r.rejects:
            w(f"  rejected rows: {r.rejects}")
        if r.message:
            w("  " + r.message)
        w(f"  job #{r.job} ({timezone.now():%Y-%m-%d %H:%M})")
