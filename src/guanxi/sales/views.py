"""Opportunity pages: list (filters, totals, saved views), detail, create, edit, move,
delete, and the pipeline board with drag and drop.

Reads start from `Opportunity.objects.visible_to(user)` (404 otherwise); writes call
`sales.services`, which refuse with PermissionDenied (403) before touching anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.exceptions import ConflictError
from guanxi.parties.customer_page import visible_customer
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.models import Customer
from guanxi.parties.views import _vary, is_fragment

from . import saved_views, selectors, services
from .forms import MoveForm, OpportunityFilterForm, OpportunityForm, SavedViewForm
from .models import Opportunity, Pipeline, Stage, StageChange

PAGE_SIZE = 50
PICKER_LIMIT = 20


def visible_opportunity(request: HttpRequest, pk: int) -> Opportunity:
    qs = Opportunity.objects.visible_to(request.user).select_related(
        "customer", "stage", "pipeline", "owner", "team", "product_line", "contact")
    return get_object_or_404(qs, pk=pk)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _next_url(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


def _tasks_url(opportunity: Opportunity) -> str:
    try:
        return f"{reverse('tasks:create')}?opportunity={opportunity.pk}"
    except NoReverseMatch:
        return ""


def _may_create(user) -> bool:
    return user.is_active and user.role not in ("readonly", "finance", "service")


# ---------------------------------------------------------------- list


def _sort_links(current: str) -> dict[str, dict[str, str]]:
    links = {}
    for key in selectors.SORTS:
        if current == key:
            links[key] = {"param": f"-{key}", "dir": "ascending"}
        elif current == f"-{key}":
            links[key] = {"param": key, "dir": "descending"}
        else:
            links[key] = {"param": f"-{key}" if key in ("amount", "updated") else key,
                          "dir": ""}
    return links


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = OpportunityFilterForm(request.GET)
    qs = selectors.filtered(user, form.cleaned())
    totals = selectors.totals(qs)
    sort, rows = selectors.list_rows(qs, request.GET.get("sort"))
    paginator = Paginator(rows, PAGE_SIZE)
    paginator.count = totals["count"]  # already counted with the totals
    page = paginator.get_page(request.GET.get("page"))
    query = saved_views.clean_query(request.GET.urlencode())
    context = {
        "form": form,
        "page": page,
        "totals": totals,
        "sort": sort,
        "sort_links": _sort_links(sort),
        "query": query,
        "saved_views": list(saved_views.views_for(user)),
        "current_view": _int_or_none(request.GET.get("view")),
        "save_form": SavedViewForm(initial={"query": query}),
        "can_create": _may_create(user),
    }
    template = ("sales/opportunities/partials/results.html" if is_fragment(request)
                else "sales/opportunities/list.html")
    return _vary(render(request, template, context))


@login_required
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = saved_views.save_view(user=request.user, name=form.cleaned_data["name"],
                                         query=form.cleaned_data["query"],
                                         shared=form.cleaned_data["shared"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
            return redirect(f"{reverse('sales:list')}?{view.query}&view={view.pk}"
                            if view.query else f"{reverse('sales:list')}?view={view.pk}")
    else:
        messages.error(request, _("Give the view a name."))
    query = form.data.get("query", "")
    return redirect(f"{reverse('sales:list')}?{saved_views.clean_query(query)}")


@login_required
@require_POST
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(saved_views.views_for(request.user), pk=pk)
    saved_views.delete_view(user=request.user, view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("sales:list")


# ---------------------------------------------------------------- detail


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = visible_opportunity(request, pk)
    can_edit = services.can_edit_opportunity(request.user, deal)
    history = (StageChange.objects.filter(opportunity=deal)
               .select_related("from_stage", "to_stage", "by").order_by("at", "id"))
    log_url = reverse("activities:log", args=[deal.customer_id])
    context = {
        "deal": deal,
        "customer": deal.customer,
        "can_edit": can_edit,
        "history": list(history),
        "products": list(deal.products.select_related("product_line")),
        "score_pct": None if deal.score is None else round(deal.score * 100),
        "move_form": MoveForm(opportunity=deal) if can_edit else None,
        "tasks_url": _tasks_url(deal),
        "log_url": f"{log_url}?{urlencode({'opportunity': deal.pk, 'kind': 'visit'})}",
        "days_in_stage": selectors.days_in_stage(deal),
    }
    return render(request, "sales/opportunities/detail.html", context)


# ---------------------------------------------------------------- create / edit / delete


def _customer_picker(request: HttpRequest) -> HttpResponse:
    """Creating from the list: find the customer first (scales to any number of them)."""
    q = (request.GET.get("q") or "").strip()
    results: list[Customer] = []
    if q:
        results = list(Customer.objects.visible_to(request.user)
                       .filter(Q(name__icontains=q) | Q(short_name__icontains=q)
                               | Q(search_text__icontains=q.lower()))
                       .order_by("name")[:PICKER_LIMIT])
    return render(request, "sales/opportunities/pick_customer.html",
                  {"q": q, "results": results})


@login_required
def opportunity_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_create(user):
        raise PermissionDenied
    customer_pk = _int_or_none(request.POST.get("customer") or request.GET.get("customer"))
    if customer_pk is None:
        return _customer_picker(request)
    customer = visible_customer(request, customer_pk)
    if request.method == "POST":
        form = OpportunityForm(request.POST, customer=customer, user=user)
        if form.is_valid():
            try:
                deal = services.opportunity_create(actor=user, customer=customer,
                                                   **form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Opportunity “%(name)s” created.")
                                 % {"name": deal.name})
                return redirect("sales:detail", pk=deal.pk)
    else:
        form = OpportunityForm(customer=customer, user=user,
                               initial={"currency": "CNY", "exchange_rate": 1})
    return render(request, "sales/opportunities/form.html",
                  {"form": form, "customer": customer, "creating": True})


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    deal = visible_opportunity(request, pk)
    if not services.can_edit_opportunity(user, deal):
        raise PermissionDenied
    version, conflict = deal.version, None
    if request.method == "POST":
        form = OpportunityForm(request.POST, customer=deal.customer, user=user, instance=deal)
        sent_version = _int_or_none(request.POST.get("version"))
        version = sent_version or version
        if form.is_valid():
            try:
                services.opportunity_update(actor=user, opportunity=deal,
                                            version=sent_version, **form.service_data())
            except ConflictError as exc:
                conflict = conflict_rows("sales.opportunity", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("sales:detail", pk=deal.pk)
    else:
        form = OpportunityForm(customer=deal.customer, user=user, instance=deal)
    return render(request, "sales/opportunities/form.html",
                  {"form": form, "customer": deal.customer, "deal": deal,
                   "version": version, "conflict": conflict})


@login_required
@require_POST
def opportunity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = visible_opportunity(request, pk)
    services.opportunity_delete(actor=request.user, opportunity=deal)
    messages.success(request, _("“%(name)s” moved to the recycle bin.") % {"name": deal.name})
    return redirect(deal.customer)


# ---------------------------------------------------------------- move


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _board_fragment(request: HttpRequest, query: str) -> HttpResponse:
    params = QueryDict(query.lstrip("?"), mutable=False)
    return render(request, "sales/board/partials/board.html",
                  _board_context(request, params))


@login_required
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the move form. POST: move, answering the board's script with the fresh board
    (200), what is missing (422) or a version conflict (409); forms get a page."""
    deal = visible_opportunity(request, pk)
    as_json = request.method == "POST" and _wants_json(request)
    form = MoveForm(request.POST or None, opportunity=deal)
    missing: list[str] = []
    if request.method == "POST":
        if not form.is_valid():
            if as_json:
                return JsonResponse({"message": _("Pick a stage of this pipeline.")},
                                    status=422)
        else:
            stage: Stage = form.cleaned_data["stage"]
            try:
                services.opportunity_move(
                    actor=request.user, opportunity=deal, stage=stage,
                    version=form.cleaned_data.get("version"),
                    lost_reason=form.cleaned_data.get("lost_reason") or "")
            except PermissionDenied:
                if as_json:
                    return JsonResponse({"message": _("You may not move this deal.")},
                                        status=403)
                raise
            except services.StageGateError as exc:
                if as_json:
                    return JsonResponse({
                        "message": _("Before “%(stage)s”, still to do:") % {"stage": stage.name},
                        "stage": stage.name, "missing": exc.missing}, status=422)
                missing = exc.missing
                form.add_error(None, _("“%(stage)s” needs more first.") % {"stage": stage.name})
            except ConflictError:
                message = _("Someone else changed this deal meanwhile; the board was "
                            "reloaded, try again.")
                if as_json:
                    return JsonResponse({"message": message}, status=409)
                messages.error(request, message)
                return redirect("sales:detail", pk=deal.pk)
            except ValidationError as exc:
                if as_json:
                    return JsonResponse({"message": " ".join(exc.messages)}, status=422)
                apply_service_errors(form, exc)
            else:
                if as_json:
                    return _board_fragment(request, request.POST.get("board_query", ""))
                messages.success(request, _("“%(name)s” moved to %(stage)s.") % {
                    "name": deal.name, "stage": stage.name})
                return redirect(_next_url(request, reverse("sales:detail", args=[deal.pk])))
    elif not services.can_edit_opportunity(request.user, deal):
        raise PermissionDenied
    status = 422 if missing else 200
    return render(request, "sales/opportunities/move.html",
                  {"deal": deal, "customer": deal.customer, "form": form, "missing": missing,
                   "next": _next_url(request, "")}, status=status)


# ---------------------------------------------------------------- board


def _board_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    user = request.user
    if user.role == "rep" and "owner" not in params:
        # A rep's board opens on their own deals ("Anyone" shows all they may see).
        params = params.copy()
        params["owner"] = "me"
    form = OpportunityFilterForm(params)
    data = form.cleaned()
    pipeline = selectors.board_pipeline(params.get("pipeline"))
    columns = selectors.board_columns(user, pipeline, data) if pipeline else []
    stages = [c.stage for c in columns]
    for col in columns:
        for card in col.cards:
            card.can_move = selectors.can_move(user, card)
            card.days = selectors.days_in_stage(card)
    filters = {k: params.get(k) for k in OpportunityFilterForm.BOARD if params.get(k)}
    list_url = reverse("sales:list")
    for col in columns:
        col.more_url = (f"{list_url}?" + urlencode({**filters, "pipeline": pipeline.pk,
                                                    "stage": col.stage.pk}))
    query = urlencode({**filters, **({"pipeline": pipeline.pk} if pipeline else {})})
    return {
        "form": form,
        "pipeline": pipeline,
        "pipelines": list(Pipeline.objects.filter(active=True)),
        "columns": columns,
        "stages": stages,
        "board_query": query,
        "board_url": f"{reverse('sales:board')}?{query}",
        "cap": selectors.BOARD_CAP,
        # Card links are built from this prefix (/sales/<pk>/, /sales/<pk>/move/), not by
        # reversing two URLs per card; test_board checks they match sales:detail/move.
        "deal_prefix": reverse("sales:list"),
        "closed_days": selectors.BOARD_CLOSED_DAYS,
        "total_count": sum(c.count for c in columns),
        "total_amount": sum((c.amount for c in columns), start=Decimal(0)),
        "can_create": _may_create(user),
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    context = _board_context(request, request.GET)
    template = ("sales/board/partials/board.html" if is_fragment(request)
                else "sales/board/board.html")
    return _vary(render(request, template, context))
