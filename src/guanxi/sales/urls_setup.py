"""URLs (namespace "salessetup")."""

from django.urls import path  # noqa: F401

app_name = "salessetup"
urlpatterns: list = []
