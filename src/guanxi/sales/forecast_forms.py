"""Forms of the forecast page (filters) and the targets page (set a target)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team, TeamKind, User

from .forecast import GROUPS
from .models import PeriodKind, ProductLine
from .targets import TARGET_ROLES, can_set_target

MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, dt.date):
            return value.strftime("%Y-%m")
        return value


class ForecastForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False, initial=PeriodKind.MONTH,
                               choices=[(PeriodKind.MONTH, _("by month (6 months)")),
                                        (PeriodKind.QUARTER, _("by quarter (4 quarters)"))])
    group = forms.ChoiceField(label=_("Group by"), required=False, initial="rep",
                              choices=list(GROUPS.items()))
    start = forms.DateField(label=_("From"), required=False, widget=MonthInput,
                            input_formats=MONTH_FORMATS)

    def values(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"kind": data.get("period") or PeriodKind.MONTH,
                "group_by": data.get("group") or "rep",
                "start": data.get("start")}


def owner_choices(actor) -> list:
    """Reps and teams the actor may set targets for, as "u:<id>" / "t:<id>" choices."""
    users = [u for u in User.objects.filter(is_active=True, role__in=TARGET_ROLES)
             .select_related("team").order_by("team__path", "username")
             if can_set_target(actor, user=u)]
    teams = [t for t in Team.objects.exclude(kind=TeamKind.COMPANY).order_by("path")
             if can_set_target(actor, team=t)]
    return [("", "—"),
            (_("Sales reps"), [(f"u:{u.pk}", f"{u} · {u.team or ''}".rstrip(" ·")) for u in users]),
            (_("Teams"), [(f"t:{t.pk}", "　" * max(t.depth - 1, 0) + t.name) for t in teams])]


class TargetForm(forms.Form):
    owner = forms.ChoiceField(label=_("Sales rep or team"))
    period_kind = forms.ChoiceField(label=_("Period"), choices=PeriodKind.choices,
                                    initial=PeriodKind.MONTH)
    period_start = forms.DateField(label=_("Starting"), widget=MonthInput,
                                   input_formats=MONTH_FORMATS,
                                   help_text=_("The month the period starts in."))
    amount = forms.DecimalField(label=_("Target (元)"), min_value=0, max_digits=14,
                                decimal_places=2)
    product_line = forms.ModelChoiceField(label=_("Product line"), required=False,
                                          queryset=ProductLine.objects.filter(active=True),
                                          empty_label=_("all product lines"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["owner"].choices = owner_choices(actor)

    def clean_owner(self):
        value = self.cleaned_data["owner"]
        kind, _sep, pk = value.partition(":")
        if kind == "u" and pk.isdigit():
            user = User.objects.filter(pk=int(pk), is_active=True).first()
            if user is not None:
                return {"user": user, "team": None}
        if kind == "t" and pk.isdigit():
            team = Team.objects.filter(pk=int(pk)).first()
            if team is not None:
                return {"user": None, "team": team}
        raise forms.ValidationError(_("Choose a sales rep or a team."))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {**data["owner"], "period_kind": data["period_kind"],
                "period_start": data["period_start"], "amount": data["amount"],
                "product_line": data.get("product_line")}


__all__ = ["ForecastForm", "TargetForm"]
