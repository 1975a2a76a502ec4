"""URLs (namespace "pools")."""

from django.urls import path  # noqa: F401

app_name = "pools"
urlpatterns: list = []
