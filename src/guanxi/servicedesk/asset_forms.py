"""Forms of the installed-equipment pages. They shape input; asset_services validates
and saves."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.commerce.models import Contract, Order
from guanxi.sales.models import Product

from .models import Asset, AssetStatus

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
WARRANTY_CHOICES = [
    ("", _("Any warranty")),
    ("in", _("Under warranty")),
    ("expiring", _("Expiring within 60 days")),
    ("expired", _("Expired")),
    ("none", _("No warranty date")),
]


class AssetFilterForm(forms.Form):
    q = forms.CharField(label=_("Serial number or name"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))
    product = forms.ModelChoiceField(label=_("Product"), required=False,
                                     queryset=Product.objects.all(),
                                     empty_label=_("All products"))
    warranty = forms.ChoiceField(label=_("Warranty"), required=False, choices=WARRANTY_CHOICES)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status"))] + list(AssetStatus.choices))
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def cleaned(self) -> dict[str, Any]:
        """Cleaned data of the valid fields (an invalid filter is ignored)."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items()
                if k not in self.errors and v not in (None, "")}


class AssetForm(forms.ModelForm):
    WIDE: ClassVar[tuple[str, ...]] = ("location", "notes")

    class Meta:
        model = Asset
        fields: ClassVar[list[str]] = [
            "product", "name", "serial_number", "installed_on", "warranty_ends_on", "status",
            "location", "order", "contract", "notes"]
        widgets: ClassVar[dict[str, Any]] = {
            "installed_on": DATE, "warranty_ends_on": DATE,
            "notes": forms.Textarea(attrs={"rows": 3})}
        help_texts: ClassVar[dict[str, Any]] = {
            "name": _("Leave empty to use the product's name.")}

    def __init__(self, *args: Any, customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["name"].required = False
        products = Product.objects.filter(active=True)
        if self.instance.product_id:
            products = products | Product.objects.filter(pk=self.instance.product_id)
        self.fields["product"].queryset = products.select_related("product_line").distinct()
        self.fields["order"].queryset = Order.objects.filter(customer=customer).order_by(
            "-ordered_on", "-id")
        self.fields["contract"].queryset = Contract.objects.filter(customer=customer).order_by(
            "-signed_on", "-id")

    def _post_clean(self) -> None:
        """Model validation is the service's job (with messages keyed by field)."""

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) if name in ("product", "order", "contract",
                                                              "installed_on",
                                                              "warranty_ends_on")
                else self.cleaned_data.get(name) or "" for name in self.Meta.fields}
