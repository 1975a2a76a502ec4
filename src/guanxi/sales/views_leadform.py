"""The public, embeddable lead-capture form: /f/<key>/.

Spam protection, in the order it is applied to a POST:
1. rate limit — at most `LeadForm.rate_limit_per_hour` submissions per client address
   per form per clock hour, counted in Django's cache; more → 429;
2. signed timestamp — the page carries a token signed with SECRET_KEY (django.core.signing)
   naming the form and when the page was served; a submission less than MIN_SECONDS
   after that (a bot) or more than MAX_AGE later (a replay) is refused;
3. honeypot — `website_url` is hidden from people; a filled one is a bot: it sees the
   thank-you page and nothing is saved.
"""

from __future__ import annotations

import time

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .lead_forms import PublicLeadForm
from .leads import lead_submit
from .models import LeadForm

SALT = "guanxi.sales.leadform"
MIN_SECONDS = 3
MAX_AGE = 24 * 3600
RATE_WINDOW = 3600


def make_token(form: LeadForm, now: float | None = None) -> str:
    """A signed {form id, time served} token for the page."""
    return signing.dumps({"f": form.pk, "t": now if now is not None else time.time()},
                         salt=SALT, compress=True)


def token_problem(form: LeadForm, token: str, now: float | None = None) -> str:
    """Why `token` is not acceptable for `form` now ("" when it is)."""
    now = now if now is not None else time.time()
    try:
        data = signing.loads(token or "", salt=SALT)
        served, form_id = float(data["t"]), int(data["f"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return _("This form could not be checked. Reload the page and try again.")
    if form_id != form.pk:
        return _("This form could not be checked. Reload the page and try again.")
    if now - served < MIN_SECONDS:
        return _("That was very fast. Please check your details and send the form again.")
    if now - served > MAX_AGE:
        return _("This page has been open too long. Reload it and send the form again.")
    return ""


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a reverse proxy, configure it to set REMOTE_ADDR
    (e.g. uwsgi/gunicorn forwarded-allow-ips); X-Forwarded-For is not trusted here."""
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


def over_rate_limit(form: LeadForm, ip: str, now: float | None = None) -> bool:
    """Count this submission; True when the address is over the form's hourly limit."""
    hour = int((now if now is not None else time.time()) // RATE_WINDOW)
    key = f"guanxi:leadform:{form.pk}:{ip}:{hour}"
    cache.add(key, 0, RATE_WINDOW + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW + 60)
        count = 1
    return count > form.rate_limit_per_hour


def _render(request: HttpRequest, leadform: LeadForm, form: PublicLeadForm, *,
            status: int = 200, problem: str = "") -> HttpResponse:
    return render(request, "sales/leadform/public.html",
                  {"leadform": leadform, "form": form, "problem": problem}, status=status)


def _thanks(request: HttpRequest, leadform: LeadForm) -> HttpResponse:
    message = leadform.thank_you or _("Thank you! We will get in touch with you soon.")
    return render(request, "sales/leadform/thanks.html",
                  {"leadform": leadform, "message": message})


# csrf_exempt: this form is meant to be embedded in an <iframe> on other sites and is
# posted from there, where Django's CSRF cookie is a third-party cookie that browsers
# block (SameSite) — a CSRF check would reject real visitors. Nothing here acts on
# behalf of a logged-in user (no session is read; the lead is created without an actor),
# so there is no ambient authority for CSRF to abuse; the signed, time-limited token,
# the honeypot and the per-address rate limit stand in for it against automated posts.
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, key: str) -> HttpResponse:
    leadform = get_object_or_404(LeadForm, key=key, active=True)
    if request.method == "GET":
        return _render(request, leadform, PublicLeadForm(initial={"token": make_token(leadform)}))
    ip = client_ip(request)
    if over_rate_limit(leadform, ip):
        return render(request, "sales/leadform/limited.html", {"leadform": leadform},
                      status=429)
    form = PublicLeadForm(request.POST)
    if request.POST.get("website_url"):
        return _thanks(request, leadform)  # honeypot: a bot; pretend all went well
    problem = token_problem(leadform, request.POST.get("token", ""))
    if problem:
        fresh = PublicLeadForm(initial={**request.POST.dict(), "token": make_token(leadform)})
        return _render(request, leadform, fresh, status=400, problem=problem)
    if not form.is_valid():
        form.data = form.data.copy()
        form.data["token"] = make_token(leadform)
        return _render(request, leadform, form, status=400)
    d = form.cleaned_data
    try:
        lead_submit(form=leadform, submitted_ip=ip, company=d["company"], name=d["name"],
                    phone=d["phone"], email=d["email"], city=d["city"],
                    description=d["message"], consent=d["consent"])
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        for field, messages in errors.items():
            field = "message" if field == "description" else field
            form.add_error(field if field in form.fields else None, messages)
        form.data = form.data.copy()
        form.data["token"] = make_token(leadform)
        return _render(request, leadform, form, status=400)
    return _thanks(request, leadform)
