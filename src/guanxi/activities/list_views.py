"""The list of every interaction a person may see: filters by type, date range, customer
and "logged by me"; newest first.

`interaction_queryset` is also what the interaction export (CSV, XLSX) uses, so an
export holds exactly the rows of the list with the same filters. Visibility comes
from `scoped_by_customer` (the customer's visibility), the customer filter is an
equality on the indexed customer FK and the pager counts at most `COUNT_CAP` rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.parties.contact_list_views import filter_customer, page_rows
from guanxi.parties.querysets import scoped_by_customer

from .models import Interaction, InteractionKind


class InteractionFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("All types"))] + list(InteractionKind.choices))
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    created_by = forms.ChoiceField(label=_("Logged by"), required=False,
                                   choices=[("", _("Anyone")), ("me", _("Me"))])
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    WIDE: tuple[str, ...] = ()
    VISIBLE = ("kind", "date_from", "date_to", "created_by")

    def visible_filters(self):
        return [self[n] for n in self.VISIBLE]


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filter_interactions(qs: QuerySet, data: dict[str, Any], *, user) -> QuerySet:
    if kind := data.get("kind"):
        qs = qs.filter(kind=kind)
    if date_from := data.get("date_from"):
        qs = qs.filter(occurred_at__gte=_day_start(date_from))
    if date_to := data.get("date_to"):
        qs = qs.filter(occurred_at__lt=_day_start(date_to + dt.timedelta(days=1)))
    if data.get("created_by") == "me":
        qs = qs.filter(created_by_id=user.pk)
    if customer := data.get("customer"):
        qs = qs.filter(customer_id=customer)
    return qs


def interaction_queryset(user, params: QueryDict) -> tuple[InteractionFilterForm, QuerySet]:
    """(bound filter form, the visible interactions matching it, newest first)."""
    form = InteractionFilterForm(params)
    form.is_valid()
    qs = scoped_by_customer(Interaction.objects.all(), user)
    qs = filter_interactions(qs, form.cleaned_data, user=user)
    return form, (qs.select_related("customer", "contact", "created_by")
                  .order_by("-occurred_at", "-id"))


@login_required
def interaction_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, qs = interaction_queryset(user, request.GET)
    page = page_rows(qs, request.GET.get("page"), settings.GUANXI_PAGE_SIZE)
    data = form.cleaned_data
    context = {
        "form": form,
        "page": page,
        "customer": filter_customer(user, data.get("customer")),
        "filtered": any(data.get(k) for k in ("kind", "date_from", "date_to", "created_by",
                                              "customer")),
    }
    return render(request, "activities/interaction_list.html", context)
