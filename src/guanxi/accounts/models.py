"""Users, the team tree (company → region → office) and roles."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TeamKind(models.TextChoices):
    COMPANY = "company", _("company")
    REGION = "region", _("region")
    OFFICE = "office", _("office")
    DEPARTMENT = "department", _("department")


class Team(models.Model):
    """A node of the team tree. `path` ("/1/4/9/") makes subtree queries one index range."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=TeamKind.choices,
                            default=TeamKind.OFFICE)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("parent team"))
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    city = models.CharField(_("city"), max_length=50, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The path is derived from the parent chain; children are re-pathed when a team moves.
        super().save(*args, **kwargs)
        old = self.path
        self.path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if old != self.path:
            Team.objects.filter(pk=self.pk).update(path=self.path)
            for child in self.children.all():
                child.save()

    def subtree_ids(self) -> list[int]:
        return list(Team.objects.filter(path__startswith=self.path).values_list("id", flat=True))

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")
    DIRECTOR = "director", _("director")
    MANAGER = "manager", _("manager")
    REP = "rep", _("sales rep")
    SERVICE = "service", _("service agent")
    MARKETING = "marketing", _("marketing")
    FINANCE = "finance", _("finance")
    READONLY = "readonly", _("read-only")


# Roles that read every customer. Managers read their team subtree, reps their own,
# shared and pool customers.
SEE_ALL_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.SERVICE, Role.MARKETING, Role.FINANCE,
                 Role.READONLY}


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="members", verbose_name=_("team"))
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def sees_all_customers(self) -> bool:
        return self.is_superuser or self.role in SEE_ALL_ROLES

    def team_subtree_ids(self) -> list[int]:
        return self.team.subtree_ids() if self.team_id else []


class ApiToken(models.Model):
    """A personal access token. Only a hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple[ApiToken, str]:
        key = "gx_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[:10], key_hash=cls.hash(key))
        return token, key
