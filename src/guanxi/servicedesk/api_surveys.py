"""REST routes of satisfaction and cost to serve (mounted under /api/v1/).

    GET  /surveys                               filters customer, kind, answered
    GET  /customers/{customer_id}/satisfaction  last CSAT, average, NPS answers, comments
    POST /nps-campaigns                         create and send an NPS survey to a segment
    GET  /nps-campaigns/{campaign_id}           the campaign and its results
    GET  /cost-to-serve?since=&until=           customers by cost to serve

Reads are scoped to the customers the user sees (an invisible customer is a 404);
campaigns need can_send_nps (sending) or the service figures (reading); cost to
serve needs the service figures (403 otherwise).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from guanxi.api.auth import actor
from guanxi.api.pagination import PageQuery, paginate
from guanxi.api.schemas import ErrorOut, Page, ValidationErrorOut, WriteSchema
from guanxi.parties import permissions as party_perms
from guanxi.parties.models import Customer

from . import cost, surveys
from . import permissions as perms
from . import survey_services as svc
from .models import NpsCampaign, Survey, SurveyKind

router = Router(tags=["satisfaction"])


class SurveyOut(Schema):
    id: int
    kind: str
    customer: int
    customer_name: str
    contact: int | None
    contact_name: str
    ticket: int | None
    ticket_reference: str
    campaign: int | None
    agent: int | None
    queue: int | None
    email: str = Field(..., description='Where it was e-mailed ("" = not sent).')
    sent_at: dt.datetime
    expires_at: dt.datetime
    answered_at: dt.datetime | None
    state: str = Field(..., description='"open", "answered" or "expired".')
    score: int | None
    comment: str
    is_low: bool
    follow_up_task: int | None
    link: str = Field(..., description="The survey's link while it is open, else empty.")

    @staticmethod
    def resolve_customer(obj: Survey) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Survey) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_contact(obj: Survey) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_contact_name(obj: Survey) -> str:
        return obj.contact.name if obj.contact_id else ""

    @staticmethod
    def resolve_ticket(obj: Survey) -> int | None:
        return obj.ticket_id

    @staticmethod
    def resolve_ticket_reference(obj: Survey) -> str:
        return obj.ticket.reference if obj.ticket_id else ""

    @staticmethod
    def resolve_campaign(obj: Survey) -> int | None:
        return obj.campaign_id

    @staticmethod
    def resolve_agent(obj: Survey) -> int | None:
        return obj.agent_id

    @staticmethod
    def resolve_queue(obj: Survey) -> int | None:
        return obj.queue_id

    @staticmethod
    def resolve_state(obj: Survey) -> str:
        return surveys.survey_state(obj)

    @staticmethod
    def resolve_follow_up_task(obj: Survey) -> int | None:
        return obj.follow_up_task_id

    @staticmethod
    def resolve_link(obj: Survey) -> str:
        return surveys.survey_url(obj) if surveys.survey_state(obj) == surveys.OPEN else ""


class SurveyFilters(PageQuery):
    customer: int | None = Field(None, description="Customer id.")
    kind: SurveyKind | None = None
    answered: bool | None = Field(None, description="Only answered (true) or unanswered.")
    ticket: int | None = Field(None, description="Ticket id.")
    campaign: int | None = Field(None, description="NPS campaign id.")


@router.get("/surveys", response=Page[SurveyOut], summary="List surveys")
def list_surveys(request: HttpRequest, filters: Query[SurveyFilters]):
    user = actor(request)
    qs = (Survey.objects.visible_to(user)
          .select_related("customer", "contact", "ticket").order_by("-sent_at", "-id"))
    for name in ("customer", "ticket", "campaign"):
        value = getattr(filters, name)
        if value is not None:
            qs = qs.filter(**{f"{name}_id": value})
    if filters.kind is not None:
        qs = qs.filter(kind=filters.kind.value)
    if filters.answered is not None:
        qs = qs.filter(answered_at__isnull=not filters.answered)
    return paginate(request, qs, filters)


# ---------------------------------------------------------------- one customer


class AnswerOut(Schema):
    id: int
    kind: str
    score: int
    comment: str
    answered_at: dt.datetime
    ticket_reference: str
    campaign: str


class SatisfactionOut(Schema):
    customer: int
    last_csat: AnswerOut | None
    csat_average: float | None
    csat_count: int
    nps_answers: list[AnswerOut]
    comments: list[AnswerOut]
    pending: int = Field(..., description="Open surveys still waiting for an answer.")


def _answer(s: Survey | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"id": s.pk, "kind": s.kind, "score": s.score, "comment": s.comment,
            "answered_at": s.answered_at,
            "ticket_reference": s.ticket.reference if s.ticket_id else "",
            "campaign": s.campaign.name if s.campaign_id else ""}


@router.get("/customers/{customer_id}/satisfaction",
            response={200: SatisfactionOut, 404: ErrorOut},
            summary="A customer's satisfaction: last CSAT, average, NPS answers, comments")
def customer_satisfaction(request: HttpRequest, customer_id: int):
    user = actor(request)
    customer = get_object_or_404(Customer.objects.visible_to(user), pk=customer_id)
    data = svc.customer_satisfaction(user, customer)
    return {"customer": customer.pk, "last_csat": _answer(data["last_csat"]),
            "csat_average": data["csat_average"], "csat_count": data["csat_count"],
            "nps_answers": [_answer(s) for s in data["nps_answers"]],
            "comments": [_answer(s) for s in data["comments"]], "pending": data["pending"]}


# ---------------------------------------------------------------- NPS campaigns


class CampaignIn(WriteSchema):
    name: str = Field(..., max_length=200)
    message: str = Field("", max_length=5000)
    expires_days: int = Field(14, ge=1, le=365)
    segment: dict[str, str] = Field(
        default_factory=dict,
        description="Customer-list filters: tier, stage, team (id), industry (id), tag "
                    '(id), owner (id, "me", "none"), source, q, cf_<custom field key>.')


class NpsResultsOut(Schema):
    sent: int
    answered: int
    promoters: int
    passives: int
    detractors: int
    nps: int | None = Field(..., description="% promoters − % detractors (−100…100).")
    response_rate: int | None


class CampaignOut(Schema):
    id: int
    name: str
    segment: dict[str, Any]
    message: str
    expires_days: int
    created_by: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    sent_count: int
    job: int | None
    results: NpsResultsOut


def _campaign_out(user, campaign: NpsCampaign) -> dict[str, Any]:
    counts = svc.nps_counts(Survey.objects.visible_to(user).filter(campaign=campaign))
    return {"id": campaign.pk, "name": campaign.name, "segment": campaign.segment,
            "message": campaign.message, "expires_days": campaign.expires_days,
            "created_by": campaign.created_by_id, "created_at": campaign.created_at,
            "sent_at": campaign.sent_at, "sent_count": campaign.sent_count,
            "job": campaign.job_id,
            "results": {"sent": counts.sent, "answered": counts.answered,
                        "promoters": counts.promoters, "passives": counts.passives,
                        "detractors": counts.detractors, "nps": counts.score,
                        "response_rate": counts.response_rate}}


@router.post("/nps-campaigns",
             response={201: CampaignOut, 403: ErrorOut, 422: ValidationErrorOut},
             summary="Send an NPS survey to a segment of customers")
def create_campaign(request: HttpRequest, payload: CampaignIn):
    """Creates the campaign and starts the job that e-mails one survey per customer of
    the segment (as you see it) to a contact who agreed to e-mail."""
    user = actor(request)
    campaign = svc.campaign_create(actor=user, name=payload.name, message=payload.message,
                                   expires_days=payload.expires_days, segment=payload.segment)
    campaign.refresh_from_db()
    return Status(201, _campaign_out(user, campaign))


@router.get("/nps-campaigns/{campaign_id}",
            response={200: CampaignOut, 403: ErrorOut, 404: ErrorOut},
            summary="An NPS campaign and its results")
def get_campaign(request: HttpRequest, campaign_id: int):
    user = actor(request)
    party_perms.require(perms.can_send_nps(user) or perms.can_see_service_figures(user))
    campaign = get_object_or_404(NpsCampaign, pk=campaign_id)
    return _campaign_out(user, campaign)


# ---------------------------------------------------------------- cost to serve


class CostQuery(PageQuery):
    since: dt.date | None = Field(None, description="First day (default: 12 months ago).")
    until: dt.date | None = Field(None, description="Last day (default: today).")


class CostItemOut(Schema):
    customer: int
    customer_name: str
    ticket_minutes: int
    visit_minutes: int
    travel_minutes: int
    interaction_minutes: int
    total_minutes: int
    cost: Decimal = Field(..., description="元")
    revenue: Decimal = Field(..., description="元 invoiced in the period (CNY invoices).")
    cost_ratio: Decimal | None = Field(..., description="Cost as % of revenue.")


class CostOut(Schema):
    since: dt.date
    until: dt.date
    hourly_cost: Decimal
    count: int
    total_minutes: int
    total_cost: Decimal
    items: list[CostItemOut]


@router.get("/cost-to-serve", response={200: CostOut, 403: ErrorOut},
            summary="Customers by cost to serve in a period")
def cost_to_serve(request: HttpRequest, filters: Query[CostQuery]):
    user = actor(request)
    party_perms.require(perms.can_see_service_figures(user))
    default_since, default_until = cost.default_period()
    since, until = filters.since or default_since, filters.until or default_until
    if since > until:
        since, until = until, since
    page = cost.cost_ranking(user, since, until, per_page=filters.limit,
                             offset=filters.offset)
    return {"since": since, "until": until, "hourly_cost": page.rate, "count": page.count,
            "total_minutes": page.total_minutes, "total_cost": page.total_cost,
            "items": [{"customer": r.customer_id,
                       "customer_name": r.customer.name if r.customer else "",
                       "ticket_minutes": r.minutes.ticket, "visit_minutes": r.minutes.visit,
                       "travel_minutes": r.minutes.travel,
                       "interaction_minutes": r.minutes.interaction_total,
                       "total_minutes": r.minutes.total, "cost": r.cost,
                       "revenue": r.revenue or Decimal(0), "cost_ratio": r.ratio}
                      for r in page.rows]}
