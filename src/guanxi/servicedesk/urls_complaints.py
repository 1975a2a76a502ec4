"""Complaints: list, handling of one complaint, complaint rates."""

from django.urls import path

from . import views_complaints as views

app_name = "complaints"
urlpatterns = [
    path("", views.complaint_list, name="list"),
    path("rates/", views.complaint_rates, name="rates"),
    path("<int:ticket_id>/", views.complaint_detail, name="detail"),
]
