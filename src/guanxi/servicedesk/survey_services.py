"""NPS campaigns to a segment, and the satisfaction figures.

    segment_queryset(user, segment) -> QuerySet[Customer]    the customer list's filters
    campaign_create(*, actor, name, segment, message="", expires_days=14) -> NpsCampaign
    send_campaign(campaign, *, now=None, progress=None) -> dict     (the job's body)
    nps(promoters, passives, detractors) -> int | None
    nps_counts(surveys) -> NpsCounts
    csat_rows(user, *, group, since, until) -> list[dict]   per agent / queue / month
    customer_satisfaction(user, customer) -> dict           the customer page's panel

A segment is the customer list's filter form (parties.forms.CustomerFilterForm: tier,
stage, region/office, industry, tag, owner, source, search text, custom fields),
stored as its raw query values, and evaluated with the list's own query
(`list_queryset`) as the campaign's creator sees it — so a manager's campaign only
reaches customers they may see. Each customer gets one survey, sent to its first
contact (primary first) that has an e-mail address and agreed to e-mail
(`consent_email`); a person customer without contacts, to its own address when it
agreed. Customers without such an address are counted as skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.core import audit
from guanxi.core.jobs import job_body, job_progress, start_job
from guanxi.core.models import Job
from guanxi.parties.models import Contact, Customer, CustomerKind

from . import permissions as perms
from . import surveys
from .models import NpsCampaign, Survey, SurveyKind

SEND_NPS = "send_nps"
CHUNK = 500
CAMPAIGN_AUDIT_FIELDS = ["name", "segment", "message", "expires_days"]


# ---------------------------------------------------------------- segments


def segment_form(user, segment: dict[str, Any]):
    from guanxi.parties.forms import CustomerFilterForm

    return CustomerFilterForm(segment, user=user)


def clean_segment(user, data) -> dict[str, str]:
    """The filter values of `data` (a QueryDict or dict) that the customer list knows,
    as plain strings; ValidationError when one is not valid."""
    form = segment_form(user, {k: data.get(k) for k in data})
    if not form.is_valid():
        raise ValidationError({f"segment.{k}": v for k, v in form.errors.items()})
    out = {}
    for name in form.fields:
        if name == "sort":
            continue
        value = data.get(name)
        if value not in (None, ""):
            out[name] = str(value)
    return out


def segment_queryset(user, segment: dict[str, Any]) -> QuerySet:
    from guanxi.parties.list_selectors import list_queryset

    form = segment_form(user, segment)
    if not form.is_valid():
        raise ValidationError({f"segment.{k}": v for k, v in form.errors.items()})
    return list_queryset(user, form.cleaned_data, custom_defs=form.custom_defs)


def segment_count(user, segment: dict[str, Any]) -> int:
    return segment_queryset(user, segment).order_by().count()


def _recipients(customers: list[Customer]) -> dict[int, tuple[Contact | None, str]]:
    """customer id → (contact, e-mail) for the customers of one chunk (one query)."""
    out: dict[int, tuple[Contact | None, str]] = {}
    contacts = (Contact.objects.filter(customer_id__in=[c.pk for c in customers],
                                       consent_email=True)
                .exclude(email="").order_by("customer_id", "-is_primary", "name", "id"))
    for ct in contacts:
        out.setdefault(ct.customer_id, (ct, ct.email))
    for c in customers:
        if c.pk not in out and c.kind == CustomerKind.PERSON and c.email and c.consent_email:
            out[c.pk] = (None, c.email)
    return out


# ---------------------------------------------------------------- campaigns


@transaction.atomic
def campaign_create(*, actor, name: str, segment: dict[str, Any], message: str = "",
                    expires_days: int = 14, start: bool = True) -> NpsCampaign:
    """Save the campaign (audited) and start the job that sends it."""
    if not perms.can_send_nps(actor):
        raise PermissionDenied(_("You may not send NPS surveys."))
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the campaign a name.")]
    if not 1 <= int(expires_days or 0) <= 365:
        errors["expires_days"] = [_("Between 1 and 365 days.")]
    try:
        segment = clean_segment(actor, segment or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    campaign = NpsCampaign.objects.create(name=name[:200], segment=segment,
                                          message=(message or "").strip(),
                                          expires_days=int(expires_days), created_by=actor)
    audit.record_create(actor=actor, obj=campaign, fields=CAMPAIGN_AUDIT_FIELDS)
    if start:
        job = start_job(actor=actor, kind=SEND_NPS, title=gettext_noop("Send an NPS survey"),
                        task=send_nps_job, params={"campaign_id": campaign.pk})
        NpsCampaign.objects.filter(pk=campaign.pk).update(job=job)
        campaign.job = job
    return campaign


def send_campaign(campaign: NpsCampaign, *, now: dt.datetime | None = None,
                  progress=None) -> dict[str, int]:
    """Create and e-mail one survey per customer of the segment (idempotent: customers
    that already have this campaign's survey are skipped, so a re-run only finishes)."""
    now = now or timezone.now()
    user = campaign.created_by
    if user is None or not perms.can_send_nps(user):
        raise PermissionDenied(_("The campaign's author may no longer send NPS surveys."))
    ids = list(segment_queryset(user, campaign.segment).order_by("pk").values_list(
        "pk", flat=True))
    done_ids = set(Survey.objects.filter(campaign=campaign).values_list("customer_id",
                                                                         flat=True))
    todo = [pk for pk in ids if pk not in done_ids]
    sent = skipped = 0
    for start in range(0, len(todo), CHUNK):
        customers = list(Customer.objects.filter(pk__in=todo[start:start + CHUNK]))
        recipients = _recipients(customers)
        created = []
        with transaction.atomic():
            for c in customers:
                if c.pk not in recipients:
                    skipped += 1
                    continue
                contact, email = recipients[c.pk]
                created.append(surveys.create_survey(
                    kind=SurveyKind.NPS, customer=c, contact=contact, campaign=campaign,
                    email=email, expires_days=campaign.expires_days, actor=user, now=now))
        with mail.get_connection() as connection:
            for survey in created:
                surveys.send_survey_email(survey, connection=connection)
                sent += 1
        if progress:
            progress(min(start + CHUNK, len(todo)), len(todo))
    total = Survey.objects.filter(campaign=campaign).exclude(email="").count()
    NpsCampaign.objects.filter(pk=campaign.pk).update(sent_at=now, sent_count=total)
    return {"customers": len(ids), "sent": sent, "skipped": skipped, "total_sent": total}


@task()
@job_body
def send_nps_job(job: Job, campaign_id: int) -> dict[str, Any]:
    """Background job: send an NPS campaign."""
    campaign = NpsCampaign.objects.select_related("created_by").get(pk=campaign_id)
    return send_campaign(campaign, progress=lambda done, total: job_progress(job.pk, done,
                                                                               total))


# ---------------------------------------------------------------- NPS maths


@dataclass(frozen=True)
class NpsCounts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    sent: int = 0

    @property
    def answered(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> int | None:
        return nps(self.promoters, self.passives, self.detractors)

    @property
    def response_rate(self) -> int | None:
        return round(100 * self.answered / self.sent) if self.sent else None

    def percent(self, n: int) -> int:
        return round(100 * n / self.answered) if self.answered else 0

    @property
    def promoters_percent(self) -> int:
        return self.percent(self.promoters)

    @property
    def passives_percent(self) -> int:
        return self.percent(self.passives)

    @property
    def detractors_percent(self) -> int:
        return self.percent(self.detractors)


def nps(promoters: int, passives: int, detractors: int) -> int | None:
    """Net Promoter Score: % promoters (9–10) − % detractors (0–6), −100…100, rounded
    half away from zero; None without answers."""
    total = promoters + passives + detractors
    if not total:
        return None
    value = 100 * (promoters - detractors) / total
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def nps_counts(qs: QuerySet) -> NpsCounts:
    """Promoters, passives and detractors among the NPS surveys of `qs` (one query)."""
    row = qs.filter(kind=SurveyKind.NPS).aggregate(
        promoters=Count("pk", filter=Q(score__gte=9)),
        passives=Count("pk", filter=Q(score__gte=7, score__lte=8)),
        detractors=Count("pk", filter=Q(score__lte=6)),
        sent=Count("pk"))
    return NpsCounts(**{k: v or 0 for k, v in row.items()})


def score_distribution(qs: QuerySet, kind: str = SurveyKind.NPS) -> list[dict[str, int]]:
    """[{score, count, percent}] for every score of the scale, best first (one query)."""
    counts = dict(qs.filter(kind=kind, answered_at__isnull=False).order_by()
                  .values_list("score").annotate(n=Count("pk")))
    total = sum(counts.values())
    return [{"score": s, "count": counts.get(s, 0),
             "percent": round(100 * counts.get(s, 0) / total) if total else 0}
            for s in surveys.scale(kind)]


# ---------------------------------------------------------------- CSAT figures


def _local_bounds(since: dt.date | None, until: dt.date | None) -> Q:
    q = Q()
    tz = timezone.get_current_timezone()
    if since:
        q &= Q(sent_at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz))
    if until:
        q &= Q(sent_at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min,
                                               tzinfo=tz))
    return q


GROUPS = {"agent": "agent", "queue": "queue", "month": "month"}


def csat_rows(user, *, group: str = "agent", since: dt.date | None = None,
              until: dt.date | None = None) -> list[dict[str, Any]]:
    """CSAT per agent, queue or month (by when the survey was sent): surveys, answers,
    response rate (%), average score — grouped in SQL, over the surveys of customers
    `user` may see."""
    qs = Survey.objects.visible_to(user).filter(_local_bounds(since, until),
                                                kind=SurveyKind.CSAT)
    if group == "month":
        qs = qs.annotate(month=TruncMonth("sent_at", tzinfo=timezone.get_current_timezone()))
        key = "month"
    else:
        key = GROUPS.get(group, "agent")
    rows = list(qs.order_by().values(key).annotate(
        sent=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)),
        average=Avg("score", filter=Q(answered_at__isnull=False)),
        low=Count("pk", filter=Q(answered_at__isnull=False, score__lte=2))))
    labels = _labels(key, [r[key] for r in rows])
    for r in rows:
        r["key"] = r[key]
        r["label"] = labels.get(r[key], "—") if key != "month" else r[key]
        r["response_rate"] = round(100 * r["answered"] / r["sent"]) if r["sent"] else None
        r["average"] = round(float(r["average"]), 2) if r["average"] is not None else None
        r["bar"] = round(r["average"] * 20) if r["average"] is not None else 0
    if key == "month":
        rows.sort(key=lambda r: r["month"] or dt.datetime.min.replace(tzinfo=dt.UTC))
    else:
        rows.sort(key=lambda r: (-(r["average"] or 0), str(r["label"])))
    return rows


def _labels(key: str, ids: list) -> dict:
    ids = [i for i in ids if i is not None]
    if key == "agent":
        from guanxi.accounts.models import User

        return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    if key == "queue":
        from .models import Queue

        return {q.pk: q.name for q in Queue.objects.filter(pk__in=ids)}
    return {}


def csat_totals(user, *, since: dt.date | None = None,
                until: dt.date | None = None) -> dict[str, Any]:
    row = (Survey.objects.visible_to(user).filter(_local_bounds(since, until),
                                                  kind=SurveyKind.CSAT)
           .aggregate(sent=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)),
                      average=Avg("score", filter=Q(answered_at__isnull=False)),
                      low=Count("pk", filter=Q(answered_at__isnull=False, score__lte=2))))
    row["average"] = round(float(row["average"]), 2) if row["average"] is not None else None
    row["response_rate"] = round(100 * row["answered"] / row["sent"]) if row["sent"] else None
    return row


# ---------------------------------------------------------------- one customer


def customer_satisfaction(user, customer, *, limit: int = 5) -> dict[str, Any]:
    """Last CSAT, CSAT average and count, NPS answers and the latest comments of a
    customer the caller has checked `user` may see (the customer page, the API)."""
    qs = Survey.objects.filter(customer=customer)
    answered = qs.filter(answered_at__isnull=False)
    csat = answered.filter(kind=SurveyKind.CSAT)
    agg = csat.aggregate(average=Avg("score"), count=Count("pk"))
    return {
        "last_csat": csat.select_related("ticket").order_by("-answered_at", "-id").first(),
        "csat_average": round(float(agg["average"]), 2) if agg["average"] is not None else None,
        "csat_count": agg["count"],
        "nps_answers": list(answered.filter(kind=SurveyKind.NPS).select_related("campaign")
                            .order_by("-answered_at", "-id")[:limit]),
        "comments": list(answered.exclude(comment="").select_related("ticket", "contact")
                         .order_by("-answered_at", "-id")[:limit]),
        "pending": qs.filter(answered_at__isnull=True, expires_at__gt=timezone.now()).count(),
    }
