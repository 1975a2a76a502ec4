"""URLs (namespace "servicesetup"): ticket types and queues, for administrators."""

from django.urls import path

from . import views_setup as v

app_name = "servicesetup"
urlpatterns = [
    path("", v.index, name="index"),
    path("types/new/", v.type_edit, name="type_create"),
    path("types/<int:pk>/", v.type_edit, name="type_edit"),
    path("types/<int:pk>/delete/", v.type_delete, name="type_delete"),
    path("queues/new/", v.queue_edit, name="queue_create"),
    path("queues/<int:pk>/", v.queue_edit, name="queue_edit"),
    path("queues/<int:pk>/delete/", v.queue_delete, name="queue_delete"),
]
