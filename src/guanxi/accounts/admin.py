"""Django admin for users, teams and API tokens (fallback; the app's own screens are
under /accounts/). Changes are audited; the last active administrator is protected."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guanxi.core.admin import AuditedAdmin

from .models import ApiToken, Role, Team, User
from .services import active_admins


class GuanxiUserChangeForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        user = self.instance
        was_admin = user.is_active and (user.is_superuser or user.role == Role.ADMIN)
        stays_admin = data.get("is_active", user.is_active) and (
            data.get("is_superuser", user.is_superuser) or data.get("role", user.role) == Role.ADMIN)
        if was_admin and not stays_admin and not active_admins().exclude(pk=user.pk).exists():
            raise ValidationError(_("This is the last active administrator. Make someone else "
                                    "an administrator first."))
        return data


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    form = GuanxiUserChangeForm
    list_display = ["username", "display_name", "role", "team", "is_active", "last_login"]
    list_filter = ["role", "is_active", "team"]
    list_select_related = ["team"]
    search_fields = ["username", "display_name", "email", "phone"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Guanxi"), {"fields": ("display_name", "role", "team", "phone", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "password1", "password2", "role", "team")}),
    )


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "kind", "parent", "city", "path"]
    list_filter = ["kind"]
    search_fields = ["name", "city"]
    readonly_fields = ["path"]
    ordering = ["path"]


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__username"]

    def has_add_permission(self, request):
        return False  # tokens are issued by their user; the key is shown only once
