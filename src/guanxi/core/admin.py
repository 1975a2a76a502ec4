"""Django admin: a technical fallback for administrators. The audit log is read-only;
changes made here to other records are written to it like any other change."""

from __future__ import annotations

from django.contrib import admin

from . import audit
from .models import AuditAction, AuditEntry, Job, SiteSetting


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit entry for every create, change and delete made in the admin."""

    def save_model(self, request, obj, form, change):
        fields = [f for f in form.changed_data if f in {x.name for x in obj._meta.fields}]
        if change:
            old = type(obj)._base_manager.get(pk=obj.pk)
            before = audit.snapshot(old, fields)
            super().save_model(request, obj, form, change)
            changes = audit.diff(before, audit.snapshot(obj, fields))
            if changes:
                audit.record(actor=request.user, action=AuditAction.UPDATE, obj=obj,
                             changes=changes)
        else:
            super().save_model(request, obj, form, change)
            audit.record_create(actor=request.user, obj=obj, fields=fields)

    def delete_model(self, request, obj):
        audit.record(actor=request.user, action=AuditAction.PURGE, obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit.record(actor=request.user, action=AuditAction.PURGE, obj=obj)
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: no add, change or delete (records written by the system)."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "model", "object_id", "object_repr"]
    list_filter = ["action", "model"]
    search_fields = ["object_repr", "=object_id", "=customer_id"]
    list_select_related = ["actor"]
    readonly_fields = ["at", "actor", "action", "model", "object_id", "object_repr",
                       "customer_id", "changes", "version"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "title", "status", "progress", "total", "created_by"]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]


@admin.register(SiteSetting)
class SiteSettingAdmin(AuditedAdmin):
    list_display = ["key", "updated_at"]
    search_fields = ["key"]
