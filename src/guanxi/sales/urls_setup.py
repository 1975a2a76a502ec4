"""URLs (namespace "salessetup")."""

from django.urls import path

from . import views_setup as v

app_name = "salessetup"
urlpatterns = [
    path("", v.index, name="index"),
    path("product-lines/new/", v.product_line_edit, name="product_line_create"),
    path("product-lines/<int:pk>/", v.product_line_edit, name="product_line_edit"),
    path("product-lines/<int:pk>/toggle/", v.product_line_toggle, name="product_line_toggle"),
    path("products/new/", v.product_edit, name="product_create"),
    path("products/<int:pk>/", v.product_edit, name="product_edit"),
    path("products/<int:pk>/toggle/", v.product_toggle, name="product_toggle"),
    path("pipelines/new/", v.pipeline_create, name="pipeline_create"),
    path("pipelines/<int:pk>/", v.pipeline_detail, name="pipeline"),
    path("pipelines/<int:pk>/stages/new/", v.stage_add, name="stage_add"),
    path("stages/<int:pk>/", v.stage_edit, name="stage_edit"),
    path("stages/<int:pk>/move/", v.stage_move, name="stage_move"),
    path("stages/<int:pk>/delete/", v.stage_delete, name="stage_delete"),
]
