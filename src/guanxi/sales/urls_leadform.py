"""URLs (namespace "leadform"): the public, embeddable lead-capture forms under /f/."""

from django.urls import path

from . import views_leadform as v

app_name = "leadform"
urlpatterns = [
    path("<slug:key>/", v.public_form, name="public"),
]
