"""The Django admin for staff: every model, thumbnails as images, people and session actions, face naming.

Access: any active staff member manages every record here (StaffOnly), the same rule the pages use
("owners and staff reach a person"); non-staff never reach the admin. Writes go through the same
services as the pages (files removed after commit, audit entries written there); the few models
without a service of their own are audited by AuditedDelete / audit.record_change here. Rows written
only by the system (ReadOnly) cannot be changed or deleted.
"""

from __future__ import annotations

from django.contrib import admin, messages

from audit import services as audit
from audit.admin_base import AuditedDelete, AuditedRead, ReadOnly, StaffOnly
from emotionsite import ratelimit
from projects.admin import ProjectAdmin
from projects.models import Project
from sessions_app.models import AnalysisRun, EyeEvent, Heartbeat, Marker, Observation, Segment, Session, Track
from sessions_app.services import manage, media, storage_quota
from sessions_app.services.reanalysis import ReanalysisError, reanalyse_session


class TrackInline(StaffOnly, admin.TabularInline):
    # Read-only: a track changes person only through merge/split, which keep owners apart.
    model = Track
    extra = 0
    fields = ["key", "person", "segment_index", "first_time", "last_time", "count"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SegmentInline(ReadOnly, admin.TabularInline):
    model = Segment
    extra = 0
    readonly_fields = ["index", "start", "end", "status", "progress", "frames", "lease_until", "worker", "attempts"]


@admin.register(Session)
class SessionAdmin(AuditedRead, StaffOnly, admin.ModelAdmin):
    read_kinds = (audit.Read.RESULTS,)  # the tracks inline (summaries/admin.py adds its summaries inline)
    list_display = [
        "id", "title", "owner", "source", "status", "progress", "duration", "face_share", "has_media", "created",
    ]  # fmt: skip
    list_display_links = ["id", "title"]
    list_filter = ["status", "source", ("media_deleted", admin.EmptyFieldListFilter), "created"]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    date_hierarchy = "created"
    readonly_fields = [
        "owner", "source", "status", "error", "progress", "duration", "sample_fps", "width", "height",
        "frames_analysed", "face_share", "original", "playable", "media_deleted", "model_versions", "current_run",
        "created", "updated",
    ]  # fmt: skip
    fields = ["title", *readonly_fields]
    inlines = [TrackInline, SegmentInline]
    actions = ["reanalyse_selected", "delete_media_selected"]

    def has_add_permission(self, request, *args) -> bool:
        return False  # sessions come from uploads and recordings

    @admin.display(description="media", boolean=True)
    def has_media(self, obj):
        return bool(obj.original.name or obj.playable.name)

    def save_model(self, request, obj, form, change):
        if "title" in form.changed_data:  # the only editable field
            manage.rename_session(obj, obj.title, actor=request.user, request=request, via="admin")

    def delete_model(self, request, obj):
        manage.delete_session(obj, actor=request.user, request=request, detail="admin")  # files after commit

    def delete_queryset(self, request, queryset):
        for session in queryset:
            self.delete_model(request, session)

    @admin.action(description="Re-run the analysis of selected sessions")
    def reanalyse_selected(self, request, queryset):
        queued, refused = [], []
        for session in queryset:
            try:
                reanalyse_session(session, actor=request.user, request=request)
                queued.append(session.title)
            except ReanalysisError as exc:
                refused.append(str(exc))
            except ratelimit.RateLimited as exc:
                refused.append(exc.message)
                break
        if queued:
            self.message_user(request, f"Analysis queued again for {len(queued)} session(s).")
        for reason in refused:
            self.message_user(request, f"Not re-analysed: {reason}", messages.WARNING)

    @admin.action(description="Delete the media files of selected sessions (results kept)")
    def delete_media_selected(self, request, queryset):
        running = queryset.filter(status__in=media.RUNNING).count()
        done = sum(
            media.delete_media(s, actor=request.user, request=request, reason="admin")
            for s in queryset.exclude(status__in=media.RUNNING)
        )
        self.message_user(request, f"Deleted the media of {done} session(s); their results are kept.")
        if running:
            self.message_user(request, f"{running} running session(s) left alone.", messages.WARNING)


@admin.register(Track)
class TrackAdmin(AuditedDelete, StaffOnly, admin.ModelAdmin):
    list_display = ["id", "key", "session", "person", "segment_index", "first_time", "last_time", "count"]
    list_select_related = ["session", "person"]
    list_filter = [("person", admin.EmptyFieldListFilter)]
    search_fields = ["key", "session__title", "person__name", "session__owner__username"]
    readonly_fields = [
        "session", "person", "key", "segment_index", "first_time", "last_time", "count", "has_embedding",
    ]  # fmt: skip
    fields = readonly_fields  # reassign through the people pages' merge/split (same owner only)

    def has_add_permission(self, request, *args) -> bool:
        return False

    @admin.display(description="embedding", boolean=True)
    def has_embedding(self, obj):
        return obj.embedding is not None


@admin.register(Observation)
class ObservationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "session", "person", "time", "frame_index", "slot", "happy", "sad", "neutral", "attention"]
    list_select_related = ["session", "person"]
    list_filter = [("person", admin.EmptyFieldListFilter)]
    search_fields = ["session__title", "person__name"]
    show_full_result_count = False  # counting millions of rows on every page is slow
    list_per_page = 50


@admin.register(EyeEvent)
class EyeEventAdmin(ReadOnly, admin.ModelAdmin):
    """Blinks and eye closures the engine found (docs/measures.md); made by analyses only."""

    list_display = ["id", "session", "track", "kind", "start", "end", "quality"]
    list_select_related = ["session", "track"]
    list_filter = ["kind"]
    search_fields = ["session__title"]
    show_full_result_count = False
    list_per_page = 50


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "session", "weights_version", "status", "started", "finished"]
    list_select_related = ["session"]
    list_filter = ["status"]
    search_fields = ["session__title", "weights_version"]


@admin.register(Segment)
class SegmentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "session", "index", "start", "end", "status", "progress", "frames", "attempts", "worker"]
    list_select_related = ["session"]
    list_filter = ["status"]
    search_fields = ["session__title", "worker"]


@admin.register(Marker)
class MarkerAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["id", "session", "time", "note", "author", "created"]
    list_select_related = ["session", "author"]
    list_filter = ["created"]
    search_fields = ["note", "session__title", "author__username"]
    fields = ["session", "author", "time", "note", "created"]
    readonly_fields = ["session", "author", "created"]

    def has_add_permission(self, request, *args) -> bool:
        return False  # markers are dropped on a session's replay

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        manage.edit_marker(obj, time=data["time"], note=data["note"], actor=request.user, request=request, via="admin")

    def delete_model(self, request, obj):
        manage.delete_marker(obj, actor=request.user, request=request, via="admin")

    def delete_queryset(self, request, queryset):
        for marker in queryset:
            self.delete_model(request, marker)


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "note", "worker", "created"]
    readonly_fields = ["note", "worker", "created"]


class ProjectWithStorageAdmin(ProjectAdmin):
    """The project admin (projects.admin) with the project's storage use beside its quota."""

    readonly_fields = [*ProjectAdmin.readonly_fields, "storage_in_use"]
    fields = [*ProjectAdmin.fields, "storage_in_use"]

    @admin.display(description="storage in use")
    def storage_in_use(self, obj):
        return storage_quota.usage(obj.pk).text if obj.pk else "—"


admin.site.unregister(Project)
admin.site.register(Project, ProjectWithStorageAdmin)
