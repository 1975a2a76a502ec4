"""Interactive API docs served entirely from this server (intranets have no internet).

django-ninja ships Swagger UI's JavaScript and CSS in its own static files; with
"ninja" in INSTALLED_APPS they are served like any other static file. This class
always renders that local template and never falls back to ninja's CDN page.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import Swagger


class LocalSwagger(Swagger):
    template = "ninja/swagger.html"

    def __init__(self) -> None:
        super().__init__(settings={
            # The default validator badge would call validator.swagger.io.
            "validatorUrl": None,
            "persistAuthorization": False,
            "displayRequestDuration": True,
        })

    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        page_settings = dict(self.settings, url=self.get_openapi_url(api, kwargs))
        context = {
            "swagger_settings": json.dumps(page_settings, indent=1),
            "api": api,
            # Swagger UI sends the CSRF token so "Try it out" works with the session.
            "add_csrf": True,
        }
        return render(request, self.template, context)
