"""URLs (namespace "screenpop"): the caller screen-pop and the call-log form under
/service/call/. Telephony systems open `screenpop:lookup` with ?phone=<caller id>."""

from django.urls import path

from . import views_screenpop as v

app_name = "screenpop"
urlpatterns = [
    path("", v.lookup, name="lookup"),
    path("log/", v.call_log, name="call_log"),
]
