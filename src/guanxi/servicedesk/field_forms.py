"""Forms of the field-service pages: book or move a visit, file the visit report.
They shape input; field_services validates and saves."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import VisitOutcome

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
PART_LINES = 4
MAX_PART_LINES = 20


class TechnicianField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        region = obj.team.name if obj.team_id else ""
        return f"{obj} · {region}" if region else str(obj)


class VisitForm(forms.Form):
    """Book (or move) a visit. `technicians`: the users who may take the ticket."""

    technician = TechnicianField(label=_("Technician"), queryset=None)
    scheduled_start = forms.DateTimeField(label=_("Starts"), widget=DATETIME)
    scheduled_end = forms.DateTimeField(label=_("Ends"), widget=DATETIME)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    instructions = forms.CharField(label=_("Instructions for the technician"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}))

    WIDE: ClassVar[tuple[str, ...]] = ("address", "instructions")

    def __init__(self, *args: Any, technicians, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = technicians

    def service_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"technician": d["technician"], "start": d["scheduled_start"],
                "end": d["scheduled_end"], "address": d.get("address") or "",
                "instructions": d.get("instructions") or ""}


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)


class ReportForm(forms.Form):
    """The visit report; parts are `lines` rows of part_<i> / quantity_<i>."""

    work_done = forms.CharField(label=_("Work done"), required=False,
                                widget=forms.Textarea(attrs={"rows": 5}))
    signed_off_by = forms.CharField(label=_("Customer sign-off (name)"), required=False,
                                    max_length=100)
    time_spent_minutes = forms.IntegerField(label=_("Time on site (minutes)"), min_value=0,
                                            max_value=1440, initial=0,
                                            widget=forms.NumberInput(attrs={"inputmode":
                                                                            "numeric"}))
    travel_minutes = forms.IntegerField(label=_("Travel time (minutes)"), min_value=0,
                                        max_value=1440, initial=0,
                                        widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=VisitOutcome.choices,
                                widget=forms.RadioSelect)

    def __init__(self, *args: Any, lines: int = PART_LINES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = max(1, min(lines, MAX_PART_LINES))
        for i in range(self.lines):
            self.fields[f"part_{i}"] = forms.CharField(label=_("Part"), required=False,
                                                       max_length=200)
            self.fields[f"quantity_{i}"] = forms.CharField(
                label=_("Quantity"), required=False, max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}))

    def part_rows(self):
        return [(self[f"part_{i}"], self[f"quantity_{i}"]) for i in range(self.lines)]

    def parts(self) -> list[dict[str, str]]:
        d = self.cleaned_data
        return [{"part": d.get(f"part_{i}") or "", "quantity": d.get(f"quantity_{i}") or ""}
                for i in range(self.lines)]

    def service_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"work_done": d.get("work_done") or "", "signed_off_by": d.get("signed_off_by")
                or "", "time_spent_minutes": d.get("time_spent_minutes") or 0,
                "travel_minutes": d.get("travel_minutes") or 0, "outcome": d["outcome"],
                "parts_used": self.parts()}
