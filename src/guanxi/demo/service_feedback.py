"""Demo service desk: complaint handling with its follow-up call, CSAT surveys sent on
resolution, and the NPS campaign with its answers."""

from __future__ import annotations

import datetime as dt

from .commerce import CustomerInfo
from .service_objects import GenState, ServiceBatch, _Survey, _Task, _Ticket, _weighted
from .service_staff import ServiceSkeleton
from .service_vocab import (
    COMPLAINT_CATEGORY_OF,
    COMPLAINT_CAUSES,
    COMPLAINT_FOLLOW_UP_NOTES,
    COMPLAINT_FOLLOW_UP_TITLE,
    CSAT_COMMENTS,
    NPS_COMMENTS,
    NPS_FOLLOW_UP_TITLE,
    NPS_MESSAGE,
    NPS_NAME,
    SURVEY_FOLLOW_UP_TITLE,
)

NPS_DAYS_AGO = 40
NPS_SEGMENT = {"stage": "customer"}  # customer-list filter parameters
CSAT_EXPIRES_DAYS = 7  # surveys.DEFAULT_EXPIRES_DAYS
COMPLAINT_FOLLOW_UP_DAYS = 3  # complaint_services.DEFAULT_FOLLOW_UP_DAYS
CSAT_SCORES = ((5, 60), (4, 28), (3, 7), (2, 3), (1, 2))
CSAT_SCORES_BREACHED = ((5, 30), (4, 30), (3, 20), (2, 12), (1, 8))


class Feedback(GenState):
    """ServiceGen's part for complaints, surveys and their follow-up calls."""

    def _complaint(self, t: _Ticket, severity: str, rng, renews: _Ticket | None) -> None:
        """Severity, root cause and corrective action; once resolved, the follow-up call
        (complaint_services: the owner's task, COMPLAINT_FOLLOW_UP_DAYS business days on)."""
        rnd = rng.random
        category = COMPLAINT_CATEGORY_OF.get(t.subject, "other")
        if renews is not None:
            severity, category = renews.complaint[0], renews.complaint[1]
        cause, action = "", ""
        if t.resolved or rnd() < 0.5:
            options = COMPLAINT_CAUSES[category]
            cause, action = options[int(rnd() * len(options))]
        done_on = None
        if t.resolved:
            day = self._day(t.resolved) + dt.timedelta(days=int(rnd() * 11))
            done_on = day if day < self.today else None
        task, follow_done, satisfied, notes = None, None, None, ""
        owner = t.customer.owner_id or t.assignee or self.sk.managers.get(t.queue)
        if t.resolved and owner:
            due = self.cal.add_days(t.resolved, COMPLAINT_FOLLOW_UP_DAYS)
            task = self._task(COMPLAINT_FOLLOW_UP_TITLE.format(who=t.customer.who, ref="{ref}"),
                              owner, t.resolved, due, t.customer.id,
                              t.contact[0] if t.contact else None, rng, done_share=0.95)
            if task.status == "done":
                follow_done, satisfied = task.done_at, rnd() < 0.88
                texts = COMPLAINT_FOLLOW_UP_NOTES[satisfied]
                notes = task.notes = texts[int(rnd() * len(texts))]
                task.outcome = "resolved" if satisfied else "follow_up"
        t.complaint = (severity, category, cause, action, done_on, follow_done, satisfied,
                       notes)
        t.complaint_task = task

    def _csat(self, t: _Ticket, rng) -> None:
        """The survey sent on resolution (surveys.on_resolved); ~60 % answer."""
        rnd, now = rng.random, self.now
        sent = t.resolved + dt.timedelta(seconds=5 + int(rnd() * 60))
        if sent >= now:
            return
        expires = sent + dt.timedelta(days=CSAT_EXPIRES_DAYS)
        answered, score, comment = None, None, ""
        if rnd() < (0.5 if t.resol_breached else 0.66):
            x = rnd()
            delay = dt.timedelta(minutes=10 + int(rnd() * 110)) if x < 0.6 else (
                dt.timedelta(hours=2 + int(rnd() * 46)) if x < 0.9
                else dt.timedelta(days=2 + int(rnd() * 4)))
            if sent + delay < min(now, expires):
                answered = sent + delay
                score = _weighted(rnd, CSAT_SCORES_BREACHED if t.resol_breached
                                  else CSAT_SCORES)
                if rnd() < 0.5 or score <= 2:
                    texts = CSAT_COMMENTS[score]
                    comment = texts[int(rnd() * len(texts))]
        email = t.contact[2] or t.customer.email
        survey = _Survey("csat", t.customer.id, t.contact[0], email, sent, expires,
                         answered, score, comment, t.assignee, self.sk.queues.get(t.queue))
        if score is not None and score <= 2:  # the follow-up call (surveys.open_follow_up)
            owner = t.customer.owner_id or t.assignee or self.sk.managers.get(t.queue)
            if owner:
                survey.task = self._task(
                    SURVEY_FOLLOW_UP_TITLE.format(who=t.customer.who, ref="{ref}", score=score),
                    owner, answered, self.cal.add_days(answered, 1), t.customer.id,
                    t.contact[0], rng, notes=comment)
        t.survey = survey

    def _task(self, title: str, owner: int, created: dt.datetime, due: dt.datetime,
              customer: int, contact: int | None, rng, notes: str = "",
              done_share: float = 0.9) -> _Task:
        """A follow-up call task; done (mostly) once its time has passed."""
        rnd, now = rng.random, self.now
        status, done_at = "open", None
        if due < now and rnd() < done_share:
            status = "done"
            done_at = min(due + dt.timedelta(minutes=int(rnd() * 240)),
                          now - dt.timedelta(minutes=1))
        return _Task(title, owner, due, status, done_at, customer, contact, created, notes,
                     outcome="reached" if status == "done" else "")

    def _nps(self, c: CustomerInfo, contacts: list[tuple], rng, out: ServiceBatch) -> None:
        if self.campaign is None or c.stage != NPS_SEGMENT["stage"]:
            return
        if c.created_on >= self.nps_sent.date():
            return
        contact = next((x for x in contacts if x[2]), None)
        if contact is None:
            return
        rnd, now = rng.random, self.now
        sent = self.nps_sent + dt.timedelta(seconds=int(rnd() * 900))
        expires = sent + dt.timedelta(days=14)
        answered, score, comment = None, None, ""
        if rnd() < 0.42:
            at = sent + dt.timedelta(minutes=int(rnd() * 60 * 24 * 10))
            if at < min(now, expires):
                answered = at
                x = rnd()
                band = "promoter" if x < 0.5 else ("passive" if x < 0.8 else "detractor")
                score = {"promoter": 9 + (rnd() < 0.5), "passive": 7 + (rnd() < 0.5),
                         "detractor": (6, 6, 5, 5, 4, 3, 2, 0)[int(rnd() * 8)]}[band]
                if rnd() < 0.5 or band == "detractor":
                    texts = [s for s in NPS_COMMENTS[band] if s] or [""]
                    comment = texts[int(rnd() * len(texts))]
        survey = _Survey("nps", c.id, contact[0], contact[2], sent, expires, answered, score,
                         comment, campaign=self.campaign)
        if score is not None and score <= 6 and c.owner_id:  # the account manager calls
            survey.task = self._task(NPS_FOLLOW_UP_TITLE.format(who=c.who, score=score),
                                     c.owner_id, answered, self.cal.add_days(answered, 1),
                                     c.id, contact[0], rng, notes=comment)
            out.tasks.append(survey.task)
        out.surveys.append(survey)


def _campaign(sk: ServiceSkeleton, today: dt.date, zone: dt.tzinfo):
    from guanxi.servicedesk.models import NpsCampaign

    sent = dt.datetime.combine(today - dt.timedelta(days=NPS_DAYS_AGO), dt.time(10), zone)
    return NpsCampaign.objects.create(
        name=NPS_NAME.format(year=sent.year), segment=dict(NPS_SEGMENT), message=NPS_MESSAGE,
        expires_days=14, created_by_id=sk.marketing, created_at=sent - dt.timedelta(days=1),
        sent_at=sent)
