"""Forms of the lead pages and the public web form. They collect input; the services in
`leads.py` normalise, validate and save."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Role, Team, User
from guanxi.parties.forms import (
    IndustryChoiceField,
    TeamChoiceField,
    assignable_teams,
    assignable_users,
    source_choices,
)
from guanxi.parties.models import Industry
from guanxi.parties.normalize import format_phone

from .models import Lead, LeadForm, LeadStatus, ProductLine

SCOPES = [("", _("All I can see")), ("mine", _("Mine")), ("pool", _("Pool (no owner)"))]


class LeadFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": _("Company, name, phone…")}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses"))] + list(LeadStatus.choices))
    source = forms.ChoiceField(label=_("Source"), required=False,
                               choices=lambda: [("", _("All sources"))] + source_choices())
    scope = forms.ChoiceField(label=_("Whose"), required=False, choices=SCOPES)
    owner = forms.ModelChoiceField(label=_("Owner"), required=False,
                                   queryset=User.objects.filter(is_active=True)
                                   .order_by("display_name", "username"),
                                   empty_label=_("Anyone"))


class LeadEditForm(forms.ModelForm):
    """Manual entry and editing. Phone and e-mail are plain text: the service
    normalises what people type (138-0013-8000, full-width digits …)."""

    phone = forms.CharField(label=_("Phone"), required=False, max_length=60,
                            help_text=_("Mobile or landline, e.g. 138 0013 8000"))
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    industry = IndustryChoiceField(label=_("Industry"), required=False,
                                   queryset=Industry.objects.all())
    team = TeamChoiceField(label=_("Region / office"), required=False,
                           queryset=Team.objects.all())
    source = forms.ChoiceField(label=_("Source channel"), required=False,
                               choices=lambda: [("", "—")] + source_choices())

    description = forms.CharField(label=_("Request / notes"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))

    WIDE = ("description", "address")

    class Meta:
        model = Lead
        fields = ("company", "name", "title", "phone", "email", "wechat", "province", "city",
                  "address", "website", "industry", "product_line", "source", "campaign",
                  "estimated_amount", "owner", "team", "consent", "score_override",
                  "description")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product_line"].queryset = ProductLine.objects.filter(active=True)
        role = "admin" if user.is_superuser else user.role
        if role == Role.REP:
            # A rep's leads are their own; they hand one back through the pool.
            del self.fields["owner"]
            del self.fields["team"]
        else:
            self.fields["owner"].queryset = assignable_users(user)
            self.fields["owner"].help_text = _("Empty: the lead goes to the team's pool.")
            self.fields["team"].queryset = assignable_teams(user)
        if self.instance.pk and self.instance.phone and not self.is_bound:
            self.initial["phone"] = format_phone(self.instance.phone)

    def _post_clean(self) -> None:
        """Model validation is the service's job (it also normalises first)."""

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["source"] = data.get("source") or ""
        return data


class DisqualifyForm(forms.Form):
    unqualified_reason = forms.CharField(label=_("Why is the lead unqualified?"), max_length=200)


class ConvertForm(forms.Form):
    """Attach to a suggested customer or create a new one; the opportunity's fields."""

    target = forms.ChoiceField(label=_("Customer"), widget=forms.RadioSelect)
    create_opportunity = forms.BooleanField(label=_("Create an opportunity"), required=False,
                                            initial=True)
    opp_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    opp_amount = forms.DecimalField(label=_("Amount (元)"), max_digits=14, decimal_places=2,
                                    min_value=0, required=False)
    opp_expected_close = forms.DateField(label=_("Expected close date"), required=False,
                                         widget=forms.DateInput(attrs={"type": "date"}))
    opp_product_line = forms.ModelChoiceField(label=_("Product line"), required=False,
                                              queryset=ProductLine.objects.filter(active=True))

    # Service error keys → form fields.
    FIELD_MAP: ClassVar[dict[str, str]] = {"name": "opp_name", "amount": "opp_amount",
                                           "expected_close": "opp_expected_close",
                                           "product_line": "opp_product_line"}

    def __init__(self, *args: Any, duplicates: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(d["customer"].pk), d["customer"].name) for d in duplicates]
        self.fields["target"].choices = [*choices, ("new", _("Create a new customer"))]
        self.duplicates = {str(d["customer"].pk): d for d in duplicates}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("create_opportunity") and not (data.get("opp_name") or "").strip():
            self.add_error("opp_name", _("An opportunity needs a name."))
        return data

    def opportunity_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        data: dict[str, Any] = {"name": d["opp_name"].strip(),
                                "product_line": d["opp_product_line"]}
        if d.get("opp_amount") is not None:
            data["amount"] = d["opp_amount"]
        if d.get("opp_expected_close"):
            data["expected_close"] = d["opp_expected_close"]
        return data


class LeadFormForm(forms.ModelForm):
    """Create/edit a public web form (LeadForm)."""

    team = TeamChoiceField(label=_("Region / office"), required=False,
                           queryset=Team.objects.all())

    class Meta:
        model = LeadForm
        fields = ("name", "key", "source", "campaign", "team", "owner", "product_line",
                  "thank_you", "rate_limit_per_hour", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(
            is_active=True, role__in=[Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP])
        self.fields["product_line"].queryset = ProductLine.objects.filter(active=True)

    def _post_clean(self) -> None:
        """Model validation (incl. the unique key) is the service's job."""


class PublicLeadForm(forms.Form):
    """What a visitor fills in. `website_url` is the honeypot: hidden from people,
    filled by bots; `token` is the signed timestamp (see views_leadform)."""

    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    name = forms.CharField(label=_("Your name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    city = forms.CharField(label=_("City"), max_length=50, required=False)
    message = forms.CharField(label=_("Your request"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4}))
    consent = forms.BooleanField(label=_("I agree to be contacted about my request."))
    website_url = forms.CharField(required=False, label=_("Leave this field empty"),
                                  widget=forms.TextInput(attrs={"autocomplete": "off",
                                                                "tabindex": "-1"}))
    token = forms.CharField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("phone") and not data.get("email") and "phone" not in self.errors:
            self.add_error("phone", _("Give a phone number or an e-mail address."))
        return data
