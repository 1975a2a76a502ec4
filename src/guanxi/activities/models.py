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
