from django.urls import path

from . import bin_views, contact_list_views, contact_views, views

app_name = "parties"
urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create, name="customer_create"),
    path("contacts/", contact_list_views.contact_list, name="contact_list"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:pk>/history/", views.customer_history, name="customer_history"),
    path("<int:pk>/delete/", views.customer_delete, name="customer_delete"),
    path("<int:pk>/contacts/new/", contact_views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/edit/", contact_views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", contact_views.contact_delete, name="contact_delete"),
    path("recycle-bin/", bin_views.recycle_bin, name="recycle_bin"),
    path("recycle-bin/<str:kind>/<int:pk>/restore/", bin_views.restore, name="restore"),
]
