"""Staff see every API token (never a key: there is none to show) and may revoke tokens; nobody creates or
edits one here."""

from __future__ import annotations

from django.contrib import admin

from api_tokens import services
from api_tokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "created", "expiry", "last_used")
    list_filter = ("created", "expiry")
    search_fields = ("name", "user__username")
    fields = ("name", "prefix", "user", "created", "expiry", "last_used")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.revoke_token(obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for token in queryset:
            services.revoke_token(token, actor=request.user, request=request)
