"""Duplicate customers: the review list, the merge screen, merge history and undo.

Reads start from `Customer.objects.visible_to(user)` (a customer the user cannot see is
a 404); merging, dismissing and undoing need `permissions.can_merge` /
`can_undo_merge` (403 otherwise); the scan button needs `can_find_duplicates`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.core.exceptions import ConflictError
from guanxi.core.jobs import ACTIVE_STATUSES, jobs_visible_to
from guanxi.core.models import Job

from . import permissions as perms
from .display import EMPTY, show_value
from .duplicates import REASON_LABELS, candidates_for, dismiss_candidate
from .merge import MERGE_FIELDS, Value, merge_customers, moves_preview, undo_blocker, undo_merge
from .models import Customer, CustomFieldDef, MergeRecord
from .normalize import format_phone
from .tasks import FIND_DUPLICATES, start_find_duplicates

MAX_MERGE = 10  # customers on one merge screen
COMBINE = "combine"  # the notes row's "keep all notes" choice
STALE_SCAN = dt.timedelta(hours=6)


# ---------------------------------------------------------------- candidate list


@login_required
@require_GET
def candidate_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    page = Paginator(candidates_for(user), settings.GUANXI_PAGE_SIZE).get_page(
        request.GET.get("page"))
    rows = [
        {
            "candidate": c,
            "reasons": [REASON_LABELS.get(r, r) for r in c.reasons],
            "can_merge": perms.can_merge(user, [c.first, c.second]),
        }
        for c in page.object_list
    ]
    can_scan = perms.can_find_duplicates(user)
    last_scan = (jobs_visible_to(user).filter(kind=FIND_DUPLICATES).first()
                 if can_scan else None)
    return render(request, "parties/merge/candidate_list.html", {
        "page": page, "rows": rows, "can_scan": can_scan, "last_scan": last_scan,
    })


@login_required
@require_POST
def start_scan(request: HttpRequest) -> HttpResponse:
    if not perms.can_find_duplicates(request.user):
        raise PermissionDenied
    # A job still "running" after STALE_SCAN is taken for dead (its worker stopped).
    running = Job.objects.filter(kind=FIND_DUPLICATES, status__in=ACTIVE_STATUSES,
                                 created_at__gte=timezone.now() - STALE_SCAN).first()
    if running is not None:
        messages.info(request, _("A search for duplicates is already running."))
        if jobs_visible_to(request.user).filter(pk=running.pk).exists():
            return redirect("core:job_detail", pk=running.pk)
        return redirect("merge:candidates")
    job = start_find_duplicates(actor=request.user)
    messages.success(request, _("Looking for duplicate customers. This page shows the progress."))
    return redirect("core:job_detail", pk=job.pk)


@login_required
@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(candidates_for(request.user), pk=pk)
    dismiss_candidate(actor=request.user, candidate=candidate)
    if getattr(request, "htmx", None):
        return HttpResponse("")
    messages.success(request, _("Marked as not a duplicate."))
    return redirect("merge:candidates")


# ---------------------------------------------------------------- merge screen


def _parse_ids(raw: str) -> list[int]:
    ids: list[int] = []
    for part in (raw or "").replace(" ", "").split(","):
        if part:
            try:
                ids.append(int(part))
            except ValueError:
                raise Http404("bad id") from None
    return list(dict.fromkeys(ids))


def _customers(request: HttpRequest, ids: list[int]) -> list[Customer]:
    """The customers in `ids` order; 404 if any is not visible (or in the recycle bin)."""
    if not 2 <= len(ids) <= MAX_MERGE:
        raise Http404(f"choose between 2 and {MAX_MERGE} customers")
    qs = (Customer.objects.visible_to(request.user).filter(pk__in=ids)
          .select_related("owner", "team", "industry"))
    found = {c.pk: c for c in qs}
    if len(found) != len(ids):
        raise Http404("customer not found")
    return [found[i] for i in ids]


def _compare(customer: Customer, name: str) -> Any:
    if name == "phone":
        return (customer.phone, customer.phone_ext)
    if name.startswith("custom."):
        return customer.custom.get(name.removeprefix("custom."))
    field = Customer._meta.get_field(name)
    return getattr(customer, field.attname)


def _show(customer: Customer, name: str) -> str:
    if name == "phone":
        return format_phone(customer.phone, customer.phone_ext) or EMPTY
    if name.startswith("custom."):
        return show_value(customer.custom.get(name.removeprefix("custom.")))
    field = Customer._meta.get_field(name)
    if field.is_relation:
        value = getattr(customer, name)
        return str(value) if value is not None else EMPTY
    return show_value(getattr(customer, name), field)


def _empty(value: Any) -> bool:
    return value in (None, "", [], {}, ("", ""))


def _field_names(customers: list[Customer]) -> list[tuple[str, str]]:
    """(name, label) of every row: model fields, then custom fields someone has a value for."""
    names = [(n, str(Customer._meta.get_field(n).verbose_name)) for n in MERGE_FIELDS]
    labels = dict(CustomFieldDef.objects.values_list("key", "label"))
    keys = sorted({k for c in customers for k, v in (c.custom or {}).items() if not _empty(v)})
    names += [(f"custom.{k}", labels.get(k, k)) for k in keys]
    return names


def _rows(customers: list[Customer], survivor: Customer, posted: dict[str, str] | None
          ) -> list[dict[str, Any]]:
    rows = []
    for name, label in _field_names(customers):
        values = [_compare(c, name) for c in customers]
        default = survivor.pk
        if _empty(_compare(survivor, name)):
            default = next((c.pk for c, v in zip(customers, values, strict=True)
                            if not _empty(v)), survivor.pk)
        chosen = (posted or {}).get(name) or str(default)
        distinct_notes = [v for v in dict.fromkeys(values) if not _empty(v)]
        rows.append({
            "name": name,
            "label": label,
            "same": len(set(map(repr, values))) == 1,
            "cells": [{"customer": c, "text": _show(c, name), "checked": chosen == str(c.pk)}
                      for c in customers],
            "combine": name == "notes" and len(distinct_notes) > 1,
            "combine_checked": chosen == COMBINE,
        })
    return rows


def _combined_notes(customers: list[Customer], survivor: Customer) -> str:
    ordered = [survivor, *[c for c in customers if c.pk != survivor.pk]]
    return "\n\n".join(dict.fromkeys(c.notes.strip() for c in ordered if c.notes.strip()))


def _values_from_post(request: HttpRequest, customers: list[Customer], survivor: Customer
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """(values for merge_customers, the raw choices to re-show the form)."""
    ids = {str(c.pk): c.pk for c in customers}
    values: dict[str, Any] = {}
    posted: dict[str, str] = {}
    for name, _label in _field_names(customers):
        raw = request.POST.get(f"f_{name}", "")
        if name == "notes" and raw == COMBINE:
            values[name] = Value(_combined_notes(customers, survivor))
            posted[name] = raw
        elif raw in ids:
            values[name] = ids[raw]
            posted[name] = raw
    return values, posted


def _error_list(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    labels = dict(_field_names([]))
    result = []
    for field, errors in exc.message_dict.items():
        label = labels.get(field, field.removeprefix("custom."))
        result += [f"{label}: {e}" if field != "__all__" else e for e in errors]
    return result


@login_required
def merge_screen(request: HttpRequest) -> HttpResponse:
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    ids = _parse_ids(source.get("ids", ""))
    customers = _customers(request, ids)
    if not perms.can_merge(user, customers):
        raise PermissionDenied
    by_id = {str(c.pk): c for c in customers}
    survivor = by_id.get(source.get("survivor", ""), customers[0])
    posted: dict[str, str] | None = None
    errors: list[str] = []
    conflict = False
    if request.method == "POST":
        values, posted = _values_from_post(request, customers, survivor)
        versions = {c.pk: int(v) for c in customers
                    if (v := request.POST.get(f"version_{c.pk}", "")).isdigit()}
        try:
            record = merge_customers(actor=user, survivor=survivor,
                                     others=[c for c in customers if c.pk != survivor.pk],
                                     values=values, versions=versions)
        except ConflictError:
            conflict = True
            customers = _customers(request, ids)
            survivor = {c.pk: c for c in customers}[survivor.pk]
        except ValidationError as exc:
            errors = _error_list(exc)
        else:
            messages.success(request, render_to_string(
                "parties/merge/merged_message.html",
                {"record": record, "count": len(customers) - 1, "survivor": survivor},
                request=request))
            return redirect(survivor)
    others = [c for c in customers if c.pk != survivor.pk]
    return render(request, "parties/merge/merge_screen.html", {
        "customers": customers,
        "survivor": survivor,
        "ids": ",".join(str(c.pk) for c in customers),
        "rows": _rows(customers, survivor, posted),
        "moves": moves_preview(others),
        "errors": errors,
        "conflict": conflict,
    })


# ---------------------------------------------------------------- history and undo


def merges_visible_to(user):
    return MergeRecord.objects.filter(
        survivor__in=Customer.objects.visible_to(user).values("pk")
    ).select_related("survivor", "created_by", "undone_by")


@login_required
@require_GET
def merge_history(request: HttpRequest) -> HttpResponse:
    user = request.user
    page = Paginator(merges_visible_to(user), settings.GUANXI_PAGE_SIZE).get_page(
        request.GET.get("page"))
    merged_ids = {i for r in page.object_list for i in r.merged_ids}
    merged = Customer.all_objects.in_bulk(list(merged_ids))
    rows = []
    for record in page.object_list:
        others = [merged[i] for i in record.merged_ids if i in merged]
        blocker = undo_blocker(record, record.survivor, others)
        rows.append({
            "record": record,
            "merged": others,
            "missing": len(record.merged_ids) - len(others),
            "blocker": blocker if record.undone_at is None else None,
            "can_undo": blocker is None and perms.can_undo_merge(user, record.survivor, others),
        })
    return render(request, "parties/merge/merge_history.html", {"page": page, "rows": rows})


@login_required
@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(merges_visible_to(request.user), pk=pk)
    try:
        undo_merge(actor=request.user, record=record)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("merge:merges")
    messages.success(request, _("The merge has been undone: the merged customers are back."))
    return redirect(record.survivor)
