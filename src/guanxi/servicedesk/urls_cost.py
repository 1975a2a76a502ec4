"""URLs (namespace "costtoserve"): the cost-to-serve ranking under /service/cost/."""

from django.urls import path

from . import views_cost as v

app_name = "costtoserve"
urlpatterns = [
    path("", v.ranking, name="ranking"),
]
