from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "guanxi.commerce"
    label = "commerce"
    verbose_name = _("Commerce (ERP mirror)")

    def ready(self) -> None:
        from . import panels, timeline  # noqa: F401  (register panels and timeline sources)
