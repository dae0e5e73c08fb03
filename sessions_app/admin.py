from __future__ import annotations

from django.contrib import admin

from sessions_app.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["id", "note", "worker", "created"]
    readonly_fields = ["note", "worker", "created"]
