"""Error responses of the API, one shape for every client.

- 401 {"detail"}                         not authenticated
- 403 {"detail"}                         the user may not do this (nothing was written)
- 404 {"detail"}                         no such record, or one the user may not see
- 409 {"detail", "current_version", "theirs"}  someone saved the record in between
- 422 {"detail", "errors": {field: [message, …]}}  invalid input, keyed by field
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from guanxi.core.exceptions import ConflictError

NON_FIELD = "__all__"
# Where ninja puts a parameter: the first element(s) of an error's "loc".
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as {field: [messages]}."""
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {NON_FIELD: [str(m) for m in exc.messages]}


# Names the routers give their schema parameters; not part of a field's path.
PARAM_NAMES = {"payload", "filters", "page"}


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts.pop(0)
    if parts and parts[0] in PARAM_NAMES:
        parts.pop(0)
    return ".".join(str(p) for p in parts) or NON_FIELD


def ninja_errors(exc: NinjaValidationError) -> dict[str, list[str]]:
    """Pydantic errors of a request as {field: [messages]}."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        field = _field_of(err.get("loc", ()))
        errors.setdefault(field, []).append(str(err.get("msg", "")))
    return errors


def validation_response(api: NinjaAPI, request: HttpRequest,
                        errors: dict[str, list[str]]) -> HttpResponse:
    body = {"detail": _("The input is not valid."), "errors": errors}
    return api.create_response(request, body, status=422)


def install(api: NinjaAPI) -> None:
    """Register the handlers that give every error the shapes above."""

    @api.exception_handler(NinjaValidationError)
    def _ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return validation_response(api, request, ninja_errors(exc))

    @api.exception_handler(DjangoValidationError)
    def _validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return validation_response(api, request, django_errors(exc))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        detail = str(exc) or _("You may not do this.")
        return api.create_response(request, {"detail": detail}, status=403)

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"detail": _("Not found.")}, status=404)

    @api.exception_handler(ConflictError)
    def _conflict(request: HttpRequest, exc: ConflictError) -> HttpResponse:
        body = {
            "detail": _("Someone else changed this record after you loaded it. "
                        "Load it again, then repeat your change."),
            "current_version": exc.current_version,
            "theirs": exc.theirs,
        }
        return api.create_response(request, body, status=409)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request, {"detail": _("Authentication required: a token or a logged-in session.")},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="guanxi"'
        return response

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
