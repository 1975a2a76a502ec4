"""SLA: figures per queue, the policy grid, the business calendar."""

from django.urls import path

from . import views_sla

app_name = "sla"
urlpatterns = [
    path("", views_sla.figures, name="figures"),
    path("policies/", views_sla.policies, name="policies"),
    path("calendar/", views_sla.calendar, name="calendar"),
]
