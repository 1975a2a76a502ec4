"""Satisfaction figures (/service/satisfaction/) and NPS campaigns (…/nps/)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.parties.models import Contact, CustomerKind

from . import cost
from . import permissions as perms
from . import survey_services as svc
from .models import NpsCampaign, Survey, SurveyKind


def _require_figures(user) -> None:
    if not perms.can_see_service_figures(user):
        raise PermissionDenied


def _may_see_campaigns(user) -> bool:
    return perms.can_send_nps(user) or perms.can_see_service_figures(user)


@login_required
@require_GET
def figures(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_figures(user)
    since, until = cost.parse_period(request.GET.get("since"), request.GET.get("until"))
    nps_qs = Survey.objects.visible_to(user).filter(svc._local_bounds(since, until))
    context = {
        "since": since, "until": until,
        "totals": svc.csat_totals(user, since=since, until=until),
        "by_agent": svc.csat_rows(user, group="agent", since=since, until=until),
        "by_queue": svc.csat_rows(user, group="queue", since=since, until=until),
        "by_month": svc.csat_rows(user, group="month", since=since, until=until),
        "nps": svc.nps_counts(nps_qs),
        "can_send_nps": perms.can_send_nps(user),
    }
    return render(request, "servicedesk/satisfaction_figures.html", context)


# ---------------------------------------------------------------- NPS campaigns


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    message = forms.CharField(label=gettext_lazy("Message"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=gettext_lazy("Shown above the question."))
    expires_days = forms.IntegerField(label=gettext_lazy("Link valid for (days)"),
                                      min_value=1, max_value=365, initial=14)
    WIDE: ClassVar[set[str]] = {"message"}


def _preview(user, params) -> dict[str, Any]:
    try:
        segment = svc.clean_segment(user, params)
        qs = svc.segment_queryset(user, segment)
    except ValidationError as exc:
        return {"preview_error": " ".join(exc.messages)}
    reachable_contacts = (Contact.objects.filter(consent_email=True).exclude(email="")
                          .values("customer_id"))
    reachable = qs.filter(Q(pk__in=reachable_contacts) | (
        Q(kind=CustomerKind.PERSON, consent_email=True) & ~Q(email="")))
    return {"preview_count": qs.order_by().count(),
            "preview_reachable": reachable.order_by().count()}


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not perms.can_send_nps(user):
        raise PermissionDenied
    segment_form = svc.segment_form(user, request.POST if request.method == "POST"
                                    else request.GET)
    if request.method == "GET" and request.GET.get("preview"):
        return render(request, "servicedesk/partials/satisfaction_preview.html",
                      _preview(user, request.GET))
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign = svc.campaign_create(
                    actor=user, name=form.cleaned_data["name"],
                    message=form.cleaned_data["message"],
                    expires_days=form.cleaned_data["expires_days"], segment=request.POST)
            except ValidationError as exc:
                for key, msgs in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, msgs)
            else:
                messages.success(request, _("The NPS survey is being sent."))
                return redirect("satisfaction:campaign_detail", pk=campaign.pk)
    else:
        form = CampaignForm()
    context = {"form": form, "segment_form": segment_form,
               **_preview(user, request.POST if request.method == "POST" else request.GET)}
    return render(request, "servicedesk/satisfaction_campaign_form.html", context)


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_see_campaigns(user):
        raise PermissionDenied
    campaigns = list(NpsCampaign.objects.select_related("created_by", "job")[:100])
    return render(request, "servicedesk/satisfaction_campaigns.html",
                  {"campaigns": campaigns, "can_send_nps": perms.can_send_nps(user)})


def campaign_results(user, campaign: NpsCampaign) -> dict[str, Any]:
    qs = Survey.objects.visible_to(user).filter(campaign=campaign, kind=SurveyKind.NPS)
    return {"counts": svc.nps_counts(qs),
            "distribution": svc.score_distribution(qs),
            "comments": list(qs.filter(answered_at__isnull=False).exclude(comment="")
                             .select_related("customer", "contact")
                             .order_by("score", "-answered_at")[:50])}


@login_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    if not _may_see_campaigns(user):
        raise PermissionDenied
    campaign = get_object_or_404(NpsCampaign.objects.select_related("created_by", "job"),
                                 pk=pk)
    return render(request, "servicedesk/satisfaction_campaign.html",
                  {"campaign": campaign, **campaign_results(user, campaign)})
