"""Django admin for the customer configuration (fallback; the app's settings pages are
under /settings/). Customers and contacts are view-only here: their writes must go
through the services (validation, version check, search index, audit)."""

from __future__ import annotations

from django.contrib import admin

from guanxi.core.admin import AuditedAdmin, ReadOnlyAdmin

from .models import Contact, Customer, CustomFieldDef, Industry, Tag


@admin.register(Industry)
class IndustryAdmin(AuditedAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    search_fields = ["name"]


@admin.register(CustomFieldDef)
class CustomFieldDefAdmin(AuditedAdmin):
    list_display = ["label", "key", "field_type", "industry", "required", "order", "pack"]
    list_filter = ["field_type", "industry", "pack"]
    search_fields = ["label", "key"]
    readonly_fields = ["pack"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["name", "tier", "stage", "city", "owner", "team", "updated_at"]
    list_filter = ["tier", "stage"]
    list_select_related = ["owner", "team"]
    search_fields = ["name", "=phone", "=external_id"]
    exclude = ["search_text"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["name", "customer", "title", "mobile", "email"]
    list_select_related = ["customer"]
    search_fields = ["name", "=mobile"]
    raw_id_fields = ["customer"]
