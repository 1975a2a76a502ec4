"""Forms of the complaint pages."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from .complaint_services import FIELDS
from .models import Complaint, RootCause, Severity

STATE_CHOICES = [("", _("Any state")), ("open", _("Being handled")),
                 ("follow_up", _("Resolved, follow-up call to make")),
                 ("closed", _("Followed up"))]


class ComplaintFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"placeholder": _("Subject or customer")}))
    severity = forms.ChoiceField(label=_("Severity"), required=False,
                                 choices=[("", _("Any severity")), *Severity.choices])
    root_cause = forms.ChoiceField(label=_("Root cause"), required=False,
                                   choices=[("", _("Any root cause")),
                                            ("none", _("Not analysed yet")),
                                            *RootCause.choices])
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATE_CHOICES)
    follow_up_due = forms.BooleanField(label=_("Follow-up call due"), required=False)

    def cleaned(self) -> dict:
        return self.cleaned_data if self.is_valid() else {}


class ComplaintForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields: ClassVar[list[str]] = FIELDS
        widgets: ClassVar[dict[str, Any]] = {
            "root_cause": forms.Textarea(attrs={"rows": 3}),
            "corrective_action": forms.Textarea(attrs={"rows": 3}),
            "corrective_done_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class FollowUpForm(forms.Form):
    satisfied = forms.TypedChoiceField(
        label=_("Is the customer satisfied?"), widget=forms.RadioSelect,
        choices=[("yes", _("Yes, satisfied")),
                 ("no", _("No — open a new complaint ticket"))],
        coerce=lambda v: v == "yes")
    notes = forms.CharField(label=_("Notes from the call"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))
