"""The director's dashboard page (administrators, directors, managers for their subtree)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import charts, rollups
from .dashboard import (
    PERIODS,
    STALE_CHOICES,
    Tree,
    breadcrumbs,
    can_view_dashboard,
    contacts_per_week,
    conversion,
    drill_down,
    parse_filters,
    pipeline_by_stage,
    sales_cycle,
    stale_deals,
)
from .models import Opportunity, ProductLine

# Below this many deals a missing summary is computed inline on the first visit;
# above it the refresh job is started instead.
INLINE_REFRESH_MAX_DEALS = 20_000


def _ensure_rollup(request: HttpRequest) -> None:
    if rollups.as_of() is not None:
        return
    if Opportunity.all_objects.count() <= INLINE_REFRESH_MAX_DEALS:
        rollups.refresh()
    else:
        rollups.start_refresh(actor=request.user)


@login_required
@require_GET
def director(request: HttpRequest) -> HttpResponse:
    if not can_view_dashboard(request.user):
        raise PermissionDenied
    _ensure_rollup(request)
    f = parse_filters(request.GET)
    tree = Tree()
    rows = drill_down(request.user, f, tree)
    stages = pipeline_by_stage(request.user, f)
    contacts = contacts_per_week(request.user, f)
    conv = conversion(request.user, f)
    cycle = sales_cycle(request.user, f, tree)
    stale = stale_deals(request.user, f)
    level_names = {"region": _("Region"), "office": _("Office"), "rep": _("Sales rep"),
                   "customer": _("Customer")}
    context = {
        "f": f,
        "periods": list(PERIODS.items()),
        "stale_choices": STALE_CHOICES,
        "product_lines": ProductLine.objects.filter(active=True),
        "crumbs": breadcrumbs(f),
        "level_name": level_names[f.level],
        "rows": rows,
        "totals": {"won": sum(r.won for r in rows), "pipeline": sum(r.pipeline for r in rows),
                   "weighted": sum(r.weighted for r in rows),
                   "won_count": sum(r.won_count for r in rows),
                   "open_count": sum(r.open_count for r in rows)},
        "drill_chart": charts.bar_chart([(r.label, r.won) for r in rows[:15]],
                                        title=_("Won revenue (元)"), empty=_("No deals won")),
        "pipe_chart": charts.bar_chart([(r.label, r.pipeline) for r in rows[:15]],
                                       title=_("Open pipeline (元)"), empty=_("No open deals")),
        "stages": stages,
        "stage_chart": charts.funnel_chart([(s.stage.name, s.count) for s in stages["open"]],
                                           title=_("Open deals by stage"),
                                           empty=_("No open deals")),
        "stage_amount_chart": charts.bar_chart(
            [(s.stage.name, s.amount) for s in stages["open"]],
            title=_("Open amount by stage (元)"), empty=_("No open deals")),
        "contacts": contacts,
        "contacts_chart": charts.stacked_bar_chart(
            [w.strftime("%m-%d") for w in contacts["weeks"]],
            [charts.Series(name, values) for name, values in contacts["by_outcome"]],
            title=_("Contacts per week by outcome"), empty=_("No contacts logged")),
        "conv": conv,
        "conv_chart": charts.funnel_chart(conv["funnel"], title=_("Deals reaching each stage"),
                                          empty=_("No deals created in the period")),
        "cycle": cycle,
        "cycle_chart": charts.bar_chart(
            [(str(r["team"] or _("(no office)")), r["days"] or 0) for r in cycle["offices"]],
            title=_("Average sales cycle (days)"), fmt=lambda v: f"{v:.0f}",
            empty=_("No deals won")),
        "stale": stale,
        "as_of": rollups.as_of(),
        "can_refresh": request.user.is_admin or request.user.role == "director",
        "now": timezone.now(),
    }
    return render(request, "sales/dashboard/director.html", context)


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Start recomputing the summary figures (administrators and directors)."""
    if not (can_view_dashboard(request.user)
            and (request.user.is_admin or request.user.role == "director")):
        raise PermissionDenied
    rollups.start_refresh(actor=request.user)
    messages.success(request, _("The dashboard figures are being recomputed."))
    return redirect("dashboard:director")
