"""URLs (namespace "leadform")."""

from django.urls import path  # noqa: F401

app_name = "leadform"
urlpatterns: list = []
