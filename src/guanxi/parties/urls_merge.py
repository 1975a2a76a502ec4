from django.urls import path

from . import views_merge

app_name = "merge"
urlpatterns = [
    path("", views_merge.candidate_list, name="candidates"),
    path("scan/", views_merge.start_scan, name="scan"),
    path("<int:pk>/dismiss/", views_merge.dismiss, name="dismiss"),
    path("merge/", views_merge.merge_screen, name="merge"),
    path("merges/", views_merge.merge_history, name="merges"),
    path("merges/<int:pk>/undo/", views_merge.undo, name="undo"),
]
