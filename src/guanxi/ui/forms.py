"""Forms of the settings area. They shape input; parties.config_services validates and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.parties.models import FieldType, Industry, Tier
from guanxi.parties.packs import industry_label


class IndustryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Industry) -> str:
        return industry_label(obj)


class CustomFieldForm(forms.Form):
    # Key and label are checked by the service, so that all problems show at once.
    key = forms.CharField(
        label=_("Key"), max_length=50, required=False,
        help_text=_("Stored with each customer and used by imports and the API, e.g. "
                    "capacity_tpd. It cannot be changed later."))
    label = forms.CharField(label=_("Label"), max_length=100, required=False,
                            help_text=_("What people see on forms, e.g. 处理规模(吨/日)"))
    field_type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    industry = IndustryChoiceField(
        label=_("Industry"), queryset=Industry.objects.all(), required=False,
        empty_label=_("All customers"),
        help_text=_("Only customers of this industry get the field."))
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("For choice and multiple-choice fields: one choice per line."))
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=255, required=False)
    order = forms.IntegerField(label=_("Order"), min_value=0, initial=100,
                               help_text=_("Fields are shown from the lowest number up."))

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True


class IndustryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("e.g. 市政水务"))
    code = forms.CharField(label=_("Code"), max_length=50,
                           help_text=_("A short code for imports and the API, e.g. municipal-water"))


class IntervalsForm(forms.Form):
    """Days each tier may go without contact before "My day" lists the customer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for tier in Tier.values:
            self.fields[tier] = forms.IntegerField(
                label=_("Tier %(tier)s customers (days)") % {"tier": tier},
                min_value=1, max_value=3650)
