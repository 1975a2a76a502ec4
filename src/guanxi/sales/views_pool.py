"""Pool (公海) pages: browse a pool's customers and leads and claim them, release back,
allocate and bulk-reassign (directors, administrators, managers within their subtree),
the owner-change history, pool settings and the auto-return job.

Reads start from `visible_to(user)` (404 otherwise); writes go through `sales.pool`
and `sales.setup_services`, which refuse before writing anything.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts.models import Role
from guanxi.core.models import Job
from guanxi.parties.models import Customer

from . import pool as svc
from . import setup_services
from .models import Lead, OwnerChange, Pool
from .pool_forms import (
    AllocateForm,
    HistoryFilterForm,
    PoolFilterForm,
    PoolSettingsForm,
    ReassignFilterForm,
    ReleaseForm,
)

PAGE_SIZE = 25


def _role(user) -> str:
    return Role.ADMIN if user.is_superuser else user.role


def _require_pool_user(user) -> None:
    if not user.is_active or _role(user) not in svc.OWNER_ROLES:
        raise PermissionDenied


def _require_assigner(user) -> None:
    if not user.is_active or _role(user) not in svc.ASSIGN_ROLES:
        raise PermissionDenied


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _lead_url_maker():
    try:
        reverse("leads:detail", args=[0])
    except NoReverseMatch:
        return lambda pk: ""
    return lambda pk: reverse("leads:detail", args=[pk])


# ---------------------------------------------------------------- the pool page


def _chosen_pool(request: HttpRequest, pools: list[Pool]) -> Pool | None:
    wanted = request.GET.get("pool")
    if wanted:
        chosen = next((p for p in pools if str(p.pk) == wanted), None)
        if chosen is None:
            raise Http404
        return chosen
    own = svc.pool_for_team(request.user.team)
    return next((p for p in pools if own and p.pk == own.pk), pools[0] if pools else None)


def _filter_customers(qs: QuerySet[Customer], data: dict[str, Any]) -> QuerySet[Customer]:
    if data.get("q"):
        q = data["q"].strip()
        qs = qs.filter(Q(name__icontains=q) | Q(short_name__icontains=q)
                       | Q(search_text__icontains=q.lower()))
    if data.get("city"):
        qs = qs.filter(city__icontains=data["city"].strip())
    if data.get("industry"):
        qs = qs.filter(industry=data["industry"])
    if data.get("tier"):
        qs = qs.filter(tier=data["tier"])
    return qs


def _filter_leads(qs: QuerySet[Lead], data: dict[str, Any]) -> QuerySet[Lead]:
    if data.get("q"):
        q = data["q"].strip()
        qs = qs.filter(Q(company__icontains=q) | Q(name__icontains=q) | Q(email__icontains=q))
    if data.get("city"):
        qs = qs.filter(city__icontains=data["city"].strip())
    if data.get("industry"):
        qs = qs.filter(industry=data["industry"])
    return qs  # leads have no tier


def _last_auto_return() -> Job | None:
    return Job.objects.filter(kind=svc.AUTO_RETURN).order_by("-created_at", "-pk").first()


@login_required
def pool_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_pool_user(user)
    pools = list(svc.pools_for_user(user))
    chosen = _chosen_pool(request, pools)
    tab = "leads" if request.GET.get("tab") == "leads" else "customers"
    form = PoolFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    summary = [{"pool": p, "customers": svc.pool_customers(user, p).count(),
                "leads": svc.pool_leads(user, p).count(), "active": p == chosen} for p in pools]
    page = None
    done = svc.claims_today(user)
    if chosen is not None:
        if tab == "leads":
            qs = _filter_leads(svc.pool_leads(user, chosen), data).select_related(
                "industry", "team", "pool").order_by("-created_at", "-pk")
        else:
            qs = _filter_customers(svc.pool_customers(user, chosen), data).select_related(
                "industry", "team").order_by("name", "pk")
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        row_pools = svc.pool_of_leads(rows) if tab == "leads" else svc.pool_of_customers(rows)
        lead_url = _lead_url_maker()
        for row in rows:
            limit_pool = row_pools.get(row.pk)
            row.claimable = limit_pool is None or done < limit_pool.daily_claim_limit
            row.url = lead_url(row.pk) if tab == "leads" else row.get_absolute_url()
        page.object_list = rows
    limit = chosen.daily_claim_limit if chosen is not None else None
    context = {
        "pools": summary,
        "chosen": chosen,
        "tab": tab,
        "form": form,
        "page": page,
        "claims_done": done,
        "claims_limit": limit,
        "claims_left": max(0, limit - done) if limit is not None else None,
        "can_allocate": _role(user) in svc.ASSIGN_ROLES,
        "allocate_form": AllocateForm(actor=user) if _role(user) in svc.ASSIGN_ROLES else None,
        "can_edit_pools": setup_services.can_edit_pools(user),
        "is_admin": user.is_admin,
        "last_run": _last_auto_return() if user.is_admin else None,
        "here": request.get_full_path(),
    }
    return render(request, "sales/pool/list.html", context)


# ---------------------------------------------------------------- claim and release


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_pool_user(user)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=pk)
    try:
        svc.claim(actor=user, customer=customer)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("“%(name)s” is now yours.") % {"name": customer})
    return redirect(_next(request, reverse("pools:list")))


@login_required
@require_POST
def claim_lead(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_pool_user(user)
    lead = get_object_or_404(Lead.objects.visible_to(user), pk=pk)
    try:
        svc.claim_lead(actor=user, lead=lead)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("The lead “%(name)s” is now yours.") % {"name": lead})
    return redirect(_next(request, reverse("pools:list") + "?tab=leads"))


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=pk)
    form = ReleaseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        svc.release(actor=user, customer=customer, note=note)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("“%(name)s” is back in the pool.") % {"name": customer})
    return redirect(_next(request, customer.get_absolute_url()))


@login_required
@require_POST
def release_lead(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = get_object_or_404(Lead.objects.visible_to(user), pk=pk)
    form = ReleaseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        svc.release_lead(actor=user, lead=lead, note=note)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("The lead “%(name)s” is back in the pool.") % {"name": lead})
    return redirect(_next(request, reverse("pools:list") + "?tab=leads"))


# ---------------------------------------------------------------- allocate and reassign


def _ids(request: HttpRequest) -> list[int]:
    return sorted({int(v) for v in request.POST.getlist("ids") if v.isdigit()})


def _assign(request: HttpRequest, *, kind: str, ids: list[int], form: AllocateForm) -> bool:
    """Give the selected customers or leads to the form's user; True when done."""
    user = request.user
    if not ids:
        messages.error(request, _("Select at least one row."))
        return False
    if kind == "leads":
        records = list(Lead.objects.visible_to(user).filter(pk__in=ids))
    else:
        records = list(Customer.objects.visible_to(user).filter(pk__in=ids))
    if len(records) != len(ids):
        messages.error(request, _("Some of the selected rows are not available to you."))
        return False
    to_user, note = form.cleaned_data["to_user"], form.cleaned_data["note"]
    try:
        if kind == "leads":
            n = svc.assign_leads(actor=user, leads=records, to_user=to_user, note=note)
        else:
            n = svc.assign(actor=user, customers=records, to_user=to_user, note=note)
    except PermissionDenied:
        messages.error(request, _("You may not give these to %(user)s.") % {"user": to_user})
        return False
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return False
    messages.success(request, _("%(n)s given to %(user)s.") % {"n": n, "user": to_user})
    return True


@login_required
@require_POST
def allocate(request: HttpRequest) -> HttpResponse:
    """Give pool customers or leads (selected on the pool page) to a rep."""
    user = request.user
    _require_assigner(user)
    form = AllocateForm(request.POST, actor=user)
    kind = "leads" if request.POST.get("kind") == "leads" else "customers"
    if form.is_valid():
        _assign(request, kind=kind, ids=_ids(request), form=form)
    else:
        messages.error(request, _("Choose whom to give them to."))
    return redirect(_next(request, reverse("pools:list")))


def _reassign_queryset(user, data: dict[str, Any]) -> QuerySet[Customer]:
    qs = Customer.objects.visible_to(user).select_related("owner", "team")
    if _role(user) == Role.MANAGER:
        subtree = user.team_subtree_ids()
        qs = qs.filter(Q(team_id__in=subtree) | Q(owner__team_id__in=subtree))
    if data.get("owner"):
        qs = qs.filter(owner=data["owner"])
    if data.get("in_pool"):
        qs = qs.filter(owner__isnull=True)
    if data.get("team"):
        qs = qs.filter(Q(team__path__startswith=data["team"].path)
                       | Q(owner__team__path__startswith=data["team"].path))
    if data.get("city"):
        qs = qs.filter(city__icontains=data["city"].strip())
    if data.get("tier"):
        qs = qs.filter(tier=data["tier"])
    if data.get("q"):
        q = data["q"].strip()
        qs = qs.filter(Q(name__icontains=q) | Q(search_text__icontains=q.lower()))
    return qs.order_by("owner__display_name", "name", "pk")


@login_required
def reassign(request: HttpRequest) -> HttpResponse:
    """Bulk reassignment of customers between reps (one owner change per customer)."""
    user = request.user
    _require_assigner(user)
    if request.method == "POST":
        form = AllocateForm(request.POST, actor=user)
        if form.is_valid():
            if _assign(request, kind="customers", ids=_ids(request), form=form):
                return redirect(_next(request, reverse("pools:reassign")))
        else:
            messages.error(request, _("Choose whom to give them to."))
    else:
        form = AllocateForm(actor=user)
    filters = ReassignFilterForm(request.GET, actor=user)
    filters.is_valid()
    qs = _reassign_queryset(user, filters.cleaned_data)
    page = Paginator(qs, settings.GUANXI_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sales/pool/reassign.html", {
        "filters": filters, "form": form, "page": page, "here": request.get_full_path(),
        "selected": set(_ids(request)) if request.method == "POST" else set(),
    })


# ---------------------------------------------------------------- history


def visible_owner_changes(user) -> QuerySet[OwnerChange]:
    """Owner changes of customers and leads the user may see."""
    customers = Customer.objects.visible_to(user).values("pk")
    leads = Lead.objects.visible_to(user).values("pk")
    return (OwnerChange.objects.filter(Q(customer__in=customers) | Q(lead__in=leads))
            .select_related("customer", "lead", "from_user", "to_user", "by", "pool"))


@login_required
def history(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = HistoryFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    qs = visible_owner_changes(user)
    customer_id = request.GET.get("customer_id", "")
    if customer_id.isdigit():
        qs = qs.filter(customer_id=int(customer_id))
    if data.get("customer"):
        text = data["customer"].strip()
        qs = qs.filter(Q(customer__name__icontains=text) | Q(lead__company__icontains=text)
                       | Q(lead__name__icontains=text))
    if data.get("user"):
        u = data["user"]
        qs = qs.filter(Q(from_user=u) | Q(to_user=u) | Q(by=u))
    if data.get("reason"):
        qs = qs.filter(reason=data["reason"])
    page = Paginator(qs.order_by("-at", "-id"), settings.GUANXI_PAGE_SIZE).get_page(
        request.GET.get("page"))
    lead_url = _lead_url_maker()
    for change in page.object_list:
        change.lead_url = lead_url(change.lead_id) if change.lead_id else ""
    return render(request, "sales/pool/history.html", {"form": form, "page": page})


# ---------------------------------------------------------------- settings, auto-return


@login_required
def pool_settings(request: HttpRequest) -> HttpResponse:
    if not setup_services.can_edit_pools(request.user):
        raise PermissionDenied
    pools = Pool.objects.select_related("team", "product_line").order_by("team__path", "name")
    return render(request, "sales/pool/settings.html", {"pools": pools})


@login_required
def pool_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request.user
    if not setup_services.can_edit_pools(user):
        raise PermissionDenied
    pool = get_object_or_404(Pool, pk=pk) if pk is not None else None
    form = PoolSettingsForm(request.POST or None, instance=pool)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in setup_services.POOL_FIELDS}
        try:
            setup_services.pool_save(actor=user, pool=Pool.objects.get(pk=pk) if pk else None,
                                     **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Pool saved."))
            return redirect("pools:settings")
    return render(request, "sales/pool/pool_form.html", {"form": form, "pool": pool})


@login_required
@require_POST
def auto_return_now(request: HttpRequest) -> HttpResponse:
    if not request.user.is_admin:
        raise PermissionDenied
    svc.start_auto_return(actor=request.user)
    messages.success(request, _("The automatic return has started; its result appears below."))
    return redirect("pools:list")
