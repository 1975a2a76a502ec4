from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "guanxi.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from . import periodic  # noqa: F401 - registers the periodic jobs
        from . import timeline  # noqa: F401 - registers the opportunity timeline source
        from . import panels_pool  # noqa: F401 - registers the owner history panel
        from . import panels  # noqa: F401 - the customer page's Opportunities panel
        from . import lead_timeline  # noqa: F401 - registers lead conversions (timeline)
