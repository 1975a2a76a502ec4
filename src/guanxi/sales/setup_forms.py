"""Forms of the sales set-up pages (administrators)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Opportunity, Pipeline, Product, ProductLine, StageKind


def requirable_choices() -> list[tuple[str, str]]:
    """Fields a stage may require, labelled as on the opportunity form."""
    from .services import REQUIRABLE

    return [(name, str(Opportunity._meta.get_field(name).verbose_name).capitalize())
            for name in REQUIRABLE]


def activity_choices() -> list[tuple[str, str]]:
    from guanxi.activities.models import InteractionKind

    return [(value, str(label).capitalize()) for value, label in InteractionKind.choices]


class ProductLineForm(forms.ModelForm):
    class Meta:
        model = ProductLine
        fields = ("code", "name", "active")


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ("product_line", "code", "name", "unit_price", "active")


class PipelineForm(forms.ModelForm):
    copy_from = forms.ModelChoiceField(
        label=_("Copy the stages of"), required=False, queryset=Pipeline.objects.all(),
        help_text=_("Empty: start without stages and add them next."))

    class Meta:
        model = Pipeline
        fields = ("name", "product_line", "is_default", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["copy_from"]
        else:
            self.fields["active"].initial = False
            self.fields["active"].help_text = _(
                "A pipeline can only be active with an open, a won and a lost stage.")


class StageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices, initial=StageKind.OPEN)
    probability = forms.IntegerField(label=_("Win probability (%)"), min_value=0,
                                     max_value=100, initial=10)
    required_fields = forms.MultipleChoiceField(
        label=_("Fields that must be filled in"), required=False,
        widget=forms.CheckboxSelectMultiple, choices=requirable_choices)
    required_activities = forms.MultipleChoiceField(
        label=_("Activities that must be logged first"), required=False,
        widget=forms.CheckboxSelectMultiple, choices=activity_choices)

    @classmethod
    def for_stage(cls, stage, data=None, prefix: str | None = None) -> StageForm:
        return cls(data, prefix=prefix, initial={
            "name": stage.name, "kind": stage.kind, "probability": stage.probability,
            "required_fields": stage.required_fields,
            "required_activities": stage.required_activities})
