"""The personal access token page: create (the key is shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.accounts.models import ApiToken

from . import services


def _page(request: HttpRequest, *, new_key: str = "", errors: list[str] | None = None,
          name: str = "", status: int = 200) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    return render(request, "api/tokens.html", {
        "tokens": tokens, "new_key": new_key, "errors": errors or [], "name": name,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    name = request.POST.get("name", "")
    try:
        _token, key = services.token_create(actor=request.user, name=name)
    except ValidationError as exc:
        return _page(request, errors=exc.messages, name=name, status=422)
    # Rendered (not redirected) so the key appears once and is stored nowhere.
    response = _page(request, new_key=key)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api:tokens")
