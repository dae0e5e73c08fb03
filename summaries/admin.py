"""Admin for summaries, users' LLM settings (the API key is never shown) and the staff allow-list of LLM hosts."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from sessions_app.admin import StaffOnly
from summaries.models import AllowedLLMHost, LLMSettings, Summary


@admin.register(Summary)
class SummaryAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["id", "session", "owner", "backend", "model_name", "status", "requested_by", "created", "finished"]
    list_display_links = ["id", "session"]
    list_filter = ["backend", "status", "created"]
    search_fields = ["session__title", "session__owner__username", "model_name", "text"]
    list_select_related = ["session", "session__owner", "requested_by"]
    date_hierarchy = "created"
    readonly_fields = [
        "session", "requested_by", "backend", "model_name", "status", "progress", "text", "error", "prompt",
        "task_id", "cancel_requested", "created", "started", "finished",
    ]  # fmt: skip

    def has_add_permission(self, request, *args) -> bool:
        return False  # summaries are requested from a session (page or the admin's session action)

    @admin.display(description="owner", ordering="session__owner__username")
    def owner(self, obj):
        return obj.session.owner


@admin.register(LLMSettings)
class LLMSettingsAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["user", "remote_url", "remote_model", "has_api_key", "updated"]
    search_fields = ["user__username", "remote_url", "remote_model"]
    list_select_related = ["user"]
    fields = ["user", "remote_url", "remote_model", "has_api_key", "updated"]  # never the encrypted key
    readonly_fields = ["has_api_key", "updated"]
    raw_id_fields = ["user"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="API key stored", boolean=True)
    def has_api_key(self, obj):
        return obj.has_api_key


@admin.register(AllowedLLMHost)
class AllowedLLMHostAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["host", "note", "created_by", "created"]
    search_fields = ["host", "note"]
    fields = ["host", "note", "created_by", "created"]
    readonly_fields = ["created_by", "created"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
