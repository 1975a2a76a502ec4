"""URLs (namespace "dashboard")."""

from django.urls import path

from . import views_dashboard

app_name = "dashboard"
urlpatterns = [
    path("", views_dashboard.director, name="director"),
    path("refresh/", views_dashboard.refresh, name="refresh"),
]
