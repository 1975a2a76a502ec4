"""URLs (namespace "satisfaction"): satisfaction figures and NPS campaigns under
/service/satisfaction/."""

from django.urls import path

from . import views_satisfaction as v

app_name = "satisfaction"
urlpatterns = [
    path("", v.figures, name="figures"),
    path("nps/", v.campaign_list, name="campaigns"),
    path("nps/new/", v.campaign_new, name="campaign_new"),
    path("nps/<int:pk>/", v.campaign_detail, name="campaign_detail"),
]
