"""Filter forms of the commerce lists (the pages are read-only: the ERP is the system
of record). An invalid filter value is ignored, not fatal."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ContractStatus, DeliveryStatus, OrderStatus, PaymentMethod

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _search(placeholder) -> forms.CharField:
    return forms.CharField(label=_("Search"), required=False, max_length=100,
                           widget=forms.TextInput(attrs={"type": "search",
                                                         "placeholder": placeholder}))


class CommerceFilterForm(forms.Form):
    """Common fields: a customer search (or a number), one customer, a date range."""

    q = _search(_("Customer or number"))
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def cleaned(self) -> dict[str, Any]:
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items()
                if k not in self.errors and v not in (None, "")}

    def visible_fields_in_order(self):
        return [f for f in self if not f.is_hidden]


def _choices(empty, choices) -> list[tuple[str, Any]]:
    return [("", empty), *choices]


class OrderFilterForm(CommerceFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=_choices(_("Any status"),
                                                [("open", _("open (not delivered)")),
                                                 *OrderStatus.choices]))
    field_order = ("q", "status", "date_from", "date_to")


class ContractFilterForm(CommerceFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=_choices(_("Any status"),
                                                [("open", _("open (draft or in execution)")),
                                                 *ContractStatus.choices]))
    field_order = ("q", "status", "date_from", "date_to")


class InvoiceFilterForm(CommerceFilterForm):
    STATES: ClassVar[list[tuple[str, Any]]] = [
        ("open", _("open")), ("overdue", _("overdue")), ("paid", _("paid")),
        ("cancelled", _("cancelled")), ("all", _("all"))]
    state = forms.ChoiceField(label=_("Show"), required=False, choices=STATES)
    currency = forms.CharField(label=_("Currency"), required=False, max_length=3,
                               widget=forms.TextInput(attrs={"size": 4, "placeholder": "CNY"}))
    field_order = ("q", "state", "currency", "date_from", "date_to")

    def state_value(self) -> str:
        value = self.cleaned().get("state") or "open"
        return value if value in dict(self.STATES) else "open"


class DeliveryFilterForm(CommerceFilterForm):
    q = _search(_("Tracking or delivery number, customer"))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=_choices(_("Any status"),
                                                [("open", _("on the way (planned, shipped, "
                                                            "in transit)")),
                                                 *DeliveryStatus.choices]))
    field_order = ("q", "status", "date_from", "date_to")


class PaymentFilterForm(CommerceFilterForm):
    method = forms.ChoiceField(label=_("Method"), required=False,
                               choices=_choices(_("Any method"), PaymentMethod.choices))
    currency = forms.CharField(label=_("Currency"), required=False, max_length=3,
                               widget=forms.TextInput(attrs={"size": 4, "placeholder": "CNY"}))
    field_order = ("q", "method", "currency", "date_from", "date_to")
