"""Running an import: read, validate, de-duplicate, write — all or nothing, or in batches.

    result = run_import(path, ImportOptions(target="customers", dry_run=True), actor=user)

Transactions:
- default: the whole import is one transaction. Every row is validated and written;
  if any row was rejected, or on a dry run, everything is rolled back at the end, so
  the counts a dry run shows are exactly what the import would do. A killed import
  leaves nothing behind.
- `skip_invalid`: each batch of BATCH_SIZE rows commits on its own together with a
  checkpoint on the job (the last row number and the counts), rejected rows go to the
  rejects file, and a killed job resumes after its checkpoint (`resume_import_job`).

created + updated + unchanged + merged + rejected == rows (data rows that are not
empty). Progress goes to the job's live file (core.jobs.write_live) since the job
row itself is inside the transaction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.core.jobs import clear_live, start_job, write_live
from guanxi.core.models import Job, JobStatus
from guanxi.parties import permissions as perms
from guanxi.parties.models import Customer

from . import cleaning
from .commerce import ERP_TARGETS
from .commerce import JOB_TITLES as ERP_JOB_TITLES
from .fields import TARGET_LABELS, fields_for, suggest_mapping, validate_mapping
from .prepare import Row, prepared, workers_for
from .readers import ReadError, open_table, write_rejects

BATCH_SIZE = 2000
MAX_ERRORS = 100_000  # kept in the result; the count is always exact
MODES = ("create", "update", "upsert")
IMPORT_KIND = "import"


class ImportError_(Exception):
    """The import can't start (bad options, unreadable file, wrong mapping)."""


@dataclass
class ImportOptions:
    target: str = "customers"
    mode: str = "upsert"
    match: tuple[str, ...] = ("external_id", "phone", "email", "name")
    dry_run: bool = False
    skip_invalid: bool = False
    encoding: str | None = None
    sheet: str | None = None
    mapping: dict[str, str] | None = None
    batch_size: int = BATCH_SIZE

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["match"] = list(self.match)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImportOptions:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "match" in known:
            known["match"] = tuple(known["match"])
        return cls(**known)


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    near_matches: list[dict[str, Any]] = field(default_factory=list)
    near_total: int = 0
    rejects: str = ""
    dry_run: bool = False
    committed: bool = False
    seconds: float = 0.0
    encoding: str = ""
    format: str = ""
    job: int | None = None
    checkpoint: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = [asdict(e) for e in self.errors]
        return d

    def summary(self) -> dict[str, Any]:
        """The `--json` object."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "merged": self.merged, "rejected": self.rejected,
                "errors": [asdict(e) for e in self.errors], "job": self.job}


class _Rollback(Exception):
    pass


def can_import(actor, target: str) -> bool:
    """Customers and contacts: whoever creates customers; interactions: whoever logs them."""
    if not getattr(actor, "is_active", False):
        return False
    if target == "interactions":
        return (actor.is_superuser or actor.role in perms.LOGGER_ROLES)
    if target == "leads":
        from guanxi.sales.leads import can_create_lead

        return can_create_lead(actor)
    if target in ERP_TARGETS:
        from guanxi.servicedesk.permissions import can_sync_erp

        return can_sync_erp(actor)
    return perms.can_create_customer(actor)


def _editable(actor) -> Callable[[set[int]], set[int]]:
    """Which of these customer ids may `actor` change (the services' rule, in bulk)."""
    role = "admin" if actor.is_superuser else actor.role

    def check(ids: set[int]) -> set[int]:
        if not ids:
            return set()
        if role in ("admin", "director", "marketing"):
            return set(ids)
        qs = Customer.objects.visible_to(actor).filter(pk__in=ids)
        if role == "rep":
            from django.db.models import Q

            qs = qs.filter(Q(owner=actor) | Q(shared_with=actor))
        return set(qs.values_list("pk", flat=True))

    return check


def _progress(job_id: int | None, done: int, table, started: float, phase: str,
              read: int = 0) -> None:
    if not job_id:
        return
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = done / elapsed
    pos = table.position()
    total = table.total_rows or None
    if total is None and table.format == "csv" and pos > 0:
        # Rows read so far (ahead of those done) over bytes read so far.
        total = max(done, int(max(read, done) * table.size / pos))
    eta = (total - done) / rate if total and rate > 0 else None
    write_live(job_id, done=done, total=total, rate=round(rate, 1),
               eta=round(eta, 1) if eta is not None else None, phase=phase)


def run_import(path: Path | str, options: ImportOptions, *, actor, job_id: int | None = None,
               original_name: str = "", rejects_path: Path | None = None,
               start_after: int = 0, resume: dict[str, Any] | None = None,
               on_batch: Callable[[ImportResult], None] | None = None) -> ImportResult:
    """Import `path`; see the module docstring. Raises ImportError_ before writing anything
    when the options, the file or the mapping can't work."""
    started = time.monotonic()
    if options.target not in ("customers", "contacts", "interactions", "leads", *ERP_TARGETS):
        raise ImportError_(_("Unknown import target “%(t)s”.") % {"t": options.target})
    if options.mode not in MODES:
        raise ImportError_(_("Unknown mode “%(m)s”: use create, update or upsert.")
                           % {"m": options.mode})
    if not can_import(actor, options.target):
        raise ImportError_(_("You may not import %(target)s.")
                           % {"target": TARGET_LABELS[options.target]})
    result = ImportResult(dry_run=options.dry_run, job=job_id)
    if resume:
        for k in ("rows", "created", "updated", "unchanged", "merged", "rejected",
                  "errors_total", "near_total"):
            setattr(result, k, resume.get(k, 0))
    try:
        table = open_table(path, encoding=options.encoding, sheet=options.sheet,
                           original_name=original_name)
    except (ReadError, OSError) as exc:
        raise ImportError_(str(exc)) from exc
    with table:
        result.encoding, result.format = table.encoding, table.format
        mapping = options.mapping or suggest_mapping(options.target, table.headers)
        unknown = [h for h in mapping if h not in table.headers]
        if unknown:
            raise ImportError_(_("The mapping names columns the file doesn't have: %(cols)s")
                               % {"cols": "、".join(unknown)})
        problems = validate_mapping(options.target, mapping)
        if problems:
            raise ImportError_(" ".join(problems))
        columns = [(i, h, mapping.get(h, "")) for i, h in enumerate(table.headers)]
        columns = [(i, h, f) for i, h, f in columns if f]
        header_of = {f: h for _i, h, f in columns}
        lookups = cleaning.Lookups()
        if options.target == "customers":
            from .customers import CustomerBatcher

            writer = CustomerBatcher(actor=actor, options=options, job_id=job_id,
                                     editable_ids=_editable(actor))
        elif options.target == "leads":
            from .leads import LeadBatcher

            writer = LeadBatcher(actor=actor, options=options, job_id=job_id)
        elif options.target in ERP_TARGETS:
            from .commerce import ErpBatcher

            writer = ErpBatcher(actor=actor, options=options, job_id=job_id)
        else:
            from .simple import SimpleBatcher

            writer = SimpleBatcher(actor=actor, options=options, job_id=job_id,
                                   editable_ids=_editable(actor))
        rejects: list[tuple[list[str], str]] = []
        if rejects_path is None and not options.dry_run:
            rejects_path = Path(path).with_name("rejects.csv")
        if rejects_path is not None:
            result.rejects = str(rejects_path)
        append_rejects = bool(resume)

        def reject(row, column: str, message: str) -> None:
            result.rejected += 1
            result.errors_total += 1
            label = header_of.get(column, column)
            if len(result.errors) < MAX_ERRORS:
                result.errors.append(RowError(row.number, label, message))
            rejects.append((row.raw, f"{label}: {message}" if label else message))

        read = [0]

        def raw_batches():
            batch: list = []
            for number, cells, raw in table.rows():
                if number <= start_after:
                    continue
                read[0] += 1
                batch.append((number, cells, raw))
                if len(batch) >= options.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

        def batches():
            return prepared(raw_batches(), columns=columns, target=options.target,
                            lookups=lookups, workers=workers_for(table.size))

        def handle(batch) -> None:
            good = []
            for number, raw, data, errors, pre in batch:
                result.rows += 1
                if errors:
                    result.rejected += 1
                    result.errors_total += len(errors)
                    for key, message in errors:
                        if len(result.errors) < MAX_ERRORS:
                            result.errors.append(RowError(number, header_of.get(key, key), message))
                    rejects.append((raw, "; ".join(
                        f"{header_of.get(k, k)}: {m}" for k, m in errors)))
                else:
                    good.append(Row(number, raw, data, pre=pre))
            writer.process(good, result, reject)
            result.checkpoint = {"row": batch[-1][0]}

        def flush_rejects() -> None:
            nonlocal append_rejects
            if rejects and rejects_path is not None and not options.dry_run:
                write_rejects(rejects_path, table.headers, rejects, append=append_rejects)
                append_rejects = True
            rejects.clear()

        try:
            with _page_cache():
                if options.skip_invalid and not options.dry_run:
                    for batch in batches():
                        with transaction.atomic():
                            handle(batch)
                            if job_id:
                                Job.objects.filter(pk=job_id).update(
                                    progress=result.rows,
                                    result=_checkpoint_result(result, writer))
                        flush_rejects()
                        _progress(job_id, result.rows, table, started, "writing", read[0])
                        if on_batch:
                            on_batch(result)
                    result.committed = True
                else:
                    try:
                        with transaction.atomic():
                            for batch in batches():
                                handle(batch)
                                _progress(job_id, result.rows, table, started, "checking"
                                          if options.dry_run else "writing", read[0])
                                if on_batch:
                                    on_batch(result)
                            if options.dry_run or result.rejected:
                                raise _Rollback
                        result.committed = True
                    except _Rollback:
                        result.committed = False
                    if result.rejected and not options.dry_run:
                        result.message = _("Nothing was imported: %(n)s rows have problems. Correct "
                                           "them, or import the valid rows and get a rejects file.") \
                            % {"n": result.rejected}
                    flush_rejects()
        except ReadError as exc:
            raise ImportError_(str(exc)) from exc
        result.near_matches = writer.near
        result.seconds = round(time.monotonic() - started, 2)
        if not rejects_path or not Path(rejects_path).exists():
            result.rejects = ""
        return result


@contextmanager
def _page_cache(mb: int = 48):
    """A bigger SQLite page cache while importing: the new rows go into half a dozen
    indexes at random places, and the default 2 MB cache makes that disk-bound."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        old = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size={-int(mb) * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size={int(old)}")


def finish_job(job_id: int, result: ImportResult, start_after: int = 0) -> dict[str, Any]:
    """What an import job keeps as its result (problem lists capped), and its counts."""
    clear_live(job_id)
    data = result.as_dict()
    data["errors"] = data["errors"][:5000]
    data["near_matches"] = data["near_matches"][:1000]
    data["resumed_after"] = start_after
    Job.objects.filter(pk=job_id).update(total=result.rows, progress=result.rows)
    return data


def _checkpoint_result(result: ImportResult, writer) -> dict[str, Any]:
    d = result.as_dict()
    d["errors"] = d["errors"][:500]
    d["near_matches"] = writer.near[:500]
    d["running"] = True
    return d


# --- Uploads and jobs --------------------------------------------------------------------


def imports_dir() -> Path:
    folder = settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(uploaded, actor=None) -> Path:
    """Save an uploaded file under DATA_DIR/imports/<random>/ and return its path."""
    folder = imports_dir() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    name = get_valid_filename(Path(uploaded.name).name) or "upload"
    path = folder / name
    with open(path, "wb") as f:
        f.writelines(uploaded.chunks())
    return path


def is_import_path(path: str | Path) -> bool:
    """Whether `path` lies inside the imports folder (never open anything else)."""
    try:
        Path(path).resolve().relative_to(imports_dir().resolve())
        return True
    except ValueError:
        return False


JOB_TITLES = {
    ("customers", False): gettext_noop("Import customers"),
    ("contacts", False): gettext_noop("Import contacts"),
    ("interactions", False): gettext_noop("Import interactions"),
    ("customers", True): gettext_noop("Check customers before import"),
    ("contacts", True): gettext_noop("Check contacts before import"),
    ("interactions", True): gettext_noop("Check interactions before import"),
    ("leads", False): gettext_noop("Import leads"),
    ("leads", True): gettext_noop("Check leads before import"),
}
JOB_TITLES.update(ERP_JOB_TITLES)


def job_title(options: ImportOptions) -> str:
    """Stored as English source text; job pages translate it when shown."""
    return JOB_TITLES[(options.target, bool(options.dry_run))]


def start_import_job(path: Path | str, options: ImportOptions, *, actor,
                     original_name: str = "") -> Job:
    from .tasks import run_import_job

    if not is_import_path(path):
        raise ImportError_(_("Import files must be uploaded first."))
    title = job_title(options)
    return start_job(actor=actor, kind=IMPORT_KIND, title=title, task=run_import_job,
                     params={"path": str(path), "original_name": original_name or Path(path).name,
                             "options": options.to_dict(),
                             "language": translation.get_language() or ""})


def resume_import_job(job: Job, *, actor) -> Job:
    """Continue a skip-invalid import that stopped, after its last committed batch."""
    from .tasks import run_import_job

    if job.kind != IMPORT_KIND or job.status in (JobStatus.SUCCEEDED,):
        raise ImportError_(_("Only an import that stopped part-way can be resumed."))
    opts = ImportOptions.from_dict(job.params.get("options", {}))
    if not opts.skip_invalid:
        raise ImportError_(_("This import wrote nothing; start it again instead."))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, finished_at=None)
    job.refresh_from_db()
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


__all__ = ["BATCH_SIZE", "ImportError_", "ImportOptions", "ImportResult", "RowError",
           "fields_for", "imports_dir", "is_import_path", "resume_import_job", "run_import",
           "start_import_job", "store_upload", "suggest_mapping"]
