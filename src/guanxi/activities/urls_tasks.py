"""URLs (namespace "tasks"), mounted at /tasks/."""

from django.urls import path

from . import views_tasks as views

app_name = "tasks"
urlpatterns = [
    path("", views.calendar_view, name="calendar"),
    path("list/", views.task_list, name="list"),
    path("new/", views.task_create, name="create"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/edit/", views.task_edit, name="edit"),
    path("<int:pk>/complete/", views.task_complete, name="complete"),
    path("<int:pk>/cancel/", views.task_cancel, name="cancel"),
    path("<int:pk>/delete/", views.task_delete, name="delete"),
    path("feed/", views.feed_settings, name="feed_settings"),
    path("feed/reset/", views.feed_reset, name="feed_reset"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
