"""Administration screens: users (list, create, edit, reset password) and the team tree.

Administrators only; everyone else gets a 404. Writes go through accounts.services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .decorators import admin_required
from .forms import PasswordForm, TeamForm, UserCreateForm, UserFilterForm, UserForm, apply_errors
from .models import Team, User


def _user_data(form) -> dict:
    keys = ["username", "display_name", "email", "phone", "role", "team", "is_active"]
    return {k: form.cleaned_data[k] for k in keys}


@admin_required
def user_list(request):
    form = UserFilterForm(request.GET or None)
    users = User.objects.select_related("team").order_by("-is_active", "username")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            users = users.filter(Q(username__icontains=q) | Q(display_name__icontains=q)
                                 | Q(email__icontains=q) | Q(phone__icontains=q))
        if data["role"]:
            users = users.filter(role=data["role"])
        if data["team"]:
            users = users.filter(team__path__startswith=data["team"].path)
        if data["active"]:
            users = users.filter(is_active=data["active"] == "1")
    page = Paginator(users, settings.GUANXI_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accounts/user_list.html", {
        "filter_form": form, "page": page, "query": query.urlencode(), "section": "users",
    })


@admin_required
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, password=form.cleaned_data["password1"],
                                        **_user_data(form))
        except ValidationError as exc:
            if "password" in getattr(exc, "error_dict", {}):
                exc.error_dict["password1"] = exc.error_dict.pop("password")
            apply_errors(form, exc)
        else:
            messages.success(request, _("User “%(name)s” created.") % {"name": user})
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "section": "users"})


@admin_required
def user_edit(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    initial = {k: getattr(user, k) for k in
               ["username", "display_name", "email", "phone", "role", "team", "is_active"]}
    if user.is_superuser:
        initial["role"] = "admin"  # a superuser is an administrator whatever the role says
    form = UserForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, **_user_data(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Changes to “%(name)s” saved.") % {"name": user})
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html",
                  {"form": form, "object": user, "section": "users"})


@admin_required
def user_password(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(actor=request.user, user=user,
                                       password=form.cleaned_data["password1"])
        except ValidationError as exc:
            exc.error_dict["password1"] = exc.error_dict.pop("password")
            apply_errors(form, exc)
        else:
            messages.success(request, _("New password for “%(name)s” set. Tell them in "
                                        "person or by phone, not by e-mail.") % {"name": user})
            return redirect("accounts:user_edit", pk=user.pk)
    return render(request, "accounts/user_password.html",
                  {"form": form, "object": user, "section": "users"})


def _tree() -> list[Team]:
    """All teams in depth-first order, siblings by name, with member counts."""
    teams = list(Team.objects.annotate(n_members=Count("members")))
    children: dict[int | None, list[Team]] = {}
    for t in teams:
        children.setdefault(t.parent_id, []).append(t)
    ordered: list[Team] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for t in sorted(children.get(parent_id, []), key=lambda t: t.name):
            t.level = depth
            t.indent = range(depth)
            t.has_children = bool(children.get(t.pk))
            ordered.append(t)
            walk(t.pk, depth + 1)

    walk(None, 0)
    return ordered


@admin_required
def team_list(request):
    return render(request, "accounts/team_list.html", {"teams": _tree(), "section": "teams"})


@admin_required
def team_create(request):
    initial = {}
    if parent_id := request.GET.get("parent"):
        initial["parent"] = Team.objects.filter(pk=parent_id if parent_id.isdigit() else 0).first()
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team})
            return redirect("accounts:team_list")
    return render(request, "accounts/team_form.html", {"form": form, "section": "teams"})


@admin_required
def team_edit(request, pk: int):
    team = get_object_or_404(Team, pk=pk)
    initial = {"name": team.name, "kind": team.kind, "parent": team.parent, "city": team.city}
    form = TeamForm(request.POST or None, initial=initial, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Team “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
            return redirect("accounts:team_list")
    return render(request, "accounts/team_form.html", {
        "form": form, "object": team, "usage": services.team_usage(team), "section": "teams",
    })


@admin_required
@require_POST
def team_delete(request, pk: int):
    team = get_object_or_404(Team, pk=pk)
    try:
        services.team_delete(actor=request.user, team=team)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:team_edit", pk=team.pk)
    messages.success(request, _("Team “%(name)s” deleted.") % {"name": team.name})
    return redirect("accounts:team_list")
