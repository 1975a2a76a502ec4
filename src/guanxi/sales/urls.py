"""URLs (namespace "sales"): opportunities and the pipeline board."""

from django.urls import path

from . import views

app_name = "sales"
urlpatterns = [
    path("", views.opportunity_list, name="list"),
    path("new/", views.opportunity_create, name="create"),
    path("board/", views.board, name="board"),
    path("views/save/", views.view_save, name="view_save"),
    path("views/<int:pk>/delete/", views.view_delete, name="view_delete"),
    path("<int:pk>/", views.opportunity_detail, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("<int:pk>/move/", views.opportunity_move, name="move"),
    path("<int:pk>/delete/", views.opportunity_delete, name="delete"),
]
