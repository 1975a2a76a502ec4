"""The interaction form. The quick log on the customer page renders three of its fields."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User
from guanxi.parties.models import Contact, Customer

from .models import Interaction, InteractionKind

QUICK_FIELDS = ("kind", "subject", "outcome")
# Fields that fall back to the model default when left empty on create.
DEFAULTED = ("direction", "occurred_at")


class InteractionForm(forms.ModelForm):
    """Everything about a call, visit, e-mail…; only the type is required.

    Validation beyond types (contact of another customer, lengths, choices) is done by
    `activities.services`; errors come back through `apply_service_errors`.
    """

    class Meta:
        model = Interaction
        fields: ClassVar[list[str]] = [
            "kind", "subject", "outcome", "direction", "channel", "occurred_at", "contact",
            "opportunity", "participant_contacts", "participant_users", "duration_minutes", "body",
            "next_step", "follow_up_on",
        ]
        widgets: ClassVar[dict[str, Any]] = {
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"},
                                               format="%Y-%m-%dT%H:%M"),
            "follow_up_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "body": forms.Textarea(attrs={"rows": 4}),
            "participant_contacts": forms.CheckboxSelectMultiple,
            "participant_users": forms.SelectMultiple(attrs={"size": 4}),
        }

    WIDE: ClassVar[set[str]] = {"body", "participant_contacts", "participant_users"}

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["kind"].initial = InteractionKind.CALL
        self.fields["subject"].required = False
        self.fields["subject"].widget.attrs.setdefault(
            "placeholder", _("What happened, in a few words"))
        for name in ("direction", "occurred_at"):
            self.fields[name].required = bool(self.instance.pk)
        if not self.instance.pk:
            self.fields["occurred_at"].initial = lambda: timezone.localtime().replace(
                second=0, microsecond=0)
        for name in ("outcome", "channel"):
            self.fields[name].choices = [("", "—")] + [
                c for c in self.fields[name].choices if c[0] != ""]
        contacts = Contact.objects.filter(customer=customer)
        self.fields["contact"].queryset = contacts
        self.fields["contact"].empty_label = "—"
        self.fields["participant_contacts"].queryset = contacts
        from guanxi.sales.models import Opportunity

        self.fields["opportunity"].queryset = Opportunity.objects.filter(customer=customer)
        self.fields["opportunity"].empty_label = "—"
        self.fields["participant_users"].queryset = User.objects.filter(
            is_active=True).order_by("display_name", "username")
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                                                    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]

    def _post_clean(self) -> None:
        """The services validate; this form only converts input to Python values."""

    def quick_fields(self):
        return [self[n] for n in QUICK_FIELDS]

    def more_fields(self):
        return [f for f in self if f.name not in QUICK_FIELDS and not f.is_hidden]

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        """Keyword arguments for interaction_create / interaction_update.

        On create, fields that were not sent (the quick log sends three) are left out
        so the model defaults apply; on edit the whole form is applied.
        """
        data = dict(self.cleaned_data)
        if creating:
            sent = set(self.data.keys())
            data = {k: v for k, v in data.items() if k in sent}
            for name in DEFAULTED:
                if data.get(name) in (None, ""):
                    data.pop(name, None)
        return data
