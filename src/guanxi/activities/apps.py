from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "guanxi.activities"
    label = "activities"
    verbose_name = _("Timeline")

    def ready(self) -> None:
        # Timeline sources (interactions, tasks) and the task-reminder periodic job.
        from . import reminders, task_timeline, timeline  # noqa: F401
