from django.urls import path

from . import views_import as views

app_name = "imports"
urlpatterns = [
    path("", views.history, name="history"),
    path("new/", views.start, name="start"),
    path("upload/<slug:token>/map/", views.map_columns, name="map"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/import/", views.rerun, name="rerun"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/rejects.csv", views.rejects, name="rejects"),
]
