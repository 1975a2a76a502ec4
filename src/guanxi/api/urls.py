"""/api/: the token page, the OpenAPI document and docs, and the v1 endpoints."""

from django.urls import path

from . import views
from .main import api

app_name = "api"
urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke, name="token_revoke"),
    *api.urls[0],
]
