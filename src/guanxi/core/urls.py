from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("rebuild-search-index/", views.start_rebuild, name="job_start_rebuild"),
]
