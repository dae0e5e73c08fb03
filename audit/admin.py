from __future__ import annotations

from django.contrib import admin

from audit.admin_base import AuditedDelete, ReadOnly
from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditedDelete, ReadOnly, admin.ModelAdmin):
    list_display = [
        "created",
        "who",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "owner",
        "project",
        "ip",
    ]
    list_filter = ["action", "object_type", "actor_role", "created"]
    search_fields = ["actor__username", "actor_pseudonym", "owner__username", "object_repr", "detail", "ip"]
    list_select_related = ["actor", "owner", "project"]
    date_hierarchy = "created"

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser  # the log is evidence: only superusers prune it (and that is logged)

    @admin.display(description="actor", ordering="actor__username")
    def who(self, obj):
        return obj.actor_label
