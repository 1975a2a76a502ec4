"""Jobs pages: the list, one job with a live progress fragment, and the admin's start button."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .jobs import ACTIVE_STATUSES, jobs_visible_to
from .models import JobStatus
from .tasks import start_rebuild_search_index


@login_required
@require_GET
def job_list(request):
    """Jobs the user may see, newest first; the table refreshes itself while jobs run."""
    qs = jobs_visible_to(request.user)
    status = request.GET.get("status", "")
    if status in JobStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, settings.GUANXI_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "jobs": page.object_list,
        "status": status,
        "statuses": JobStatus.choices,
        "any_active": any(job.status in ACTIVE_STATUSES for job in page.object_list),
        "can_start": request.user.is_admin,
    }
    if request.htmx:
        return render(request, "core/partials/job_table.html", context)
    return render(request, "core/job_list.html", context)


def duration(job) -> str:
    """How long the job ran (or has been running): "42 s", "3 min 5 s", "2 h 10 min"."""
    if not job.started_at:
        return ""
    seconds = int(((job.finished_at or timezone.now()) - job.started_at).total_seconds())
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)d min %(s)d s") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)d h %(m)d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


@login_required
@require_GET
def job_detail(request, pk: int):
    """One job; HTMX polls the progress fragment every second while it is queued or running."""
    job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    context = {"job": job, "active": job.status in ACTIVE_STATUSES, "duration": duration(job)}
    if request.htmx:
        return render(request, "core/partials/job_progress.html", context)
    return render(request, "core/job_detail.html", context)


@login_required
@require_POST
def start_rebuild(request):
    """Administrators start the "rebuild search index" job."""
    if not request.user.is_admin:
        raise PermissionDenied
    job = start_rebuild_search_index(actor=request.user)
    messages.success(request, _("The job has been started."))
    return redirect("core:job_detail", pk=job.pk)
