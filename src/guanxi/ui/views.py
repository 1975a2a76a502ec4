"""Home ("My day") and the first-run screen. The settings area is in settings_views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts.decorators import admin_required
from guanxi.activities.reminders import my_day_tasks
from guanxi.parties import config_services
from guanxi.parties.normalize import format_phone
from guanxi.parties.packs import get_pack

from . import selectors

STALE_PREVIEW = 10
from .settings_views import (  # noqa: F401  (re-exported for ui.urls)
    contact_intervals,
    custom_field_create,
    custom_field_delete,
    custom_field_edit,
    custom_field_list,
    industry_list,
    pack_apply,
    pack_list,
    settings_index,
)


def url_or_none(name: str, *args) -> str | None:
    """Reverse a URL that another part of the project may not have built yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _greeting(now, user) -> str:
    hour = timezone.localtime(now).hour
    if hour < 5 or hour >= 18:
        text = _("Good evening, %(name)s")
    else:
        text = _("Good morning, %(name)s") if hour < 12 else _("Good afternoon, %(name)s")
    return text % {"name": user}


def _decorate(follow_ups: selectors.FollowUps, stale: list[selectors.StaleTier]) -> None:
    """Attach the links each row needs, skipping those whose pages do not exist yet."""
    for section in (follow_ups.overdue, follow_ups.today, follow_ups.upcoming):
        for f in section.items:
            f.customer_url = url_or_none("parties:customer_detail", f.customer_id)
            f.done_url = url_or_none("activities:follow_up_done", f.pk)
    for tier in stale:
        for c in tier.section.items:
            c.url = url_or_none("parties:customer_detail", c.pk)
            c.phone_display = format_phone(c.phone, c.phone_ext)


def _welcome_context() -> dict:
    status = selectors.first_run_status()
    pack = get_pack(status.pack) if status.pack else None
    return {
        "status": status,
        "pack": pack,
        "customer_create_url": url_or_none("parties:customer_create"),
        "import_url": url_or_none("imports:start"),
    }


@login_required
def home(request):
    user = request.user
    if selectors.show_first_run(user):
        return render(request, "ui/welcome.html", {**_welcome_context(), "first_run": True})
    now = timezone.now()
    today = timezone.localdate(now)
    follow_ups = selectors.my_follow_ups(user, today=today)
    stale = selectors.stale_customers(user, now=now)
    _decorate(follow_ups, stale)
    stale_total = sum(t.section.count for t in stale)
    expand = request.GET.get("stale")
    for t in stale:
        # Show a short list per tier; "show all" expands one tier to its capped list.
        t.shown = t.section.items if t.tier == expand else t.section.items[:STALE_PREVIEW]
        t.hidden = t.section.count - len(t.shown)
    context = {
        "greeting": _greeting(now, user),
        "today": today,
        "follow_ups": follow_ups,
        "stale": stale,
        "stale_total": f"{stale_total}+" if any(t.section.more for t in stale) else stale_total,
        "stale_empty": not stale_total,
        "team_view": user.is_admin or user.role in ("director", "manager"),
        "customer_list_url": url_or_none("parties:customer_list"),
        "customer_create_url": url_or_none("parties:customer_create"),
        "my_tasks": my_day_tasks(user, now),  # activities/reminders.py (issue 4 tasks)
    }
    if request.htmx and request.htmx.target == "followups":
        return render(request, "ui/partials/my_followups.html", context)
    return render(request, "ui/home.html", context)


@admin_required
def welcome(request):
    """The getting-started checklist, reachable from the settings after dismissal."""
    return render(request, "ui/welcome.html", {**_welcome_context(), "first_run": False})


@admin_required
@require_POST
def welcome_dismiss(request):
    config_services.set_first_run_dismissed(actor=request.user)
    messages.info(request, _("The getting-started list is under Settings whenever you need it."))
    return redirect("ui:home")
