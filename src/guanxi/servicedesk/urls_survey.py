"""URLs (namespace "survey"): the public one-click survey pages under /s/ (no login)."""

from django.urls import path

from . import views_survey as v

app_name = "survey"
urlpatterns = [
    path("<str:token>/", v.answer, name="answer"),
]
