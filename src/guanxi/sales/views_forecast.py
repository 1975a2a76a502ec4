"""The forecast page (/sales/forecast/) and the targets page (/sales/forecast/targets/).

Forecast: administrators, directors, managers, reps and finance (each sees the deals
`visible_to` them). Targets: administrators, directors and managers (their subtree);
everyone else gets 403.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts.models import Role
from guanxi.parties.views import is_fragment

from . import forecast as fc
from . import targets as tg
from .forecast_forms import ForecastForm, TargetForm
from .models import PeriodKind

FORECAST_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP, Role.FINANCE}
CHART_W, CHART_H, CHART_PAD = 720, 220, 28


def can_view_forecast(user) -> bool:
    return bool(user.is_active and (user.is_superuser or user.role in FORECAST_ROLES))


def trend_chart(points: list[tuple]) -> dict:
    """Bar positions of the won-revenue trend for the inline SVG (numbers only; the
    template writes the labels, escaped)."""
    top = max((v for _m, v in points), default=Decimal(0)) or Decimal(1)
    n = max(len(points), 1)
    slot = (CHART_W - 2 * CHART_PAD) / n
    usable = CHART_H - 2 * CHART_PAD
    bars = []
    for i, (month, value) in enumerate(points):
        h = float(value / top) * usable
        bars.append({"x": round(CHART_PAD + i * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1),
                     "y": round(CHART_H - CHART_PAD - h, 1), "h": round(h, 1),
                     "ty": round(CHART_H - CHART_PAD - h - 4, 1),
                     "cx": round(CHART_PAD + (i + 0.5) * slot, 1), "month": month,
                     "label": f"{month.month:02d}", "year": month.year, "value": value})
    return {"w": CHART_W, "h": CHART_H, "base": CHART_H - CHART_PAD, "label_y": CHART_H - 10,
            "left": CHART_PAD,
            "right": CHART_W - CHART_PAD, "bars": bars, "max": top,
            "total": sum((v for _m, v in points), Decimal(0))}


def _shift(kind: str, start, steps: int):
    step = 1 if kind == PeriodKind.MONTH else 3
    count = fc.PERIOD_COUNTS[kind]
    return fc.add_months(start, steps * step * count)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Pipeline, weighted, committed, won, target and attainment by period and group."""
    if not can_view_forecast(request.user):
        raise PermissionDenied
    form = ForecastForm(request.GET or None)
    opts = form.values()
    result = fc.forecast(request.user, kind=opts["kind"], start=opts["start"],
                         group_by=opts["group_by"])
    first = result.periods[0].start
    context = {
        "form": form, "fc": result, "group_label": fc.GROUPS[result.group_by],
        "prev_start": _shift(result.kind, first, -1).strftime("%Y-%m"),
        "next_start": _shift(result.kind, first, 1).strftime("%Y-%m"),
        "chart": trend_chart(fc.won_trend(request.user)),
        "can_manage_targets": tg.can_manage_targets(request.user),
    }
    template = ("sales/forecast/partials/body.html" if is_fragment(request)
                else "sales/forecast/overview.html")
    return render(request, template, context)


@login_required
def targets(request: HttpRequest) -> HttpResponse:
    """List the targets the user may see (with attainment) and set new ones."""
    if not tg.can_manage_targets(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = TargetForm(request.POST, actor=request.user)
        if form.is_valid():
            try:
                tg.target_set(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The target was saved."))
                return redirect("forecast:targets")
    else:
        today = timezone.localdate()
        form = TargetForm(actor=request.user,
                          initial={"period_start": fc.period_start(PeriodKind.MONTH, today)})
    since = fc.add_months(fc.period_start(PeriodKind.MONTH, timezone.localdate()), -12)
    qs = tg.targets_visible_to(request.user).filter(period_start__gte=since).order_by(
        "-period_start", "period_kind", "user__username", "team__path")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = []
    for target in page.object_list:
        att = tg.attainment(target, viewer=request.user)
        rows.append({"target": target, "won": att.won, "percent": att.percent,
                     "period": fc.period_of(target.period_kind, target.period_start),
                     "can_edit": tg.can_set_target(request.user, user=target.user,
                                                   team=target.team)})
    return render(request, "sales/forecast/targets.html",
                  {"form": form, "page": page, "rows": rows, "total": page.paginator.count})


@login_required
@require_POST
def target_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not tg.can_manage_targets(request.user):
        raise PermissionDenied
    target = get_object_or_404(tg.targets_visible_to(request.user), pk=pk)
    tg.target_delete(actor=request.user, target=target)
    messages.success(request, _("The target was deleted."))
    return redirect("forecast:targets")
