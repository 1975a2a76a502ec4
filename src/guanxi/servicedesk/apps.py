from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceDeskConfig(AppConfig):
    name = "guanxi.servicedesk"
    label = "servicedesk"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        # Register customer-page panels, timeline sources and scheduled jobs.
        from . import (  # noqa: F401
            field_registry,
            panels,
            periodic,
            satisfaction_registry,
            timeline,
        )
