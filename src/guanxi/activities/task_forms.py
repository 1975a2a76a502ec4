"""Forms of the task pages. Validation beyond types is done by `task_services`; its
errors come back onto the fields through `apply_service_errors`."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.parties.models import Customer

from .models import Outcome, Recurrence, Task, TaskKind
from .task_services import assignable_users, task_contacts

REMIND_CHOICES = [
    ("", _("no reminder")), ("0", _("at the time")), ("5", _("5 minutes before")),
    ("15", _("15 minutes before")), ("30", _("30 minutes before")),
    ("60", _("1 hour before")), ("120", _("2 hours before")), ("1440", _("1 day before")),
    ("2880", _("2 days before")), ("10080", _("1 week before")),
]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(obj)


class TaskForm(forms.Form):
    """Create or edit a task. The link (customer, lead, deal) is fixed by where the task
    was started from; without one, the user may pick one of their own customers."""

    title = forms.CharField(label=_("title"), max_length=200)
    kind = forms.ChoiceField(label=_("type"), choices=TaskKind.choices, initial=TaskKind.TODO)
    assignee = UserChoiceField(label=_("assigned to"), queryset=None)
    due_at = forms.DateTimeField(label=_("due / starts"), widget=DATETIME_WIDGET)
    end_at = forms.DateTimeField(label=_("ends"), required=False, widget=DATETIME_WIDGET,
                                 help_text=_("Set for an appointment."))
    all_day = forms.BooleanField(label=_("all day"), required=False)
    location = forms.CharField(label=_("location"), max_length=200, required=False)
    remind_minutes_before = forms.TypedChoiceField(
        label=_("reminder"), choices=REMIND_CHOICES, coerce=int, empty_value=None,
        required=False)
    recurrence = forms.ChoiceField(label=_("repeats"), choices=Recurrence.choices,
                                   required=False)
    recurrence_interval = forms.IntegerField(label=_("every (n)"), min_value=1, initial=1,
                                             required=False)
    recurrence_until = forms.DateField(
        label=_("repeat until"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    customer = forms.ModelChoiceField(label=_("customer"), queryset=None, required=False)
    contact = forms.ModelChoiceField(label=_("contact"), queryset=None, required=False)
    lead = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    opportunity = forms.ModelChoiceField(queryset=None, required=False,
                                         widget=forms.HiddenInput)
    notes = forms.CharField(label=_("notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 4}))

    WIDE: ClassVar[set[str]] = {"title", "notes"}

    def __init__(self, *args: Any, user, link: dict[str, Any] | None = None,
                 task: Task | None = None, **kwargs: Any) -> None:
        """`link`: the fixed customer/lead/opportunity (objects); `task`: when editing."""
        from guanxi.sales.models import Lead, Opportunity

        super().__init__(*args, **kwargs)
        self.user = user
        link = dict(link or {})
        if task is not None:
            link = {k: getattr(task, k) for k in ("customer", "lead", "opportunity")
                    if getattr(task, k + "_id")}
        self.link = link
        f = self.fields
        f["assignee"].queryset = assignable_users(user).order_by("username")
        f["assignee"].initial = user.pk
        f["lead"].queryset = Lead.objects.visible_to(user)
        f["opportunity"].queryset = Opportunity.objects.visible_to(user)
        visible = Customer.objects.visible_to(user)
        customer = link.get("customer") or (link["opportunity"].customer
                                            if link.get("opportunity") else None)
        if link:
            # The link is fixed: hidden fields that re-check visibility on submit.
            f["customer"].queryset = visible
            f["customer"].widget = forms.HiddenInput()
            for name in ("customer", "lead", "opportunity"):
                obj = customer if name == "customer" else link.get(name)
                f[name].initial = obj.pk if obj is not None else None
                if task is not None and obj is not None:
                    # An existing link stays even if the user no longer reads the record.
                    f[name].queryset = f[name].queryset.model.all_objects.filter(pk=obj.pk)
        else:
            f["customer"].queryset = visible.filter(owner=user).order_by("name")
            f["customer"].help_text = _("One of your customers; start from a customer's "
                                        "page to plan a task on any other.")
        f["contact"].queryset = task_contacts(customer)
        if customer is None:
            del f["contact"]
        f["recurrence"].choices = [("", _("does not repeat"))] + [
            c for c in Recurrence.choices if c[0]]
        if task is not None:
            for name in list(f):
                if name in ("customer", "lead", "opportunity"):
                    continue
                value = getattr(task, name)
                if name == "assignee":
                    value = task.assignee_id
                elif name == "contact":
                    value = task.contact_id
                self.initial.setdefault(name, value)
            if task.remind_minutes_before is not None:
                self.initial["remind_minutes_before"] = str(task.remind_minutes_before)
                if str(task.remind_minutes_before) not in dict(REMIND_CHOICES):
                    f["remind_minutes_before"].choices = REMIND_CHOICES + [
                        (str(task.remind_minutes_before),
                         _("%(n)s minutes before") % {"n": task.remind_minutes_before})]

    def service_data(self) -> dict[str, Any]:
        """cleaned_data as task_create/task_update keyword arguments."""
        data = dict(self.cleaned_data)
        data["recurrence"] = data.get("recurrence") or ""
        data["recurrence_interval"] = data.get("recurrence_interval") or 1
        if data.get("all_day") is None:
            data["all_day"] = False
        return data


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), required=False,
                                choices=[("", "—"), *Outcome.choices])
    notes = forms.CharField(label=_("notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("What happened; goes on the customer's timeline."))
    log_interaction = forms.BooleanField(label=_("log it on the customer's timeline"),
                                         required=False, initial=True)


STATUS_FILTERS = [("open", _("open")), ("overdue", _("overdue")), ("done", _("done")),
                  ("cancelled", _("cancelled")), ("all", _("all"))]


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=STATUS_FILTERS, required=False)
    kind = forms.ChoiceField(label=_("type"), choices=[("", _("all types")), *TaskKind.choices],
                             required=False)
    q = forms.CharField(label=_("search"), required=False, max_length=100)
    user = forms.ChoiceField(label=_("assigned to"), required=False)

    def __init__(self, *args: Any, users, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(str(u.pk), str(u)) for u in users]
