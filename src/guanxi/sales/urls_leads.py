"""URLs (namespace "leads")."""

from django.urls import path

from . import views_leads as v

app_name = "leads"
urlpatterns = [
    path("", v.lead_list, name="list"),
    path("new/", v.lead_create, name="create"),
    path("<int:pk>/", v.lead_detail, name="detail"),
    path("<int:pk>/edit/", v.lead_edit, name="edit"),
    path("<int:pk>/delete/", v.lead_delete, name="delete"),
    path("<int:pk>/qualify/", v.lead_qualify, name="qualify"),
    path("<int:pk>/disqualify/", v.lead_disqualify, name="disqualify"),
    path("<int:pk>/reopen/", v.lead_reopen, name="reopen"),
    path("<int:pk>/convert/", v.lead_convert, name="convert"),
    path("forms/", v.leadform_list, name="forms"),
    path("forms/new/", v.leadform_create, name="form_create"),
    path("forms/<int:pk>/", v.leadform_edit, name="form_edit"),
]
