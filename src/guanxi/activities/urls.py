from django.urls import path

from . import list_views, views

app_name = "activities"
urlpatterns = [
    path("", list_views.interaction_list, name="interaction_list"),
    path("log/<int:customer_pk>/", views.log, name="log"),
    path("<int:pk>/edit/", views.interaction_edit, name="interaction_edit"),
    path("<int:pk>/delete/", views.interaction_delete, name="interaction_delete"),
    path("<int:pk>/follow-up-done/", views.follow_up_done, name="follow_up_done"),
]
