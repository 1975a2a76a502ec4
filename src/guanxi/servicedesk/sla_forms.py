"""Forms of the SLA pages: the period filter, working hours, the pasted days of a year."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Queue

WEEKDAYS = [(1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")),
            (5, _("Friday")), (6, _("Saturday")), (7, _("Sunday"))]
MAX_PERIOD_DAYS = 366 * 3


class PeriodForm(forms.Form):
    """A period [start, end] of local dates; default: this month so far."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, default_days: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_days = default_days

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        if self.default_days:
            default_start = end - dt.timedelta(days=self.default_days - 1)
        else:
            default_start = end.replace(day=1)
        start = data.get("start") or default_start
        if start > end:
            self.add_error("start", _("The period must start before it ends."))
        elif (end - start).days > MAX_PERIOD_DAYS:
            self.add_error("start", _("Choose a period of at most three years."))
        data["start"], data["end"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The chosen period, or the default one when the input is invalid."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        fallback = PeriodForm({}, default_days=self.default_days)
        fallback.is_valid()
        return fallback.cleaned_data["start"], fallback.cleaned_data["end"]


class FiguresForm(PeriodForm):
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(),
                                   required=False, empty_label=_("All queues"))


class HoursForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    work_start = forms.TimeField(label=_("Work starts"),
                                 widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    work_end = forms.TimeField(label=_("Work ends"),
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    lunch_start = forms.TimeField(label=_("Lunch starts"), required=False,
                                  help_text=_("Leave both lunch times empty for no break."),
                                  widget=forms.TimeInput(attrs={"type": "time"},
                                                         format="%H:%M"))
    lunch_end = forms.TimeField(label=_("Lunch ends"), required=False,
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    weekdays = forms.TypedMultipleChoiceField(label=_("Working weekdays"), choices=WEEKDAYS,
                                              coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)


class DaysForm(forms.Form):
    year = forms.IntegerField(widget=forms.HiddenInput, min_value=1900, max_value=2200)
    days = forms.CharField(
        label=_("Holidays and make-up working days"), required=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
        help_text=_("One day a line: date, kind (holiday or workday), name — e.g. "
                    "“2027-01-01 holiday 元旦” or “2027-02-07 workday 春节调休”. A range: "
                    "“2027-10-01..2027-10-07 holiday 国庆节”. Saving replaces the year's list."))
