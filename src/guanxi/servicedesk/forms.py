"""Forms of the ticket pages and the service desk set-up. They shape input; the services
validate and save."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Role, Team, User
from guanxi.commerce.models import Contract, Order
from guanxi.parties.forms import TeamChoiceField
from guanxi.parties.models import Contact
from guanxi.sales.models import Product

from . import selectors
from .models import (
    Asset,
    Channel,
    MessageKind,
    Priority,
    Queue,
    Ticket,
    TicketStatus,
    TicketType,
)

CHOICE_LIMIT = 50  # orders/contracts offered in a select (the newest; a prefilled one too)


def assignable_users() -> QuerySet:
    """Users who may be given tickets of some queue: desk staff, queue members, managers."""
    desk = [Role.ADMIN, Role.DIRECTOR, Role.SERVICE]
    return (User.objects.filter(is_active=True).exclude(role=Role.READONLY)
            .filter(Q(role__in=desk) | Q(is_superuser=True) | Q(service_queues__isnull=False)
                    | Q(managed_queues__isnull=False))
            .distinct().order_by("display_name", "username"))


def _limit(field: forms.ModelChoiceField, qs: QuerySet, keep: Any = None) -> None:
    """Validate against `qs` but offer only its newest CHOICE_LIMIT rows (+ `keep`)."""
    field.queryset = qs
    shown = list(qs[:CHOICE_LIMIT])
    keep_pk = getattr(keep, "pk", keep)
    if keep_pk and all(str(o.pk) != str(keep_pk) for o in shown):
        extra = qs.filter(pk=keep_pk).first()
        if extra is not None:
            shown.insert(0, extra)
    field.choices = [("", "—")] + [(o.pk, field.label_from_instance(o)) for o in shown]


class OrderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Order) -> str:
        return f"{obj.number} · {obj.ordered_on:%Y-%m-%d} · {obj.get_status_display()}"


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contract) -> str:
        return f"{obj.number} {obj.title}".strip()


class AssetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Asset) -> str:
        return f"{obj.name} {obj.serial_number}".strip()


# ---------------------------------------------------------------- list filters


class TicketFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={
                            "type": "search", "placeholder": _("Subject, reference or customer")}))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        (selectors.STATUS_OPEN, _("Open (new, open, waiting)")),
        *[(v, label) for v, label in TicketStatus.choices],
        (selectors.STATUS_ANY, _("Any status"))])
    assignee = forms.ChoiceField(label=_("Assignee"), required=False, choices=[
        ("any", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))])
    queue = forms.ModelChoiceField(label=_("Queue"), required=False,
                                   queryset=Queue.objects.all(), empty_label=_("All queues"))
    priority = forms.ChoiceField(label=_("Priority"), required=False,
                                 choices=[("", _("Any priority"))] + list(Priority.choices))
    type = forms.ModelChoiceField(label=_("Type"), required=False,
                                  queryset=TicketType.objects.all(), empty_label=_("All types"))
    sla = forms.ChoiceField(label=_("SLA"), required=False, choices=[
        ("", _("Any")), (selectors.SLA_BREACHED, _("Breached")),
        (selectors.SLA_AT_RISK, _("At risk"))])
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    sort = forms.ChoiceField(required=False, widget=forms.HiddenInput,
                             choices=[(k, k) for k in selectors.SORTS])

    def cleaned(self) -> dict[str, Any]:
        """The valid filters (an invalid one is ignored, not an error page)."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in (None, "")}


# ---------------------------------------------------------------- create / edit


class _TicketFields(forms.Form):
    type = forms.ModelChoiceField(label=_("Type"), queryset=TicketType.objects.none(),
                                  help_text=_("The type routes the ticket to its department."))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 5}))
    contact = forms.ModelChoiceField(label=_("Contact"), required=False,
                                     queryset=Contact.objects.none())
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices,
                                initial=Channel.PHONE)
    priority = forms.ChoiceField(label=_("Priority"), required=False,
                                 choices=[("", _("The type's default"))] + list(Priority.choices))
    asset = AssetChoiceField(label=_("Equipment"), required=False, queryset=Asset.objects.none())
    order = OrderChoiceField(label=_("Order"), required=False, queryset=Order.objects.none())
    contract = ContractChoiceField(label=_("Contract"), required=False,
                                   queryset=Contract.objects.none())

    WIDE = ("subject", "description")
    LINKS = ("contact", "asset", "order", "contract")

    def _customer_choices(self, customer, initial: dict[str, Any]) -> None:
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer)
        self.fields["asset"].queryset = Asset.objects.filter(customer=customer)
        _limit(self.fields["order"], Order.objects.filter(customer=customer)
               .order_by("-ordered_on", "-id"), initial.get("order"))
        _limit(self.fields["contract"], Contract.objects.filter(customer=customer)
               .order_by("-signed_on", "-id"), initial.get("contract"))


class TicketCreateForm(_TicketFields):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), required=False, queryset=User.objects.none(),
        help_text=_("Empty: the queue's default assignee."))

    def __init__(self, *args: Any, customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["type"].queryset = TicketType.objects.filter(active=True).select_related(
            "queue")
        self.fields["assignee"].queryset = assignable_users()
        initial = {**self.initial, **({k: self.data.get(k) for k in self.LINKS}
                                      if self.is_bound else {})}
        self._customer_choices(customer, initial)

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["priority"] = data.get("priority") or None
        return data


class TicketEditForm(_TicketFields):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    product = forms.ModelChoiceField(label=_("Product"), required=False,
                                     queryset=Product.objects.filter(active=True))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        initial = {name: getattr(ticket, f"{name}_id") for name in
                   ("type", "contact", "asset", "order", "contract", "product")}
        initial.update(subject=ticket.subject, description=ticket.description,
                       channel=ticket.channel, priority=ticket.priority,
                       version=ticket.version)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = TicketType.objects.filter(
            Q(active=True) | Q(pk=ticket.type_id))
        products = Product.objects.filter(Q(active=True) | Q(pk=ticket.product_id))
        self.fields["product"].queryset = products
        self._customer_choices(ticket.customer, {**self.initial, **(
            {k: self.data.get(k) for k in self.LINKS} if self.is_bound else {})})

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


# ---------------------------------------------------------------- actions on a ticket


class MessageForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), widget=forms.RadioSelect)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}))
    time_spent_minutes = forms.IntegerField(label=_("Time spent (minutes)"), required=False,
                                            min_value=0, max_value=24 * 60)

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = {
            MessageKind.REPLY: _("Reply to the customer"),
            MessageKind.NOTE: _("Internal note (the customer never sees it)"),
            MessageKind.INBOUND: _("Message received from the customer"),
        }
        self.fields["kind"].choices = [(k, labels[k]) for k in kinds]
        if kinds:
            self.fields["kind"].initial = kinds[0]


class AssignForm(forms.Form):
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none(),
                                   required=False)
    assignee = forms.ModelChoiceField(label=_("Assignee"), required=False,
                                      queryset=User.objects.none(),
                                      empty_label=_("Nobody (unassigned)"))

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"queue": ticket.queue_id, "assignee": ticket.assignee_id})
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.filter(
            Q(active=True) | Q(pk=ticket.queue_id))
        self.fields["assignee"].queryset = User.objects.filter(
            Q(pk__in=assignable_users().values("pk")) | Q(pk=ticket.assignee_id))


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    note = forms.CharField(label=_("Note (internal)"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, statuses: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(TicketStatus.choices)
        self.fields["status"].choices = [(s, labels[s]) for s in statuses]


class MergeForm(forms.Form):
    target = forms.ModelChoiceField(label=_("Merge this ticket into"),
                                    queryset=Ticket.objects.none())

    def __init__(self, *args: Any, ticket: Ticket, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = selectors.merge_targets(ticket, user)
        self.fields["target"].label_from_instance = lambda t: (
            f"{t.reference} · {t.subject} ({t.get_status_display()})")


# ---------------------------------------------------------------- set-up


class TicketTypeForm(forms.ModelForm):
    class Meta:
        model = TicketType
        fields = ("code", "name", "queue", "default_priority", "is_complaint", "order",
                  "active")


class QueueForm(forms.ModelForm):
    team = TeamChoiceField(label=_("Department"), required=False, queryset=Team.objects.all())

    class Meta:
        model = Queue
        fields = ("code", "name", "team", "manager", "members", "default_assignee", "order",
                  "active")
        widgets: ClassVar[dict[str, Any]] = {"members": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = User.objects.filter(is_active=True).exclude(role=Role.READONLY).order_by(
            "display_name", "username")
        for name in ("manager", "members", "default_assignee"):
            self.fields[name].queryset = users
