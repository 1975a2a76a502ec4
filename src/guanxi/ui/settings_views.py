"""The settings area (administrators only; 404 for everyone else): custom fields,
industries, industry packs and the contact interval per tier."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts.decorators import admin_required
from guanxi.accounts.forms import apply_errors
from guanxi.core import site_settings
from guanxi.parties import config_services, packs
from guanxi.parties.models import CustomFieldDef, Industry

from . import selectors
from .forms import CustomFieldForm, IndustryForm, IntervalsForm


@admin_required
def settings_index(request):
    pack_code = packs.applied_pack_code()
    pack = packs.get_pack(pack_code) if pack_code else None
    return render(request, "ui/settings/index.html", {
        "section": "overview",
        "pack": pack,
        "intervals": site_settings.contact_interval_days(),
        "n_fields": CustomFieldDef.objects.count(),
        "n_industries": Industry.objects.count(),
    })


# --- Custom fields --------------------------------------------------------------------


def _choice_lines(d: CustomFieldDef) -> str:
    return "\n".join(str(c["value"]) if isinstance(c, dict) else str(c) for c in d.choices)


@admin_required
def custom_field_list(request):
    fields = list(CustomFieldDef.objects.select_related("industry"))
    for d in fields:
        d.display_label = packs.field_label(d)
        d.display_choices = [label for _value, label in packs.choice_options(d)]
        d.industry_display = packs.industry_label(d.industry) if d.industry else None
    return render(request, "ui/settings/custom_fields.html",
                  {"section": "fields", "fields": fields})


def _field_data(form: CustomFieldForm) -> dict:
    keys = ["label", "field_type", "industry", "choices", "required", "help_text", "order"]
    return {k: form.cleaned_data[k] for k in keys}


@admin_required
def custom_field_create(request):
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            d = config_services.custom_field_create(
                actor=request.user, key=form.cleaned_data["key"], **_field_data(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Custom field “%(label)s” created.") % {"label": d.label})
            return redirect("ui:custom_field_list")
    return render(request, "ui/settings/custom_field_form.html",
                  {"section": "fields", "form": form})


@admin_required
def custom_field_edit(request, pk: int):
    d = get_object_or_404(CustomFieldDef, pk=pk)
    initial = {"key": d.key, "label": d.label, "field_type": d.field_type,
               "industry": d.industry, "choices": _choice_lines(d), "required": d.required,
               "help_text": d.help_text, "order": d.order}
    form = CustomFieldForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            config_services.custom_field_update(actor=request.user, field=d, **_field_data(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Custom field “%(label)s” saved.")
                             % {"label": form.cleaned_data["label"]})
            return redirect("ui:custom_field_list")
    return render(request, "ui/settings/custom_field_form.html",
                  {"section": "fields", "form": form, "object": d})


@admin_required
def custom_field_delete(request, pk: int):
    """GET: confirm, saying how many customers hold a value. POST: delete."""
    d = get_object_or_404(CustomFieldDef, pk=pk)
    if request.method == "POST":
        config_services.custom_field_delete(actor=request.user, field=d)
        messages.success(request, _("Custom field “%(label)s” deleted.") % {"label": d.label})
        return redirect("ui:custom_field_list")
    return render(request, "ui/settings/custom_field_confirm_delete.html", {
        "section": "fields", "object": d, "label": packs.field_label(d),
        "usage": selectors.custom_field_usage(d.key),
    })


# --- Industries -----------------------------------------------------------------------


@admin_required
def industry_list(request):
    form = IndustryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            industry = config_services.industry_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Industry “%(name)s” added.") % {"name": industry.name})
            return redirect("ui:industry_list")
    industries = list(Industry.objects.annotate(n_fields=Count("custom_fields")))
    for i in industries:
        i.display_name = packs.industry_label(i)
    return render(request, "ui/settings/industries.html",
                  {"section": "industries", "form": form, "industries": industries})


# --- Industry packs -------------------------------------------------------------------


@admin_required
def pack_list(request):
    rows = [
        {"code": p.code, "title": p.title(), "summary": p.summary(), "fields": p.field_labels(),
         "industries": p.industry_names(), "stages": p.choice_labels("sales_stages"),
         "channels": p.choice_labels("source_channels")}
        for p in packs.available_packs()
    ]
    return render(request, "ui/settings/packs.html",
                  {"section": "packs", "packs": rows, "applied": packs.applied_pack_code()})


@admin_required
@require_POST
def pack_apply(request, code: str):
    pack = packs.get_pack(code)
    if pack is None:
        raise Http404
    result = packs.apply_pack(code, actor=request.user)
    messages.success(request, _("Industry pack “%(name)s” applied: %(created)d added, "
                                "%(updated)d updated.")
                     % {"name": pack.title(), "created": len(result.created),
                        "updated": len(result.updated)})
    return redirect("ui:pack_list")


# --- Contact intervals ----------------------------------------------------------------


@admin_required
def contact_intervals(request):
    form = IntervalsForm(request.POST or None, initial=site_settings.contact_interval_days())
    if request.method == "POST" and form.is_valid():
        try:
            config_services.set_contact_intervals(actor=request.user,
                                                  intervals=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Contact intervals saved. “My day” uses them from now on."))
            return redirect("ui:contact_intervals")
    return render(request, "ui/settings/intervals.html", {"section": "intervals", "form": form})
