"""The public survey pages under /s/<token>/ (no login).

GET shows the question with the score from the e-mail's link (?score=5) already
selected and the submit button focused; POST (CSRF-protected) records score and
comment. GET never writes: mail scanners and link previewers open every link of a
message. A forged or damaged token is a 404; an answered survey says so and changes
nothing; an expired one says so (410) and saves nothing. See surveys.py.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import surveys
from .models import Survey, SurveyKind


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    # The token is the key to the survey: keep it out of other sites' Referer headers and out
    # of indexes (same-origin, not no-referrer: Chromium then posts Origin: null, which
    # fails the CSRF check).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _form_context(survey: Survey, selected, comment: str = "", error: str = "") -> dict:
    try:
        selected = int(selected)
    except (TypeError, ValueError):
        selected = None
    return {"survey": survey, "scores": surveys.scale(survey.kind), "selected": selected,
            "comment": comment, "error": error, "is_csat": survey.kind == SurveyKind.CSAT,
            "comment_max": surveys.COMMENT_MAX}


def _closed(request: HttpRequest, survey: Survey, state: str) -> HttpResponse:
    if state == surveys.EXPIRED:
        return _render(request, "servicedesk/survey_expired.html", {"survey": survey},
                       status=410)
    return _render(request, "servicedesk/survey_done.html",
                   {"survey": survey, "already": True})


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    survey = surveys.survey_from_token(token)
    if survey is None:
        raise Http404
    state = surveys.survey_state(survey)
    if state != surveys.OPEN:
        return _closed(request, survey, state)
    if request.method == "GET":
        return _render(request, "servicedesk/survey_answer.html",
                       _form_context(survey, request.GET.get("score")))
    score, comment = request.POST.get("score"), request.POST.get("comment", "")
    try:
        surveys.answer(survey=survey, score=score, comment=comment)
    except surveys.SurveyClosed as exc:
        return _closed(request, survey, exc.state)
    except ValidationError as exc:
        message = " ".join(exc.message_dict.get("score", exc.messages))
        return _render(request, "servicedesk/survey_answer.html",
                       _form_context(survey, score, comment, message), status=400)
    return _render(request, "servicedesk/survey_done.html", {"survey": survey,
                                                             "already": False})
