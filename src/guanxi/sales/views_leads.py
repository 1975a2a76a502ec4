"""Lead pages: list, detail, create/edit, status actions, conversion, and the admin page
of public web forms (LeadForm).

Reads start from `Lead.objects.visible_to(user)` (404 otherwise); writes call the
services in `leads.py`, which refuse with PermissionDenied (403) before writing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.exceptions import ConflictError
from guanxi.parties.display import conflict_rows
from guanxi.parties.forms import apply_service_errors
from guanxi.parties.models import Customer

from . import leads as svc
from .lead_forms import ConvertForm, DisqualifyForm, LeadEditForm, LeadFilterForm, LeadFormForm
from .models import Lead, LeadForm, LeadStatus


def _is_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def visible_lead(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(
        Lead.objects.visible_to(request.user).select_related(
            "owner", "team", "pool", "industry", "product_line", "form", "converted_customer",
            "converted_opportunity", "converted_contact"), pk=pk)


# ---------------------------------------------------------------- list


def filtered_leads(user, data: dict[str, Any]):
    qs = Lead.objects.visible_to(user)
    q = (data.get("q") or "").strip()
    if q:
        cond = (Q(company__icontains=q) | Q(name__icontains=q) | Q(email__icontains=q)
                | Q(name_key__icontains=svc.company_key(q) or q))
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4:
            cond |= Q(phone__contains=digits)
        qs = qs.filter(cond)
    if data.get("source"):
        qs = qs.filter(source=data["source"])
    if data.get("scope") == "mine":
        qs = qs.filter(owner=user)
    elif data.get("scope") == "pool":
        qs = qs.filter(owner__isnull=True)
    if data.get("owner"):
        qs = qs.filter(owner=data["owner"])
    return qs


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = LeadFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    base = filtered_leads(user, data)
    counts = dict(base.order_by().values_list("status").annotate(n=Count("id")))
    qs = base.filter(status=data["status"]) if data.get("status") else base
    qs = qs.select_related("owner", "team", "product_line").order_by("-created_at", "-id")
    page = Paginator(qs, settings.GUANXI_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form, "page": page, "total": page.paginator.count,
        "status_counts": [(value, label, counts.get(value, 0))
                          for value, label in LeadStatus.choices],
        "all_count": sum(counts.values()),
        "current_status": data.get("status") or "",
        "can_create": svc.can_create_lead(user),
        "can_manage_forms": svc.can_manage_forms(user),
        "has_any": Lead.objects.visible_to(user).exists(),
    }
    template = ("sales/leads/partials/results.html" if _is_fragment(request)
                else "sales/leads/list.html")
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# ---------------------------------------------------------------- detail


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = visible_lead(request, pk)
    can_edit = svc.can_edit_lead(user, lead)
    converted = lead.status == LeadStatus.CONVERTED
    context = {
        "lead": lead,
        "can_edit": can_edit,
        "can_convert": can_edit and lead.status not in (LeadStatus.CONVERTED,
                                                        LeadStatus.UNQUALIFIED),
        "can_qualify": can_edit and lead.status in (LeadStatus.NEW, LeadStatus.WORKING,
                                                    LeadStatus.UNQUALIFIED),
        "can_disqualify": can_edit and lead.status in svc.OPEN_STATUSES,
        "can_reopen": can_edit and lead.status in (LeadStatus.QUALIFIED,
                                                   LeadStatus.UNQUALIFIED),
        "disqualify_form": DisqualifyForm(),
        "duplicates": [] if converted else svc.duplicates_for_lead(user, lead),
        "customer_visible": bool(lead.converted_customer_id) and Customer.objects.visible_to(
            user).filter(pk=lead.converted_customer_id).exists(),
        "in_pool": lead.owner_id is None,
    }
    return render(request, "sales/leads/detail.html", context)


# ---------------------------------------------------------------- create / edit


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not svc.can_create_lead(user):
        raise PermissionDenied
    if request.method == "POST":
        form = LeadEditForm(request.POST, user=user)
        if form.is_valid():
            try:
                # Non-reps send owner (None = the team's pool); a rep's lead is theirs.
                lead = svc.lead_create(actor=user, **form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Lead “%(lead)s” created.") % {"lead": lead})
                return redirect("leads:detail", pk=lead.pk)
    else:
        initial = {"owner": user.pk, "team": user.team_id}
        if phone := request.GET.get("phone", "").strip()[:40]:
            initial["phone"] = phone  # from the screen-pop's "unknown caller" page
        form = LeadEditForm(user=user, initial=initial)
    return render(request, "sales/leads/form.html", {"form": form, "creating": True})


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = visible_lead(request, pk)
    if not svc.can_edit_lead(user, lead):
        raise PermissionDenied
    version, conflict = lead.version, None
    if request.method == "POST":
        form = LeadEditForm(request.POST, user=user, instance=lead)
        sent = _int_or_none(request.POST.get("version"))
        version = sent or version
        if form.is_valid():
            try:
                svc.lead_update(actor=user, lead=lead, version=sent, **form.service_data())
            except ConflictError as exc:
                conflict = conflict_rows("sales.lead", exc.theirs)
                version = exc.current_version
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("leads:detail", pk=lead.pk)
    else:
        form = LeadEditForm(user=user, instance=lead)
    return render(request, "sales/leads/form.html",
                  {"form": form, "lead": lead, "version": version, "conflict": conflict})


@login_required
@require_POST
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lead = visible_lead(request, pk)
    svc.lead_delete(actor=request.user, lead=lead)
    messages.success(request, _("Lead “%(lead)s” moved to the recycle bin.") % {"lead": lead})
    return redirect("leads:list")


# ---------------------------------------------------------------- status


def _status_action(request: HttpRequest, pk: int, action) -> HttpResponse:
    lead = visible_lead(request, pk)
    try:
        action(lead)
    except ConflictError:
        messages.error(request, _("Someone else changed this lead meanwhile; check and try "
                                  "again."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("leads:detail", pk=lead.pk)


@login_required
@require_POST
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    version = _int_or_none(request.POST.get("version"))
    return _status_action(request, pk, lambda lead: svc.lead_qualify(
        actor=request.user, lead=lead, version=version))


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    version = _int_or_none(request.POST.get("version"))
    reason = request.POST.get("unqualified_reason", "")
    return _status_action(request, pk, lambda lead: svc.lead_disqualify(
        actor=request.user, lead=lead, reason=reason, version=version))


@login_required
@require_POST
def lead_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    version = _int_or_none(request.POST.get("version"))
    return _status_action(request, pk, lambda lead: svc.lead_reopen(
        actor=request.user, lead=lead, version=version))


# ---------------------------------------------------------------- conversion


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach to a suggested existing customer or create a new one; opportunity fields
    prefilled from the lead; everything written in one transaction by the service."""
    user = request.user
    lead = visible_lead(request, pk)
    if not svc.can_edit_lead(user, lead):
        raise PermissionDenied
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.UNQUALIFIED):
        messages.error(request, _("Only an open lead can be converted."))
        return redirect("leads:detail", pk=lead.pk)
    duplicates = svc.duplicates_for_lead(user, lead)
    if request.method == "POST":
        form = ConvertForm(request.POST, duplicates=duplicates)
        if form.is_valid():
            target = form.cleaned_data["target"]
            customer = None if target == "new" else form.duplicates[target]["customer"]
            try:
                lead = svc.lead_convert(
                    actor=user, lead=lead, customer=customer,
                    version=_int_or_none(request.POST.get("version")),
                    create_opportunity=form.cleaned_data["create_opportunity"],
                    opportunity=form.opportunity_data())
            except ConflictError:
                form.add_error(None, _("Someone else changed this lead meanwhile; check it "
                                       "and convert again."))
            except ValidationError as exc:
                apply_service_errors(form, exc, field_map=ConvertForm.FIELD_MAP)
            else:
                messages.success(request, _("Lead converted into “%(customer)s”.")
                                 % {"customer": lead.converted_customer})
                return redirect(lead.converted_customer)
    else:
        first = duplicates[0] if duplicates and duplicates[0]["score"] >= 55 else None
        form = ConvertForm(duplicates=duplicates, initial={
            "target": str(first["customer"].pk) if first else "new",
            "create_opportunity": True,
            "opp_name": lead.company or lead.name,
            "opp_amount": lead.estimated_amount,
            "opp_product_line": lead.product_line_id,
        })
    return render(request, "sales/leads/convert.html",
                  {"lead": lead, "form": form, "duplicates": duplicates})


# ---------------------------------------------------------------- web forms (admin)


def _require_forms(user) -> None:
    if not svc.can_manage_forms(user):
        raise PermissionDenied


@login_required
def leadform_list(request: HttpRequest) -> HttpResponse:
    _require_forms(request.user)
    rows = []
    for obj in LeadForm.objects.select_related("team", "owner").annotate(n=Count("leads")):
        url = request.build_absolute_uri(reverse("leadform:public", args=[obj.key]))
        snippet = (f'<iframe src="{url}" width="100%" height="640" '
                   f'style="border:0" title="{obj.name}"></iframe>')
        rows.append({"form": obj, "url": url, "snippet": snippet})
    return render(request, "sales/leads/forms_list.html", {"rows": rows})


def _leadform_page(request: HttpRequest, obj: LeadForm | None) -> HttpResponse:
    user = request.user
    _require_forms(user)
    if request.method == "POST":
        form = LeadFormForm(request.POST, instance=obj)
        if form.is_valid():
            try:
                if obj is None:
                    svc.leadform_create(actor=user, **form.cleaned_data)
                else:
                    svc.leadform_update(actor=user, leadform=obj, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Web form saved."))
                return redirect("leads:forms")
    else:
        form = LeadFormForm(instance=obj)
    return render(request, "sales/leads/form_edit.html", {"form": form, "obj": obj})


@login_required
def leadform_create(request: HttpRequest) -> HttpResponse:
    return _leadform_page(request, None)


@login_required
def leadform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_forms(request.user)
    return _leadform_page(request, get_object_or_404(LeadForm, pk=pk))
