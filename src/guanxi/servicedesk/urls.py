"""URLs (namespace "service"): the desk's ticket list, new ticket and ticket pages."""

from django.urls import path

from . import views as v

app_name = "service"
urlpatterns = [
    path("", v.ticket_list, name="tickets"),
    path("new/", v.ticket_new, name="ticket_new"),
    path("<int:pk>/", v.ticket_detail, name="ticket_detail"),
    path("<int:pk>/messages/", v.ticket_message, name="ticket_message"),
    path("<int:pk>/edit/", v.ticket_edit, name="ticket_edit"),
    path("<int:pk>/assign/", v.ticket_assign, name="ticket_assign"),
    path("<int:pk>/take/", v.ticket_take, name="ticket_take"),
    path("<int:pk>/status/", v.ticket_status, name="ticket_status"),
    path("<int:pk>/merge/", v.ticket_merge, name="ticket_merge"),
]
