"""URLs (namespace "pools")."""

from django.urls import path

from . import views_pool as views

app_name = "pools"
urlpatterns = [
    path("", views.pool_list, name="list"),
    path("claim/<int:pk>/", views.claim, name="claim"),
    path("claim-lead/<int:pk>/", views.claim_lead, name="claim_lead"),
    path("release/<int:pk>/", views.release, name="release"),
    path("release-lead/<int:pk>/", views.release_lead, name="release_lead"),
    path("allocate/", views.allocate, name="allocate"),
    path("reassign/", views.reassign, name="reassign"),
    path("history/", views.history, name="history"),
    path("settings/", views.pool_settings, name="settings"),
    path("settings/new/", views.pool_edit, name="pool_create"),
    path("settings/<int:pk>/", views.pool_edit, name="pool_edit"),
    path("auto-return/", views.auto_return_now, name="auto_return"),
]
