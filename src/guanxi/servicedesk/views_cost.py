"""Cost to serve: /service/cost/ ranks the customers a user sees by what serving them
cost in a period, with their revenue and the cost/revenue ratio (see cost.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import cost
from . import permissions as perms

PER_PAGE = 50


@login_required
@require_GET
def ranking(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not perms.can_see_service_figures(user):
        raise PermissionDenied
    since, until = cost.parse_period(request.GET.get("since"), request.GET.get("until"))
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    page = cost.cost_ranking(user, since, until, page=number, per_page=PER_PAGE)
    return render(request, "servicedesk/cost_ranking.html", {"page": page})
