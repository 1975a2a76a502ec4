"""The timeline: calls, visits, e-mails, letters, meetings, messages, notes, complaints."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import SoftDeleteModel, TimeStampedModel, VersionedModel
from guanxi.parties.querysets import ScopedQuerySet, scoped_by_customer


class InteractionKind(models.TextChoices):
    CALL = "call", _("call")
    VISIT = "visit", _("visit")
    EMAIL = "email", _("e-mail")
    LETTER = "letter", _("letter")
    MEETING = "meeting", _("meeting")
    MESSAGE = "message", _("message")
    NOTE = "note", _("note")
    COMPLAINT = "complaint", _("complaint")


class Direction(models.TextChoices):
    OUTBOUND = "out", _("outbound")
    INBOUND = "in", _("inbound")
    INTERNAL = "internal", _("internal")


class Channel(models.TextChoices):
    PHONE = "phone", _("phone")
    MOBILE = "mobile", _("mobile phone")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("e-mail")
    IN_PERSON = "in_person", _("in person")
    POST = "post", _("post")
    VIDEO = "video", _("video call")
    OTHER = "other", _("other")


DEFAULT_CHANNEL = {
    "call": Channel.PHONE, "visit": Channel.IN_PERSON, "email": Channel.EMAIL,
    "letter": Channel.POST, "meeting": Channel.IN_PERSON, "message": Channel.WECHAT,
    "note": Channel.OTHER, "complaint": Channel.PHONE,
}


class Outcome(models.TextChoices):
    REACHED = "reached", _("reached, talked")
    NO_ANSWER = "no_answer", _("no answer")
    INTERESTED = "interested", _("interested")
    NOT_INTERESTED = "not_interested", _("not interested")
    FOLLOW_UP = "follow_up", _("needs follow-up")
    ORDER = "order", _("order / agreement")
    RESOLVED = "resolved", _("resolved")
    INFO = "info", _("information only")


class InteractionQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        return scoped_by_customer(self, user)


class Interaction(TimeStampedModel, SoftDeleteModel, VersionedModel):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="interactions", verbose_name=_("customer"))
    contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="interactions",
                                verbose_name=_("contact"))
    kind = models.CharField(_("type"), max_length=12, choices=InteractionKind.choices,
                            default=InteractionKind.CALL)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    subject = models.CharField(_("summary"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    follow_up_done = models.BooleanField(_("follow-up done"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("logged by"))
    participant_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                               related_name="interactions",
                                               verbose_name=_("colleagues present"))
    participant_contacts = models.ManyToManyField("parties.Contact", blank=True,
                                                  related_name="attended_interactions",
                                                  verbose_name=_("contacts present"))
    opportunity = models.ForeignKey("sales.Opportunity", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="interactions",
                                    verbose_name=_("opportunity"))

    objects = InteractionQuerySet.as_manager_alive()
    all_objects = InteractionQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "deleted_at", "occurred_at"]),
            models.Index(fields=["created_by", "follow_up_done", "follow_up_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


# ---------------------------------------------------------------- tasks and appointments


class TaskKind(models.TextChoices):
    TODO = "todo", _("to-do")
    CALL = "call", _("call")
    VISIT = "visit", _("visit")
    MEETING = "meeting", _("meeting")
    EMAIL = "email", _("e-mail")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class Recurrence(models.TextChoices):
    NONE = "", _("does not repeat")
    DAILY = "daily", _("every day")
    WEEKLY = "weekly", _("every week")
    MONTHLY = "monthly", _("every month")
    YEARLY = "yearly", _("every year")


class TaskQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """A user's own tasks (assigned or created) and the tasks on records they may
        read: the customer's visibility, else the lead's."""
        if not (getattr(user, "is_authenticated", False) and user.is_active):
            return self.none()
        if user.sees_all_customers:
            return self
        from guanxi.parties.models import Customer
        from guanxi.sales.models import Lead

        mine = models.Q(assignee_id=user.pk) | models.Q(created_by_id=user.pk)
        on_customer = models.Q(customer__in=Customer.objects.visible_to(user).values("pk"))
        on_lead = models.Q(customer__isnull=True, lead__in=Lead.objects.visible_to(user)
                           .values("pk"))
        return self.filter(mine | on_customer | on_lead)


class Task(TimeStampedModel, SoftDeleteModel, VersionedModel):
    """A to-do or an appointment (with a start and an end) for one assignee, linked to a
    customer, a lead or a deal. Completing a call, visit, meeting or e-mail task on a
    customer logs the interaction."""

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("type"), max_length=8, choices=TaskKind.choices,
                            default=TaskKind.TODO)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices,
                              default=TaskStatus.OPEN, db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="tasks", verbose_name=_("assigned to"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    due_at = models.DateTimeField(_("due / starts"))
    end_at = models.DateTimeField(_("ends"), null=True, blank=True,
                                  help_text=_("Set for an appointment."))
    all_day = models.BooleanField(_("all day"), default=False)
    location = models.CharField(_("location"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    remind_minutes_before = models.PositiveIntegerField(
        _("remind (minutes before)"), null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    recurrence = models.CharField(_("repeats"), max_length=8, choices=Recurrence.choices,
                                  default=Recurrence.NONE, blank=True)
    recurrence_interval = models.PositiveSmallIntegerField(_("every (n)"), default=1)
    recurrence_until = models.DateField(_("repeat until"), null=True, blank=True)
    series = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="occurrences")
    customer = models.ForeignKey("parties.Customer", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="tasks",
                                 verbose_name=_("customer"))
    contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tasks",
                                verbose_name=_("contact"))
    lead = models.ForeignKey("sales.Lead", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="tasks", verbose_name=_("lead"))
    opportunity = models.ForeignKey("sales.Opportunity", null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="tasks",
                                    verbose_name=_("opportunity"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices,
                               blank=True)
    interaction = models.ForeignKey(Interaction, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="tasks",
                                    verbose_name=_("logged interaction"))

    objects = TaskQuerySet.as_manager_alive()
    all_objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["opportunity", "status"]),
        ]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title


class CalendarFeed(models.Model):
    """A user's secret iCalendar address; a new token revokes the old address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
