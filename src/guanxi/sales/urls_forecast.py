"""URLs (namespace "forecast"): the forecast overview and sales targets."""

from django.urls import path

from . import views_forecast as views

app_name = "forecast"
urlpatterns: list = [
    path("", views.overview, name="overview"),
    path("targets/", views.targets, name="targets"),
    path("targets/<int:pk>/delete/", views.target_delete, name="target_delete"),
]
