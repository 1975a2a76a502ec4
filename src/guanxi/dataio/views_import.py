"""Import pages: the history, the upload wizard and one import's page.

1. `/imports/new/` takes what to import and the file; the engine stores it under
   DATA_DIR/imports and the session remembers it under a random token (the client
   only ever sends that token back, never a path).
2. `/imports/upload/<token>/map/` shows the file as read (format, encoding, first
   rows), a field per column, the mode, match keys and "skip invalid rows"; its two
   buttons start a dry run or the import (a Job of kind "import").
3. `/imports/<id>/` follows the job (HTMX polls the fragment every second while it
   runs) and then shows counts, problems, near matches, the rejects file and what
   can be done next: import after a clean check, import only the valid rows,
   resume an interrupted import.

Who may import what is the engine's rule (`engine.can_import`): customers and
contacts whoever may create customers (`can_create_customer`), interactions whoever
may log them; everyone else gets 403 on every page here. An import's page and
rejects file belong to the person who started it and to administrators (404 for
anyone else, via `jobs_visible_to`).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.core.jobs import ACTIVE_STATUSES, jobs_visible_to, read_live
from guanxi.core.models import Job, JobStatus

from .engine import (
    ImportError_,
    ImportOptions,
    can_import,
    resume_import_job,
    start_import_job,
    store_upload,
)
from .fields import TARGET_LABELS, fields_for, suggest_mapping, validate_mapping
from .forms import MATCH_CHOICES, MODE_CHOICES, MappingForm, ReadOptionsForm, UploadForm
from .models import SavedMapping
from .readers import ENCODINGS, ReadError, sniff

IMPORT_KIND = "import"
SESSION_KEY = "dataio_uploads"
RERUN_KEY = "dataio_reruns"
# Uploads remembered per session (the oldest are forgotten first).
SESSION_UPLOADS = 20
# Problems listed on an import's page; the total is always shown.
PROBLEMS_SHOWN = 500
NEAR_SHOWN = 500
PREVIEW_ROWS = 10
# A running import with no progress for this long is taken for stopped (killed process).
STALLED_AFTER = 300


def importable_targets(user) -> list[str]:
    """What `user` may import: customers and contacts whoever creates customers
    (`can_create_customer`), interactions whoever logs them (the engine's rule)."""
    return [t for t in TARGET_LABELS if can_import(user, t)]


def _require_importer(user, target: str | None = None) -> None:
    allowed = importable_targets(user)
    if not allowed or (target is not None and target not in allowed):
        raise PermissionDenied(_("You may not import data."))


def imports_dir() -> Path:
    return (Path(settings.DATA_DIR) / "imports").resolve()


def safe_import_file(path: Any) -> Path | None:
    """`path` as an existing file inside DATA_DIR/imports, or None (never trust a stored path)."""
    if not path or not isinstance(path, str | Path):
        return None
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not resolved.is_relative_to(imports_dir()) or not resolved.is_file():
        return None
    return resolved


def _is_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


# ---------------------------------------------------------------- uploads in the session


def _remember_upload(request: HttpRequest, path: Path, **info: Any) -> str:
    token = uuid.uuid4().hex
    uploads = dict(request.session.get(SESSION_KEY) or {})
    uploads[token] = {"path": str(path), "at": timezone.now().isoformat(), **info}
    if len(uploads) > SESSION_UPLOADS:
        for old in sorted(uploads, key=lambda t: uploads[t]["at"])[:-SESSION_UPLOADS]:
            del uploads[old]
    request.session[SESSION_KEY] = uploads
    return token


def _upload_or_404(request: HttpRequest, token: str) -> dict[str, Any]:
    upload = (request.session.get(SESSION_KEY) or {}).get(token)
    if not upload or upload.get("target") not in TARGET_LABELS:
        raise Http404(_("This upload is unknown or has expired: upload the file again."))
    path = safe_import_file(upload.get("path"))
    if path is None:
        raise Http404(_("The uploaded file is no longer there: upload it again."))
    return {**upload, "path": path, "token": token}


# ---------------------------------------------------------------- history


def options_of(job: Job) -> dict[str, Any]:
    params = job.params if isinstance(job.params, dict) else {}
    options = params.get("options")
    return options if isinstance(options, dict) else {}


def summary(job: Job) -> dict[str, Any]:
    """What the history and the job page show about an import."""
    options = options_of(job)
    result = job.result if isinstance(job.result, dict) else {}
    target = options.get("target", "customers")
    mode = options.get("mode", "upsert")
    return {
        "job": job,
        "target": target,
        "target_label": TARGET_LABELS.get(target, target),
        "file_name": (job.params or {}).get("original_name") or "",
        "mode": mode,
        "mode_label": dict(MODE_CHOICES).get(mode, mode),
        "dry_run": bool(options.get("dry_run")),
        "skip_invalid": bool(options.get("skip_invalid")),
        "match": options.get("match") or [],
        "done": job.status not in ACTIVE_STATUSES,
        "result": result,
        "counts": [(key, result.get(key)) for key in
                   ("created", "updated", "unchanged", "merged", "rejected")],
        "rows": result.get("rows"),
        "errors_total": int(result.get("errors_total") or len(result.get("errors") or [])),
        "has_rejects": safe_import_file(result.get("rejects")) is not None,
    }


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """Imports the user may see (administrators all, others their own), newest first."""
    _require_importer(request.user)
    qs = jobs_visible_to(request.user).filter(kind=IMPORT_KIND)
    page = Paginator(qs, settings.GUANXI_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [summary(job) for job in page.object_list]
    for row in rows:
        row["live"] = live_progress(row["job"]) if not row["done"] else None
    context = {"page": page, "rows": rows,
               "any_active": any(not row["done"] for row in rows)}
    template = ("dataio/import/partials/history_table.html" if _is_fragment(request)
                else "dataio/import/history.html")
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# ---------------------------------------------------------------- step 1: the file


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Step 1: what to import and the file (CSV/XLSX)."""
    user = request.user
    targets = importable_targets(user)
    _require_importer(user)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, targets=targets)
        if form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            path = store_upload(upload, user)
            token = _remember_upload(request, path, target=data["target"],
                                     name=Path(upload.name).name,
                                     encoding=data["encoding"], sheet=data["sheet"].strip())
            return redirect("imports:map", token=token)
    else:
        target = request.GET.get("target")
        form = UploadForm(initial={"target": target if target in targets else targets[0]},
                          targets=targets)
    return render(request, "dataio/import/start.html", {"form": form})


# ---------------------------------------------------------------- step 2: the columns


def _read_choice(request: HttpRequest, upload: dict[str, Any]) -> tuple[str, str]:
    """The encoding and sheet to read with: what the page sent, else what step 1 chose."""
    source = request.POST if request.method == "POST" else request.GET
    encoding = source.get("encoding", upload.get("encoding") or "")
    if encoding not in ENCODINGS:
        encoding = ""
    sheet = (source.get("sheet", upload.get("sheet") or "") or "").strip()[:100]
    return encoding, sheet


def _sheets_of(upload: dict[str, Any]) -> list[str]:
    """The workbook's sheets when reading the chosen one failed (empty for CSV)."""
    try:
        return sniff(upload["path"], original_name=upload["name"], rows=0).sheets
    except ReadError:
        return []


def _custom_defs(target: str) -> list:
    """Custom field definitions (customers only), loaded once per page."""
    if target != "customers":
        return []
    from guanxi.parties.models import CustomFieldDef

    return list(CustomFieldDef.objects.all())


def _initial_mapping(target: str, headers: list[str], saved: SavedMapping | None,
                     custom: list) -> dict[str, str]:
    """Suggested fields, overridden by a chosen saved mapping for the headers it knows."""
    suggested = suggest_mapping(target, headers, custom)
    if saved is None or not isinstance(saved.mapping, dict):
        return suggested
    return {h: (saved.mapping[h] if h in saved.mapping else suggested.get(h, ""))
            for h in headers}


def _saved_mapping(request: HttpRequest, target: str) -> SavedMapping | None:
    saved_id = request.GET.get("saved", "")
    if not saved_id.isdigit():
        return None
    return SavedMapping.objects.filter(target=target, pk=int(saved_id)).first()


@login_required
def map_columns(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: how the file reads, a field per column, options; check or import."""
    user = request.user
    _require_importer(user)
    upload = _upload_or_404(request, token)
    target = upload["target"]
    _require_importer(user, target)
    encoding, sheet = _read_choice(request, upload)
    context: dict[str, Any] = {"upload": upload, "token": token, "target": target,
                               "target_label": TARGET_LABELS[target],
                               "encoding": encoding, "sheet": sheet,
                               "is_xlsx": upload["name"].lower().endswith((".xlsx", ".xlsm"))}
    try:
        read = sniff(upload["path"], encoding=encoding or None, sheet=sheet or None,
                     original_name=upload["name"], rows=PREVIEW_ROWS)
    except ReadError as exc:
        sheets = _sheets_of(upload)
        context.update(read_error=str(exc), sheets=sheets,
                       read_form=ReadOptionsForm(initial={"encoding": encoding, "sheet": sheet},
                                                 sheets=sheets))
        return render(request, "dataio/import/map.html", context, status=200)
    if not read.headers:
        context.update(read_error=_("The file has no column names in its first row."),
                       sheets=read.sheets,
                       read_form=ReadOptionsForm(initial={"encoding": encoding, "sheet": sheet},
                                                 sheets=read.sheets))
        return render(request, "dataio/import/map.html", context)

    custom = _custom_defs(target)
    saved = _saved_mapping(request, target)
    form_kwargs = {"target": target, "headers": read.headers, "fields": fields_for(target, custom),
                   "initial_mapping": _initial_mapping(target, read.headers, saved, custom)}
    problems: list[str] = []
    if request.method == "POST":
        form = MappingForm(request.POST, **form_kwargs)
        action = request.POST.get("action")
        if form.is_valid() and action in ("dry_run", "import"):
            mapping = form.mapping()
            problems = validate_mapping(target, mapping, custom)
            if not problems:
                try:
                    job = _start_from_form(request, upload, form, mapping, encoding=encoding,
                                           sheet=sheet if read.format == "xlsx" else "",
                                           dry_run=action == "dry_run")
                except ImportError_ as exc:
                    problems = [str(exc)]
                else:
                    return redirect("imports:detail", pk=job.pk)
    else:
        form = MappingForm(**form_kwargs)
        problems = validate_mapping(target, form_kwargs["initial_mapping"], custom)

    width = len(read.headers)
    preview = [(n, (cells + [""] * width)[:width]) for n, cells, _raw in read.sample]
    examples = [next((cells[i] for _n, cells in preview if cells[i]), "") for i in range(width)]
    context.update(
        read=read,
        read_form=ReadOptionsForm(initial={"encoding": encoding or read.encoding,
                                           "sheet": sheet or (read.sheets[:1] or [""])[0]},
                                  sheets=read.sheets),
        encoding_label=ENCODINGS.get(read.encoding, read.encoding),
        preview=preview,
        form=form,
        columns=[(h, form[f"col_{i}"], examples[i]) for i, h in enumerate(read.headers)],
        problems=problems,
        saved=saved,
        saved_mappings=SavedMapping.objects.filter(target=target),
    )
    return render(request, "dataio/import/map.html", context)


def _start_from_form(request: HttpRequest, upload: dict[str, Any], form: MappingForm,
                     mapping: dict[str, str], *, encoding: str, sheet: str, dry_run: bool) -> Job:
    user = request.user
    data = form.cleaned_data
    target = upload["target"]
    if data["save_as"]:
        SavedMapping.objects.update_or_create(
            target=target, name=data["save_as"],
            defaults={"mapping": mapping, "created_by": user})
        messages.success(request, _("Mapping “%(name)s” saved.") % {"name": data["save_as"]})
    options = ImportOptions(
        target=target, mode=data["mode"], match=tuple(data.get("match") or ImportOptions.match),
        dry_run=dry_run,
        skip_invalid=data["skip_invalid"], encoding=encoding or None, sheet=sheet or None,
        mapping=mapping)
    return start_import_job(upload["path"], options, actor=user, original_name=upload["name"])


# ---------------------------------------------------------------- one import


def _import_job_or_404(user, pk: int) -> Job:
    return get_object_or_404(jobs_visible_to(user).filter(kind=IMPORT_KIND), pk=pk)


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return _("under a second")
    seconds = round(seconds)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)d min %(s)d s") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)d h %(m)d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


def live_progress(job: Job) -> dict[str, Any]:
    """Rows done, total, rows per second and time left of a running import.

    The engine's live numbers (`core.jobs.read_live`) when there are any, else what
    the Job row says, with the rate measured since the job started.
    """
    live = read_live(job.pk) or {}
    done = live.get("done", job.progress) or 0
    total = live.get("total", job.total)
    rate = live.get("rate")
    if rate is None and job.started_at and done:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        rate = done / elapsed if elapsed > 0 else None
    eta = live.get("eta")
    if eta is None and rate and total:
        eta = max(0, total - done) / rate
    percent = min(100, int(done * 100 / total)) if total else None
    last = live.get("at") or (job.started_at.timestamp() if job.started_at else None)
    stalled = (job.status == JobStatus.RUNNING and last is not None
               and time.time() - last > STALLED_AFTER)
    return {"done": done, "total": total, "rate": round(rate) if rate else None,
            "eta": human_seconds(eta) if eta is not None else "", "percent": percent,
            "phase": live.get("phase", ""), "stalled": stalled}


def _job_file(job: Job) -> Path | None:
    return safe_import_file((job.params or {}).get("path"))


def _next_steps(info: dict[str, Any], job: Job, live: dict[str, Any] | None = None
                ) -> dict[str, bool]:
    """Which follow-up buttons the import offers (a stalled one may be resumed too)."""
    result = info["result"]
    committed = bool(result.get("committed"))
    has_file = _job_file(job) is not None
    problems = info["errors_total"] or int(result.get("rejected") or 0)
    succeeded = job.status == JobStatus.SUCCEEDED
    return {
        "nothing_written": info["done"] and not committed and (info["dry_run"] or problems > 0
                                                               or not succeeded),
        "can_import_now": has_file and succeeded and info["dry_run"]
        and (problems == 0 or info["skip_invalid"]),
        "can_import_valid": has_file and info["done"] and not committed and problems > 0
        and not info["skip_invalid"],
        "can_resume": has_file and info["skip_invalid"] and not info["dry_run"]
        and (job.status == JobStatus.FAILED or bool(live and live["stalled"])),
    }


def near_matches(result: dict[str, Any], user) -> list[dict[str, Any]]:
    """The engine's near matches, with the existing customer linked only when the user
    may see it (its name comes from the database, scoped by `visible_to`)."""
    from guanxi.parties.models import Customer

    items = [m for m in result.get("near_matches") or [] if isinstance(m, dict)][:NEAR_SHOWN]
    ids = {m.get("customer") for m in items if isinstance(m.get("customer"), int)}
    names = dict(Customer.objects.visible_to(user).filter(pk__in=ids).values_list("pk", "name"))
    rows = []
    for m in items:
        cid = m.get("customer")
        rows.append({"row": m.get("row"), "name": m.get("name", ""), "score": m.get("score"),
                     "customer_id": cid if cid in names else None,
                     "customer_name": names.get(cid, "")})
    return rows


def _detail_context(job: Job, user) -> dict[str, Any]:
    info = summary(job)
    result = info["result"]
    errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
    match_labels = dict(MATCH_CHOICES)
    encoding = result.get("encoding") or ""
    live = live_progress(job) if not info["done"] else None
    near = near_matches(result, user) if info["done"] else []
    return {
        "job": job,
        "info": info,
        "active": not info["done"],
        "live": live,
        "problems": errors[:PROBLEMS_SHOWN],
        "problems_total": info["errors_total"],
        "problems_cut": info["errors_total"] > min(len(errors), PROBLEMS_SHOWN),
        "near_matches": near,
        "near_total": max(int(result.get("near_total") or 0), len(near)),
        "match_labels": [match_labels[k] for k in info["match"] if k in match_labels],
        "encoding_label": ENCODINGS.get(encoding, encoding),
        "took": human_seconds(result.get("seconds")) if result.get("seconds") is not None else "",
        "resumed_after": result.get("resumed_after") or 0,
        **_next_steps(info, job, live),
    }


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One import; while it runs HTMX polls the body every second, then it shows the result."""
    _require_importer(request.user)
    job = _import_job_or_404(request.user, pk)
    context = _detail_context(job, request.user)
    template = ("dataio/import/partials/job_body.html" if _is_fragment(request)
                else "dataio/import/detail.html")
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_POST
def rerun(request: HttpRequest, pk: int) -> HttpResponse:
    """After a check: import for real, with the same options or skipping invalid rows."""
    user = request.user
    job = _import_job_or_404(user, pk)
    info = summary(job)
    _require_importer(user, info["target"])
    steps = _next_steps(info, job)
    valid_only = request.POST.get("valid_only") == "1"
    if not (steps["can_import_valid"] if valid_only else steps["can_import_now"]):
        messages.error(request, _("This import can't be started again from here: upload the "
                                  "file again."))
        return redirect("imports:detail", pk=job.pk)
    # A second click on the same button goes to the import the first one started.
    started = dict(request.session.get(RERUN_KEY) or {})
    key = f"{job.pk}:{int(valid_only)}"
    if key in started and Job.objects.filter(pk=started[key], created_by=user).exists():
        return redirect("imports:detail", pk=started[key])
    options = {**options_of(job), "dry_run": False}
    if valid_only:
        options["skip_invalid"] = True
    try:
        new_job = start_import_job(_job_file(job), ImportOptions.from_dict(options), actor=user,
                                   original_name=info["file_name"])
    except ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect("imports:detail", pk=job.pk)
    started[key] = new_job.pk
    request.session[RERUN_KEY] = dict(list(started.items())[-SESSION_UPLOADS:])
    return redirect("imports:detail", pk=new_job.pk)


@login_required
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Carry on an interrupted skip-invalid import after its last committed batch."""
    user = request.user
    job = _import_job_or_404(user, pk)
    info = summary(job)
    _require_importer(user, info["target"])
    live = live_progress(job) if not info["done"] else None
    if not _next_steps(info, job, live)["can_resume"]:
        messages.error(request, _("Only a failed import that skips invalid rows can be "
                                  "resumed."))
        return redirect("imports:detail", pk=job.pk)
    try:
        job = resume_import_job(job, actor=user)
    except ImportError_ as exc:
        messages.error(request, str(exc))
    return redirect("imports:detail", pk=job.pk)


@login_required
@require_GET
def rejects(request: HttpRequest, pk: int) -> FileResponse:
    """The rejected rows of an import as CSV (owner and administrators only)."""
    _require_importer(request.user)
    job = _import_job_or_404(request.user, pk)
    path = safe_import_file((job.result or {}).get("rejects"))
    if path is None:
        raise Http404(_("This import has no rejects file."))
    stem = Path((job.params or {}).get("original_name") or "import").stem
    return FileResponse(path.open("rb"), as_attachment=True, content_type="text/csv",
                        filename=f"{stem}-rejects-{job.pk}.csv")
