from django.urls import path

from . import views

app_name = "ui"
urlpatterns = [
    path("", views.home, name="home"),
    path("welcome/", views.welcome, name="welcome"),
    path("welcome/dismiss/", views.welcome_dismiss, name="welcome_dismiss"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/fields/", views.custom_field_list, name="custom_field_list"),
    path("settings/fields/new/", views.custom_field_create, name="custom_field_create"),
    path("settings/fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path("settings/fields/<int:pk>/delete/", views.custom_field_delete,
         name="custom_field_delete"),
    path("settings/industries/", views.industry_list, name="industry_list"),
    path("settings/packs/", views.pack_list, name="pack_list"),
    path("settings/packs/<slug:code>/apply/", views.pack_apply, name="pack_apply"),
    path("settings/intervals/", views.contact_intervals, name="contact_intervals"),
]
