"""API authentication: personal access tokens (Bearer) and the Django session.

Token: `Authorization: Bearer gx_…`, looked up by its hash; revoked tokens and
inactive users are refused. Session: the browser's login, with Django's CSRF check
on unsafe methods (a token request needs no CSRF token, a cookie request does).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from guanxi.accounts.models import ApiToken

TOKEN_PREFIX = "gx_"
# last_used_at is written at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """Personal access token from the Authorization header."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        token = token.strip()
        if not token.startswith(TOKEN_PREFIX):
            return None
        api_token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash(token), revoked_at__isnull=True)
            .first()
        )
        if api_token is None or not api_token.user.is_active:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
            api_token.last_used_at = now
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionCookieAuth(SessionAuth):
    """The logged-in browser session; CSRF is enforced on unsafe methods.

    Anonymous requests are simply not authenticated (401) rather than failing
    the CSRF check first.
    """

    def __call__(self, request: HttpRequest) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        return super().__call__(request)


def api_auth() -> list:
    """The authentication chain of the API: a token wins, otherwise the session."""
    return [TokenAuth(), SessionCookieAuth(csrf=True)]


def actor(request: HttpRequest) -> Any:
    """The user the API request is authenticated as (token owner or session user)."""
    return request.auth  # type: ignore[attr-defined]
