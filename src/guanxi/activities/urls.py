from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("log/<int:customer_pk>/", views.log, name="log"),
    path("<int:pk>/edit/", views.interaction_edit, name="interaction_edit"),
    path("<int:pk>/delete/", views.interaction_delete, name="interaction_delete"),
    path("<int:pk>/follow-up-done/", views.follow_up_done, name="follow_up_done"),
]
