"""Field service: /service/field/ (dispatch board, my visits, visits and reports)."""

from django.urls import path

from . import views_field as views

app_name = "field"
urlpatterns = [
    path("", views.board, name="board"),
    path("my/", views.my_visits, name="my_visits"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("visits/<int:pk>/report/", views.visit_report, name="visit_report"),
]
