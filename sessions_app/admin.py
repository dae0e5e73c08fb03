from __future__ import annotations

from django.contrib import admin

from sessions_app.models import Heartbeat, Person, PersonThumbnail, Segment, Session


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["id", "note", "worker", "created"]
    readonly_fields = ["note", "worker", "created"]


class PersonThumbnailInline(admin.TabularInline):
    model = PersonThumbnail
    extra = 0


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "number", "name", "created"]
    list_filter = ["owner"]
    search_fields = ["name", "owner__username"]
    exclude = ["embeddings"]
    inlines = [PersonThumbnailInline]


class SegmentInline(admin.TabularInline):
    model = Segment
    extra = 0
    readonly_fields = ["index", "start", "end", "status", "progress", "frames", "lease_until", "worker", "attempts"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "source", "status", "progress", "duration", "face_share", "created"]
    list_filter = ["status", "source"]
    search_fields = ["title", "owner__username"]
    readonly_fields = ["model_versions", "frames_analysed", "face_share", "progress", "created", "updated"]
    inlines = [SegmentInline]
