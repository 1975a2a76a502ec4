"""The service desk: department queues and ticket types, tickets with their messages,
SLAs in business hours (a working calendar with Chinese public holidays and make-up
working days), complaints, installed equipment, field visits, time spent and
satisfaction surveys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import SoftDeleteModel, TimeStampedModel, VersionedModel
from guanxi.parties.querysets import ScopedQuerySet, scoped_by_customer

USER = settings.AUTH_USER_MODEL


class CustomerScopedQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Whoever may read the customer reads its tickets, assets, visits and surveys."""
        return scoped_by_customer(self, user)


# ---------------------------------------------------------------- queues and types


class Queue(models.Model):
    """A department's work queue (engineering, systems, sales office, finance…)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="service_queues", verbose_name=_("department"))
    manager = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="managed_queues",
                                verbose_name=_("manager (escalations)"))
    members = models.ManyToManyField(USER, blank=True, related_name="service_queues",
                                     verbose_name=_("members"))
    default_assignee = models.ForeignKey(USER, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+",
                                         verbose_name=_("default assignee"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")

    def __str__(self) -> str:
        return self.name


class Priority(models.TextChoices):
    LOW = "low", _("low")
    NORMAL = "normal", _("normal")
    HIGH = "high", _("high")
    URGENT = "urgent", _("urgent")


class TicketType(models.Model):
    """A kind of request; it routes new tickets to its queue."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="ticket_types",
                              verbose_name=_("queue"))
    default_priority = models.CharField(_("default priority"), max_length=8,
                                        choices=Priority.choices, default=Priority.NORMAL)
    is_complaint = models.BooleanField(_("complaint handling"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- installed equipment


class AssetStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("in service")
    FAULTY = "faulty", _("faulty")
    RETIRED = "retired", _("retired")


class Asset(TimeStampedModel, SoftDeleteModel, VersionedModel):
    """Equipment installed at a customer's site."""

    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="assets", verbose_name=_("customer"))
    product = models.ForeignKey("sales.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="assets",
                                verbose_name=_("product"))
    name = models.CharField(_("name"), max_length=200)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True,
                                     db_index=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    warranty_ends_on = models.DateField(_("warranty ends on"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=AssetStatus.choices,
                              default=AssetStatus.IN_SERVICE)
    order = models.ForeignKey("commerce.Order", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="assets",
                              verbose_name=_("order"))
    contract = models.ForeignKey("commerce.Contract", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assets",
                                 verbose_name=_("contract"))
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(_("source system"), max_length=30, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=100, blank=True, default="")

    objects = CustomerScopedQuerySet.as_manager_alive()
    all_objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "name", "id"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        constraints = [models.UniqueConstraint(
            fields=["source", "external_id"], condition=~models.Q(external_id=""),
            name="uniq_asset_source_external_id")]

    def __str__(self) -> str:
        return f"{self.name} {self.serial_number}".strip()

    def under_warranty(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return bool(self.warranty_ends_on and self.warranty_ends_on >= today)


# ---------------------------------------------------------------- SLAs and calendar


class BusinessCalendar(models.Model):
    """Working hours (Monday–Friday by default, local time) plus dated exceptions."""

    name = models.CharField(_("name"), max_length=100)
    work_start = models.TimeField(_("work starts"), default=dt.time(9, 0))
    work_end = models.TimeField(_("work ends"), default=dt.time(18, 0))
    lunch_start = models.TimeField(_("lunch starts"), null=True, blank=True,
                                   default=dt.time(12, 0))
    lunch_end = models.TimeField(_("lunch ends"), null=True, blank=True,
                                 default=dt.time(13, 0))
    # ISO weekdays that are working days (1 = Monday … 7 = Sunday).
    weekdays = models.JSONField(_("working weekdays"), default=list)
    is_default = models.BooleanField(_("default calendar"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("public holiday (day off)")
    WORKDAY = "workday", _("make-up working day")


class CalendarDay(models.Model):
    """An exception to the weekly pattern: a holiday, or a weekend day worked (调休)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="days", verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="uniq_calendar_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """Targets in business hours for a customer tier ("" = any tier) and a priority."""

    tier = models.CharField(_("customer tier"), max_length=1, blank=True, default="")
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    first_response_hours = models.DecimalField(_("first response (business hours)"),
                                               max_digits=6, decimal_places=2)
    resolution_hours = models.DecimalField(_("resolution (business hours)"),
                                           max_digits=7, decimal_places=2)
    warn_percent = models.PositiveSmallIntegerField(_("warn at % of target"), default=75)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["tier", "priority"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [models.UniqueConstraint(fields=["tier", "priority"],
                                               name="uniq_sla_tier_priority")]

    def __str__(self) -> str:
        return f"{self.tier or '*'}/{self.priority}"


# ---------------------------------------------------------------- tickets


class Channel(models.TextChoices):
    PHONE = "phone", _("phone")
    EMAIL = "email", _("e-mail")
    WEB = "web", _("web form")
    PORTAL = "portal", _("portal")
    VISIT = "visit", _("visit")
    OTHER = "other", _("other")


class TicketStatus(models.TextChoices):
    NEW = "new", _("new")
    OPEN = "open", _("open")
    PENDING = "pending", _("waiting for customer")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    MERGED = "merged", _("merged")


OPEN_TICKET_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class Ticket(TimeStampedModel, SoftDeleteModel, VersionedModel):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="tickets", verbose_name=_("customer"))
    contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets",
                                verbose_name=_("contact"))
    type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="tickets",
                             verbose_name=_("type"))
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tickets",
                              verbose_name=_("queue"))
    assignee = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets", verbose_name=_("assignee"))
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices,
                               default=Channel.PHONE)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices,
                                default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=8, choices=TicketStatus.choices,
                              default=TicketStatus.NEW)
    # What the request is about.
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="tickets", verbose_name=_("asset"))
    order = models.ForeignKey("commerce.Order", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="tickets",
                              verbose_name=_("order"))
    contract = models.ForeignKey("commerce.Contract", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="tickets",
                                 verbose_name=_("contract"))
    product = models.ForeignKey("sales.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets",
                                verbose_name=_("product"))
    # SLA clock (see sla.py): targets, when they were met, warnings and escalation.
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("SLA policy"))
    first_response_due_at = models.DateTimeField(_("first response due"), null=True,
                                                 blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    response_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    escalated_to = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("escalated to"))
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_tickets",
                                    verbose_name=_("merged into"))
    time_spent_minutes = models.PositiveIntegerField(_("time spent (minutes)"), default=0)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))

    objects = CustomerScopedQuerySet.as_manager_alive()
    all_objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["queue", "status"], name="sd_ticket_queue_status"),
            models.Index(fields=["assignee", "status"], name="sd_ticket_assignee_status"),
            models.Index(fields=["customer", "-created_at"], name="sd_ticket_customer"),
            models.Index(fields=["status", "first_response_due_at"], name="sd_ticket_resp_due"),
            models.Index(fields=["status", "resolution_due_at"], name="sd_ticket_resol_due"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        """The number customers quote: T000123."""
        return f"T{self.pk:06d}" if self.pk else "T—"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES


class MessageKind(models.TextChoices):
    REPLY = "reply", _("reply to customer")
    NOTE = "note", _("internal note")
    INBOUND = "inbound", _("message from customer")
    SYSTEM = "system", _("system")


class TicketMessage(models.Model):
    """A reply the customer sees, an internal note they never see, or a system entry."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    body = models.TextField(_("message"))
    author = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("author"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    emailed_to = models.CharField(_("e-mailed to"), max_length=254, blank=True)
    time_spent_minutes = models.PositiveIntegerField(_("time spent (minutes)"), default=0)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        indexes = [models.Index(fields=["ticket", "created_at"], name="sd_message_ticket")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- complaints


class Severity(models.TextChoices):
    MINOR = "minor", _("minor")
    MAJOR = "major", _("major")
    CRITICAL = "critical", _("critical")


class RootCause(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("product quality")
    DELIVERY = "delivery", _("delivery")
    INSTALLATION = "installation", _("installation")
    SERVICE = "service", _("service attitude or response")
    BILLING = "billing", _("billing")
    DOCUMENTATION = "documentation", _("documentation or training")
    OTHER = "other", _("other")


class Complaint(VersionedModel):
    """The extra handling a complaint ticket gets."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="complaint",
                                  verbose_name=_("ticket"))
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices,
                                default=Severity.MINOR)
    root_cause_category = models.CharField(_("root cause category"), max_length=16,
                                           choices=RootCause.choices, blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    corrective_action = models.TextField(_("corrective action"), blank=True)
    corrective_done_on = models.DateField(_("corrective action done on"), null=True,
                                          blank=True)
    follow_up_task = models.ForeignKey("activities.Task", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+",
                                       verbose_name=_("follow-up call"))
    follow_up_done_at = models.DateTimeField(_("followed up"), null=True, blank=True)
    follow_up_satisfied = models.BooleanField(_("customer satisfied"), null=True, blank=True)
    follow_up_notes = models.TextField(_("follow-up notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        return str(self.ticket)


# ---------------------------------------------------------------- field service


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class VisitOutcome(models.TextChoices):
    RESOLVED = "resolved", _("resolved — close the ticket")
    FOLLOW_UP = "follow_up", _("needs another visit or work")


class FieldVisit(TimeStampedModel, VersionedModel):
    """An on-site appointment for a ticket, and its visit report once done."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="visits",
                               verbose_name=_("ticket"))
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="field_visits", verbose_name=_("customer"))
    technician = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="field_visits",
                                   verbose_name=_("technician"))
    scheduled_start = models.DateTimeField(_("starts"))
    scheduled_end = models.DateTimeField(_("ends"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=VisitStatus.choices,
                              default=VisitStatus.SCHEDULED)
    instructions = models.TextField(_("instructions"), blank=True)
    # The visit report.
    work_done = models.TextField(_("work done"), blank=True)
    parts_used = models.JSONField(_("parts used"), default=list, blank=True)
    signed_off_by = models.CharField(_("customer sign-off (name)"), max_length=100, blank=True)
    time_spent_minutes = models.PositiveIntegerField(_("time on site (minutes)"), default=0)
    travel_minutes = models.PositiveIntegerField(_("travel time (minutes)"), default=0)
    outcome = models.CharField(_("outcome"), max_length=10, choices=VisitOutcome.choices,
                               blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["scheduled_start", "id"]
        verbose_name = _("field visit")
        verbose_name_plural = _("field visits")
        indexes = [
            models.Index(fields=["technician", "scheduled_start"], name="sd_visit_tech"),
            models.Index(fields=["scheduled_start"], name="sd_visit_start"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.reference} {self.scheduled_start:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- time spent (cost to serve)


class TimeKind(models.TextChoices):
    TICKET = "ticket", _("ticket work")
    VISIT = "visit", _("on-site visit")
    TRAVEL = "travel", _("travel")


class TimeEntry(models.Model):
    """Minutes a user spent serving a customer. Calls and other interactions keep their
    own duration_minutes; cost to serve adds both."""

    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="time_entries", verbose_name=_("customer"))
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="time_entries", verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=8, choices=TimeKind.choices)
    minutes = models.PositiveIntegerField(_("minutes"))
    on = models.DateField(_("date"), default=timezone.localdate)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="time_entries", verbose_name=_("ticket"))
    visit = models.ForeignKey(FieldVisit, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="time_entries", verbose_name=_("visit"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-on", "-id"]
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        indexes = [models.Index(fields=["customer", "on"], name="sd_time_customer"),
                   models.Index(fields=["on"], name="sd_time_on")]


# ---------------------------------------------------------------- satisfaction


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("satisfaction (1–5)")
    NPS = "nps", _("recommendation (NPS 0–10)")


class NpsCampaign(models.Model):
    """An NPS survey sent to a segment of customers (a customer-list filter)."""

    name = models.CharField(_("name"), max_length=200)
    segment = models.JSONField(_("segment (customer filter)"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    expires_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=14)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("NPS campaign")
        verbose_name_plural = _("NPS campaigns")

    def __str__(self) -> str:
        return self.name


class Survey(models.Model):
    """One survey sent to one person. The link carries a signed id; it is single use
    (answered_at) and expires (expires_at)."""

    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="surveys", verbose_name=_("customer"))
    contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="surveys",
                                verbose_name=_("contact"))
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="surveys", verbose_name=_("ticket"))
    campaign = models.ForeignKey(NpsCampaign, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="surveys", verbose_name=_("NPS campaign"))
    agent = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="surveys", verbose_name=_("queue"))
    email = models.EmailField(_("sent to"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    follow_up_task = models.ForeignKey("activities.Task", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+",
                                       verbose_name=_("follow-up task"))

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        indexes = [
            models.Index(fields=["customer", "answered_at"], name="sd_survey_customer"),
            models.Index(fields=["queue", "answered_at"], name="sd_survey_queue"),
            models.Index(fields=["agent", "answered_at"], name="sd_survey_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id}"

    @property
    def is_low(self) -> bool:
        """CSAT 1–2 or NPS 0–6 (a detractor) opens a follow-up task."""
        if self.score is None:
            return False
        return self.score <= (2 if self.kind == SurveyKind.CSAT else 6)


HOURLY_COST_DEFAULT = Decimal("120")  # 元 per hour of staff time, a site setting overrides
