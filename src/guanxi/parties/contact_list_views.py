"""The list of every contact a person may see, with a search box and a customer filter.

`contact_queryset` is also what the contact export (CSV, XLSX, vCard) uses, so an
export holds exactly the rows of the list with the same filters.

Queries stay cheap: visibility comes from `Contact.objects.visible_to(user)`, the
customer filter is an equality on the indexed customer FK, the pager counts at most
`COUNT_CAP` rows, and without a customer filter rows come newest first (a walk of the
primary key) rather than sorted by name, which would sort every visible contact.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from . import permissions as perms
from .list_selectors import COUNT_CAP, ListPage, bounded_count
from .models import Contact, Customer
from .normalize import to_halfwidth
from .search import to_simplified, to_traditional

NON_DIGITS = re.compile(r"\D+")


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={
                            "type": "search", "placeholder": _("Name, mobile or e-mail")}))
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    WIDE: tuple[str, ...] = ()


def text_q(text: str) -> Q:
    """Name (either script), e-mail or mobile number contains the text."""
    text = to_halfwidth(text)
    q = Q(email__icontains=text)
    for variant in dict.fromkeys([text, to_simplified(text), to_traditional(text)]):
        q |= Q(name__icontains=variant)
    digits = NON_DIGITS.sub("", text)
    if len(digits) >= 3:
        q |= Q(mobile__contains=digits)
    return q


def filter_contacts(qs: QuerySet, data: dict[str, Any]) -> QuerySet:
    if q := (data.get("q") or "").strip():
        qs = qs.filter(text_q(q))
    if customer := data.get("customer"):
        qs = qs.filter(customer_id=customer)
    return qs


def contact_queryset(user, params: QueryDict) -> tuple[ContactFilterForm, QuerySet]:
    """(bound filter form, the visible contacts matching it in list order)."""
    form = ContactFilterForm(params)
    form.is_valid()
    data = form.cleaned_data
    qs = filter_contacts(Contact.objects.visible_to(user), data)
    order = ("-is_primary", "name", "id") if data.get("customer") else ("-id",)
    return form, qs.select_related("customer").order_by(*order)


def page_rows(qs: QuerySet, number: Any, per_page: int, count_cap: int = COUNT_CAP) -> ListPage:
    """Page `number` (1-based; bad values → 1) of the ordered `qs`, counting at most
    `count_cap` rows and fetching one row more than a page to know if another follows."""
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    total = bounded_count(qs, count_cap)
    offset = (number - 1) * per_page
    rows = list(qs[offset:offset + per_page + 1])
    return ListPage(object_list=rows[:per_page], number=number, per_page=per_page,
                    has_next=len(rows) > per_page, total=min(total, count_cap),
                    total_capped=total > count_cap)


def filter_customer(user, customer_id: int | None) -> Customer | None:
    """The customer a list is filtered to, if the user may see it (for the filter chip)."""
    if not customer_id:
        return None
    return Customer.objects.visible_to(user).filter(pk=customer_id).only("id", "name").first()


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, qs = contact_queryset(user, request.GET)
    page = page_rows(qs, request.GET.get("page"), settings.GUANXI_PAGE_SIZE)
    customer = filter_customer(user, form.cleaned_data.get("customer"))
    context = {
        "form": form,
        "page": page,
        "customer": customer,
        "filtered": bool(form.cleaned_data.get("q") or form.cleaned_data.get("customer")),
        "can_import": customer is not None and perms.can_edit_customer(user, customer),
    }
    return render(request, "parties/contact_list.html", context)
