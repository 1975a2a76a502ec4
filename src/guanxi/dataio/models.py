"""Saved column mappings for imports (imports themselves are core.Job rows of kind "import")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportTarget(models.TextChoices):
    CUSTOMERS = "customers", _("customers")
    CONTACTS = "contacts", _("contacts")
    INTERACTIONS = "interactions", _("interactions")
    LEADS = "leads", _("leads")


class SavedMapping(models.Model):
    """A named column → field mapping, reused by name from the web or `--mapping NAME`."""

    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("what"), max_length=20, choices=ImportTarget.choices)
    mapping = models.JSONField(_("mapping"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target", "name"]
        constraints = [models.UniqueConstraint(fields=["target", "name"],
                                               name="uniq_saved_mapping")]
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")

    def __str__(self) -> str:
        return self.name
