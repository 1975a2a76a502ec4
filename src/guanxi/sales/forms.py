"""Forms of the opportunity UI: list/board filters, create/edit, move, saved views.
They shape input; `sales.services` validates and saves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team, User
from guanxi.parties.forms import TeamChoiceField, assignable_users, may_assign_ownership
from guanxi.parties.models import Contact

from .models import Opportunity, OpportunityStatus, Pipeline, Product, ProductLine, Stage

CURRENCIES = [
    ("CNY", _("元 (CNY)")), ("USD", _("US dollar (USD)")), ("EUR", _("euro (EUR)")),
    ("HKD", _("Hong Kong dollar (HKD)")), ("JPY", _("yen (JPY)")),
    ("GBP", _("pound (GBP)")), ("TWD", _("New Taiwan dollar (TWD)")),
]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _owner_choices() -> list[tuple[str, str]]:
    users = User.objects.filter(is_active=True).order_by("display_name", "username")
    return [("", _("Anyone")), ("me", _("Me"))] + [(str(u.pk), str(u)) for u in users]


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Stage) -> str:
        return f"{obj.pipeline.name} · {obj.name}"


class OpportunityFilterForm(forms.Form):
    """Filters of the list (all fields) and of the board (BOARD fields)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": _("Deal or customer")}))
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), required=False,
                                      queryset=Pipeline.objects.filter(active=True),
                                      empty_label=_("All pipelines"))
    stage = StageChoiceField(label=_("Stage"), required=False,
                             queryset=Stage.objects.select_related("pipeline"),
                             empty_label=_("All stages"))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status"))] + list(OpportunityStatus.choices))
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = TeamChoiceField(label=_("Region / office"), required=False,
                           queryset=Team.objects.all(), empty_label=_("All teams"))
    product_line = forms.ModelChoiceField(label=_("Product line"), required=False,
                                          queryset=ProductLine.objects.filter(active=True),
                                          empty_label=_("All product lines"))
    close_from = forms.DateField(label=_("Expected close from"), required=False, widget=DATE)
    close_to = forms.DateField(label=_("Expected close to"), required=False, widget=DATE)
    amount_min = forms.DecimalField(label=_("Amount at least (元)"), required=False,
                                    min_value=Decimal(0), max_digits=16, decimal_places=2)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    BASIC = ("q", "pipeline", "stage", "status", "owner")
    BOARD = ("q", "owner", "team", "product_line")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _owner_choices

    def basic_fields(self):
        return [self[n] for n in self.BASIC]

    def more_fields(self):
        return [f for f in self if f.name not in self.BASIC and not f.is_hidden]

    def board_fields(self):
        return [self[n] for n in self.BOARD]

    def active_more_count(self) -> int:
        if not self.is_bound:
            return 0
        return sum(1 for f in self.more_fields() if self.data.get(f.name))

    def cleaned(self) -> dict[str, Any]:
        """Cleaned data of the valid fields (an invalid filter is ignored, not fatal)."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items()
                if k not in self.errors}


class OpportunityForm(forms.ModelForm):
    """The deal's details. Pipeline only on create; the stage changes via MoveForm."""

    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES, initial="CNY")

    class Meta:
        model = Opportunity
        fields: ClassVar[list[str]] = [
            "name", "contact", "pipeline", "product_line", "products", "amount", "currency",
            "exchange_rate", "expected_close", "probability", "competitors", "next_step",
            "owner",
        ]
        widgets: ClassVar[dict[str, Any]] = {
            "expected_close": DATE,
            "products": forms.SelectMultiple(attrs={"size": 5}),
        }

    WIDE: ClassVar[set[str]] = {"name", "products", "next_step"}

    def __init__(self, *args: Any, customer, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        creating = not self.instance.pk
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer)
        self.fields["contact"].empty_label = "—"
        self.fields["products"].queryset = Product.objects.filter(active=True).select_related(
            "product_line")
        self.fields["products"].required = False
        self.fields["product_line"].queryset = ProductLine.objects.filter(active=True)
        self.fields["exchange_rate"].help_text = _("1 unit of the currency in 元; 1 for 元.")
        self.fields["exchange_rate"].required = False
        self.fields["amount"].required = False
        if creating:
            self.fields["pipeline"].queryset = Pipeline.objects.filter(active=True)
            self.fields["pipeline"].required = False
            self.fields["pipeline"].empty_label = _("The product line's (or default) pipeline")
        else:
            del self.fields["pipeline"]
        if may_assign_ownership(user):
            users = assignable_users(user)
            if not creating and self.instance.owner_id:
                users = User.objects.filter(Q(pk__in=users.values("pk"))
                                            | Q(pk=self.instance.owner_id))
            self.fields["owner"].queryset = users.order_by("display_name", "username")
            self.fields["owner"].required = False
        else:
            del self.fields["owner"]

    def _post_clean(self) -> None:
        """The services validate (see sales.services._clean)."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("currency", "CNY") == "CNY":
            data["exchange_rate"] = Decimal(1)
        elif not data.get("exchange_rate") or data["exchange_rate"] <= 0:
            self.add_error("exchange_rate", _("Give the rate to 元 for a foreign currency."))
        if data.get("amount") is None:
            data["amount"] = Decimal(0)
        return data

    def service_data(self) -> dict[str, Any]:
        data = {n: self.cleaned_data[n] for n in self.fields if n in self.cleaned_data}
        if not data.get("pipeline"):
            data.pop("pipeline", None)
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        data["products"] = list(data.get("products") or [])
        for key in ("competitors", "next_step", "name"):
            data[key] = (data.get(key) or "").strip()
        return data


class MoveForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("Move to stage"), queryset=Stage.objects.none(),
                                   empty_label=None)
    lost_reason = forms.CharField(label=_("Reason lost"), required=False, max_length=200,
                                  help_text=_("Needed when moving to a lost stage."))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, opportunity: Opportunity, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("stage", opportunity.stage_id)
        kwargs["initial"].setdefault("version", opportunity.version)
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(
            pipeline_id=opportunity.pipeline_id).order_by("order", "id")


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=100)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
