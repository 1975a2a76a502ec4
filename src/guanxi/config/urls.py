from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("guanxi.api.urls")),
    path("customers/", include("guanxi.parties.urls")),
    path("search/", include("guanxi.parties.urls_search")),
    path("jobs/", include("guanxi.core.urls")),
    path("imports/", include("guanxi.dataio.urls_import")),
    path("export/", include("guanxi.dataio.urls_export")),
    path("duplicates/", include("guanxi.parties.urls_merge")),
    path("activities/", include("guanxi.activities.urls")),
    path("tasks/", include("guanxi.activities.urls_tasks")),
    path("leads/", include("guanxi.sales.urls_leads")),
    path("f/", include("guanxi.sales.urls_leadform")),
    path("sales/pools/", include("guanxi.sales.urls_pool")),
    path("sales/setup/", include("guanxi.sales.urls_setup")),
    path("sales/forecast/", include("guanxi.sales.urls_forecast")),
    path("sales/dashboard/", include("guanxi.sales.urls_dashboard")),
    path("sales/", include("guanxi.sales.urls")),
    path("accounts/", include("guanxi.accounts.urls")),
    path("", include("guanxi.ui.urls")),
]
