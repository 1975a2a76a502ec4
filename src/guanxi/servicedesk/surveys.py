"""Satisfaction surveys: the signed one-click link, sending, answering, follow-up.

    on_resolved(*, ticket, actor, now=None)       a resolved ticket → a CSAT survey (e-mailed)
    create_survey(...) -> Survey                  one survey for one person
    survey_url(survey, score=None) -> str         the absolute link (/s/<token>/?score=5)
    survey_from_token(token) -> Survey | None     None for a forged or damaged token
    survey_state(survey, now=None) -> str         "open", "answered" or "expired"
    answer(*, survey, score, comment="", now=None) -> Survey   records once; SurveyClosed
    send_survey_email(survey) -> bool

The link carries the survey id signed with SECRET_KEY (django.core.signing, its own
salt): a changed character is a 404. It is single use (`answered_at`: the answer is a
conditional UPDATE, so two submissions racing record one) and expires (`expires_at`:
CSAT after the site setting `service.survey_expires_days`, default 7; NPS after the
campaign's `expires_days`).

One click without writes on GET: mail scanners and link previewers fetch every link
in a message, so a GET that recorded the score would answer surveys nobody answered.
The five links in the e-mail open a page with the clicked score already selected,
the submit button focused and an optional comment; its POST (CSRF-protected) records
score and comment together — so a low score's follow-up task carries the comment.

Recipients: CSAT goes to the ticket's contact's e-mail, else the customer's (a
transactional message about the customer's own request, so marketing consent is
not asked); without an address the survey is created but not sent (`email` empty)
and the ticket page offers its link to copy. NPS (survey_services) respects consent.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guanxi.core import audit, site_settings
from guanxi.core.models import AuditAction

from .models import Survey, SurveyKind

log = logging.getLogger(__name__)

SALT = "guanxi.servicedesk.survey"
EXPIRES_SETTING = "service.survey_expires_days"
DEFAULT_EXPIRES_DAYS = 7
BASE_URL_SETTING = "site.base_url"
COMMENT_MAX = 2000
SCORES = {SurveyKind.CSAT: range(1, 6), SurveyKind.NPS: range(11)}
AUDIT_FIELDS = ["kind", "customer", "contact", "ticket", "campaign", "email", "expires_at"]

OPEN, ANSWERED, EXPIRED = "open", "answered", "expired"


class SurveyClosed(Exception):
    """The survey was answered already or has expired; nothing was recorded."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


# ---------------------------------------------------------------- links


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def make_token(survey: Survey) -> str:
    """The survey id, signed: the same token every time (the ticket page can show it
    again); expiry lives on the survey, not in the token."""
    return _signer().sign_object(survey.pk)


def survey_from_token(token: str) -> Survey | None:
    try:
        pk = _signer().unsign_object(token or "")
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(pk, int):
        return None
    return (Survey.objects.select_related("customer", "contact", "ticket", "campaign")
            .filter(pk=pk).first())


def site_url() -> str:
    """Where people reach this installation: the site setting `site.base_url` when an
    administrator set one, else settings.GUANXI_BASE_URL (environment)."""
    base = site_settings.get(BASE_URL_SETTING) or getattr(settings, "GUANXI_BASE_URL", "")
    return str(base or "http://127.0.0.1:8000").rstrip("/")


def survey_path(survey: Survey, score: int | None = None) -> str:
    path = reverse("survey:answer", args=[make_token(survey)])
    return f"{path}?score={score}" if score is not None else path


def survey_url(survey: Survey, score: int | None = None) -> str:
    return site_url() + survey_path(survey, score)


# ---------------------------------------------------------------- state


def survey_state(survey: Survey, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if survey.answered_at is not None:
        return ANSWERED
    if survey.expires_at <= now:
        return EXPIRED
    return OPEN


def csat_expires_days() -> int:
    try:
        return max(1, int(site_settings.get(EXPIRES_SETTING) or DEFAULT_EXPIRES_DAYS))
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_DAYS


# ---------------------------------------------------------------- creating and sending


def create_survey(*, kind: str, customer, contact=None, ticket=None, campaign=None,
                  email: str = "", expires_days: int, actor=None,
                  now: dt.datetime | None = None) -> Survey:
    """Save one survey (audited on the customer); sending is separate."""
    now = now or timezone.now()
    survey = Survey.objects.create(
        kind=kind, customer=customer, contact=contact, ticket=ticket, campaign=campaign,
        agent=getattr(ticket, "assignee", None), queue=getattr(ticket, "queue", None),
        email=email, sent_at=now, expires_at=now + dt.timedelta(days=expires_days))
    audit.record_create(actor=actor, obj=survey, fields=AUDIT_FIELDS, customer_id=customer.pk)
    return survey


def scale(kind: str) -> list[int]:
    """The scores offered, best first."""
    return list(reversed(SCORES[kind]))


def _message(survey: Survey) -> tuple[str, str, str]:
    links = [{"score": s, "url": survey_url(survey, s)} for s in scale(survey.kind)]
    context = {"survey": survey, "links": links, "url": survey_url(survey),
               "contact": survey.contact, "customer": survey.customer,
               "ticket": survey.ticket, "campaign": survey.campaign,
               "expires_at": survey.expires_at}
    if survey.kind == SurveyKind.CSAT:
        subject = _("How did we do? Your request %(ref)s") % {
            "ref": survey.ticket.reference if survey.ticket else ""}
    else:
        subject = (survey.campaign.name if survey.campaign else "") or _(
            "Would you recommend us?")
    text = render_to_string("servicedesk/survey_email.txt", context)
    html = render_to_string("servicedesk/survey_email.html", context)
    return subject.replace("\n", " ")[:200], text, html


def send_survey_email(survey: Survey, connection=None) -> bool:
    """E-mail the survey's five (CSAT) or eleven (NPS) one-click links. False when the
    survey has no address."""
    if not survey.email:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject, text, html = _message(survey)
    msg = EmailMultiAlternatives(subject, text, None, [survey.email], connection=connection)
    msg.attach_alternative(html, "text/html")
    msg.send()
    return True


def _send_later(survey_id: int) -> None:
    survey = Survey.objects.select_related("customer", "contact", "ticket", "campaign").get(
        pk=survey_id)
    try:
        send_survey_email(survey)
    except Exception:  # the survey stays; its link can still be copied from the ticket
        log.exception("could not e-mail survey %s", survey_id)


def recipient_for_ticket(ticket) -> tuple[object | None, str]:
    """(contact, e-mail) a ticket's CSAT survey goes to."""
    contact = ticket.contact
    if contact is not None and contact.deleted_at is None and contact.email:
        return contact, contact.email
    return contact, ticket.customer.email or ""


def on_resolved(*, ticket, actor, now: dt.datetime | None = None) -> Survey | None:
    """A ticket was resolved: create its CSAT survey and e-mail it once the ticket's
    transaction commits. One survey per ticket: reopened and resolved again, or
    closed after being resolved, it is not asked twice."""
    if ticket.customer.deleted_at is not None:
        return None
    if Survey.objects.filter(ticket=ticket, kind=SurveyKind.CSAT).exists():
        return None
    contact, email = recipient_for_ticket(ticket)
    survey = create_survey(kind=SurveyKind.CSAT, customer=ticket.customer, contact=contact,
                           ticket=ticket, email=email, expires_days=csat_expires_days(),
                           actor=actor, now=now)
    if email:
        survey_id = survey.pk
        transaction.on_commit(lambda: _send_later(survey_id))
    return survey


def ticket_survey(ticket) -> Survey | None:
    """The ticket's CSAT survey, for the ticket page ("copy link")."""
    return Survey.objects.filter(ticket=ticket, kind=SurveyKind.CSAT).order_by("-id").first()


# ---------------------------------------------------------------- answering


def clean_score(kind: str, value) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = -1
    if score not in SCORES[kind]:
        low, high = SCORES[kind][0], SCORES[kind][-1]
        raise ValidationError({"score": [_("Choose a score from %(low)s to %(high)s.") % {
            "low": low, "high": high}]})
    return score


@transaction.atomic
def answer(*, survey: Survey, score, comment: str = "",
           now: dt.datetime | None = None) -> Survey:
    """Record the answer once. Raises SurveyClosed (answered or expired: nothing is
    written) or ValidationError (bad score). A low score opens a follow-up task."""
    now = now or timezone.now()
    score = clean_score(survey.kind, score)
    comment = (comment or "").strip()[:COMMENT_MAX]
    done = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True,
                                 expires_at__gt=now).update(answered_at=now, score=score,
                                                            comment=comment)
    if not done:
        survey.refresh_from_db()
        state = survey_state(survey, now)
        raise SurveyClosed(EXPIRED if state == OPEN else state)
    survey.refresh_from_db()
    changes = {"score": [None, score], "answered_at": [None, now.isoformat()]}
    if comment:
        changes["comment"] = ["", comment]
    audit.record(actor=None, action=AuditAction.UPDATE, obj=survey, changes=changes,
                 customer_id=survey.customer_id)
    if survey.is_low:
        task = open_follow_up(survey, now=now)
        if task is not None:
            Survey.objects.filter(pk=survey.pk).update(follow_up_task=task)
            survey.follow_up_task = task
    return survey


def _follow_up_candidates(survey: Survey) -> list:
    """Who calls the customer back: the account manager, else the ticket's assignee,
    else the queue's manager or default assignee (active users, in that order)."""
    people = [survey.customer.owner]
    ticket = survey.ticket
    if ticket is not None:
        people += [ticket.assignee, ticket.queue.manager, ticket.queue.default_assignee]
    seen, out = set(), []
    for p in people:
        if p is not None and p.is_active and p.pk not in seen:
            seen.add(p.pk)
            out.append(p)
    return out


def open_follow_up(survey: Survey, now: dt.datetime | None = None):
    """A call task on the customer for the first candidate who may take it (the task is
    created in their name: nobody is logged in when a customer answers)."""
    from guanxi.activities.models import TaskKind
    from guanxi.activities.task_services import task_create

    now = now or timezone.now()
    top = max(SCORES[survey.kind])
    ticket = survey.ticket
    if ticket is not None:
        title = _("Call back: satisfaction %(score)s/%(top)s on %(ref)s") % {
            "score": survey.score, "top": top, "ref": ticket.reference}
    else:
        title = _("Call back: recommendation score %(score)s/%(top)s") % {
            "score": survey.score, "top": top}
    notes = [_("%(customer)s gave a low score in a satisfaction survey.") % {
        "customer": survey.customer.name}]
    if ticket is not None:
        notes.append(f"{ticket.reference} {ticket.subject}")
    if survey.comment:
        notes += ["", _("Comment: %(comment)s") % {"comment": survey.comment}]
    for person in _follow_up_candidates(survey):
        try:
            with transaction.atomic():
                return task_create(actor=person, assignee=person, title=title[:200],
                                   kind=TaskKind.CALL, due_at=now + dt.timedelta(days=1),
                                   customer=survey.customer, contact=survey.contact,
                                   notes="\n".join(notes))
        except (PermissionDenied, ValidationError):
            continue
    log.warning("no one could take the follow-up of survey %s", survey.pk)
    return None
