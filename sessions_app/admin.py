"""The Django admin for staff: every model, thumbnails as images, people and session actions, face naming.

Access: any active staff member manages every record here (StaffOnly), the same rule the pages use
("owners and staff reach a person"); non-staff never reach the admin. Writes go through the same
services as the pages (files removed after commit, audit entries written).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from sessions_app.models import (
    AuditEntry,
    Heartbeat,
    Marker,
    Observation,
    Person,
    PersonSuggestion,
    PersonThumbnail,
    Segment,
    Session,
    Track,
    UserSettings,
)
from sessions_app.services import audit, manage, people, retention
from sessions_app.services.reanalysis import ReanalysisError, reanalyse_session

FACES_PER_PAGE = 60


class StaffOnly:
    """Every active staff member may view and manage these records (no per-model permission rows)."""

    def _staff(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request) -> bool:
        return self._staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._staff(request)

    def has_add_permission(self, request, *args) -> bool:
        return self._staff(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._staff(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._staff(request)


class ReadOnly(StaffOnly):
    """Rows written only by the system (observations, segments, the audit log): viewable, not editable."""

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def thumbnail_img(thumb: PersonThumbnail | None, size: int = 48):
    """An <img> of a face thumbnail, served by the authorising thumbnail view; the name is escaped."""
    if thumb is None or not thumb.pk:
        return "—"
    return format_html(
        '<img src="{}" alt="{}" width="{}" height="{}" style="object-fit:cover;border-radius:4px">',
        reverse("person_thumbnail", args=[thumb.pk]),
        thumb.person.display_name,
        size,
        size,
    )


# --------------------------------------------------------------------------- people
class PersonThumbnailInline(StaffOnly, admin.TabularInline):
    model = PersonThumbnail
    extra = 0
    fields = ["preview", "image", "created"]
    readonly_fields = ["preview", "image", "created"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # thumbnails come from analysed video

    @admin.display(description="thumbnail")
    def preview(self, obj):
        return thumbnail_img(obj, 80)


@admin.register(Person)
class PersonAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["id", "face", "display_name", "owner", "number", "consent_given", "track_count", "created"]
    list_display_links = ["id", "display_name"]
    list_filter = ["consent_given", ("owner", admin.RelatedOnlyFieldListFilter), "created"]
    search_fields = ["name", "owner__username", "consent_note"]
    list_select_related = ["owner"]
    fields = ["owner", "number", "name", "consent_given", "consent_at", "consent_note", "reference_embeddings"]
    readonly_fields = ["owner", "number", "reference_embeddings"]
    inlines = [PersonThumbnailInline]
    actions = ["merge_selected"]
    change_list_template = "admin/sessions_app/person/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_tracks=Count("tracks")).prefetch_related("thumbnails")

    def has_add_permission(self, request, *args) -> bool:
        return False  # people come from analysis

    @admin.display(description="face")
    def face(self, obj):
        thumbs = obj.thumbnails.all()
        return thumbnail_img(thumbs[0] if thumbs else None)

    @admin.display(description="name", ordering="name")
    def display_name(self, obj):
        return obj.display_name

    @admin.display(description="tracks", ordering="n_tracks")
    def track_count(self, obj):
        return obj.n_tracks

    @admin.display(description="reference embeddings")
    def reference_embeddings(self, obj):
        return len(obj.embeddings or [])

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:
            old = form.initial.get("name") or f"Person {obj.number}"
            detail = f"from {old!r} to {obj.name!r} (admin)"
            audit.record(request.user, audit.Action.RENAMED, obj, request=request, detail=detail)
        if change and {"consent_given", "consent_at", "consent_note"} & set(form.changed_data):
            detail = f"{'given' if obj.consent_given else 'not given'}; {obj.consent_note} (admin)"
            audit.record(request.user, audit.Action.CONSENT, obj, request=request, detail=detail)

    def delete_model(self, request, obj):
        people.delete_person(obj, keep_observations=True, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for person in queryset:
            people.delete_person(person, keep_observations=True, actor=request.user, request=request)

    @admin.action(description="Merge selected people (same owner) into the lowest-numbered one")
    def merge_selected(self, request, queryset):
        chosen = list(queryset.order_by("number", "pk"))
        if len(chosen) < 2:
            self.message_user(request, "Select at least two people to merge.", messages.WARNING)
            return
        if len({p.owner_id for p in chosen}) > 1:
            self.message_user(
                request, "Only people of the same owner can be merged; nothing was changed.", messages.ERROR
            )
            return
        keep, moved = chosen[0], 0
        try:
            for other in chosen[1:]:
                moved += people.merge_people(keep, other, actor=request.user, request=request)["observations"]
        except people.PeopleError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        keep.refresh_from_db()
        self.message_user(
            request, f"Merged {len(chosen) - 1} people into “{keep.display_name}” ({moved} observations moved)."
        )

    # ---- the face-naming view
    def get_urls(self):
        view = self.admin_site.admin_view(self.name_faces_view)
        return [path("name-faces/", view, name="sessions_app_person_name_faces"), *super().get_urls()]

    def name_faces_view(self, request):
        """Unnamed people as a grid of faces with their owner; one input per face, one save for all."""
        if not self.has_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        unnamed = (
            Person.objects.filter(name="")
            .select_related("owner")
            .prefetch_related("thumbnails")
            .order_by("owner__username", "number")
        )
        if request.method == "POST":
            named = 0
            for key, value in request.POST.items():
                if not key.startswith("name_") or not key[5:].isdigit() or not value.strip():
                    continue
                person = Person.objects.filter(pk=int(key[5:])).first()
                if person is None:
                    continue
                try:
                    people.rename_person(person, value, actor=request.user, request=request)
                    named += 1
                except people.PeopleError as exc:
                    self.message_user(request, f"{person.display_name}: {exc}", messages.ERROR)
            self.message_user(request, f"Named {named} {'person' if named == 1 else 'people'}.")
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Name faces",
            "people": unnamed[:FACES_PER_PAGE],
            "total": unnamed.count(),
        }
        return TemplateResponse(request, "admin/sessions_app/person/name_faces.html", context)


@admin.register(PersonThumbnail)
class PersonThumbnailAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["id", "preview", "person", "owner", "created"]
    list_select_related = ["person", "person__owner"]
    search_fields = ["person__name", "person__owner__username"]
    list_filter = ["created"]
    readonly_fields = ["preview", "person", "image", "created"]
    fields = readonly_fields

    def has_add_permission(self, request, *args) -> bool:
        return False

    @admin.display(description="thumbnail")
    def preview(self, obj):
        return thumbnail_img(obj)

    @admin.display(description="owner", ordering="person__owner__username")
    def owner(self, obj):
        return obj.person.owner

    def delete_model(self, request, obj):
        people.delete_files_on_commit([obj.image.name])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        people.delete_files_on_commit(list(queryset.values_list("image", flat=True)))
        super().delete_queryset(request, queryset)


# --------------------------------------------------------------------------- sessions
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


def _summary_inline():
    from summaries.models import Summary

    class SummaryInline(StaffOnly, admin.TabularInline):
        model = Summary
        extra = 0
        fields = ["backend", "status", "model_name", "requested_by", "created", "finished", "excerpt"]
        readonly_fields = fields
        show_change_link = True

        def has_add_permission(self, request, obj=None) -> bool:
            return False

        @admin.display(description="text")
        def excerpt(self, obj):
            return (obj.text or obj.error)[:200]

    return SummaryInline


class SummarizeForm(forms.Form):
    def __init__(self, *args, **kwargs):
        from summaries.models import Summary

        super().__init__(*args, **kwargs)
        self.fields["backend"] = forms.ChoiceField(choices=Summary.Backend.choices, label="Backend")


@admin.register(Session)
class SessionAdmin(StaffOnly, admin.ModelAdmin):
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
        "frames_analysed", "face_share", "original", "playable", "media_deleted", "model_versions", "created",
        "updated",
    ]  # fmt: skip
    fields = ["title", *readonly_fields]
    inlines = [TrackInline, _summary_inline(), SegmentInline]
    actions = ["reanalyse_selected", "summarize_selected", "delete_media_selected"]

    def has_add_permission(self, request, *args) -> bool:
        return False  # sessions come from uploads and recordings

    @admin.display(description="media", boolean=True)
    def has_media(self, obj):
        return bool(obj.original.name or obj.playable.name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        session = Session.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if session is not None and request.method == "GET":
            audit.record(request.user, audit.Action.VIEWED, session, request=request, detail="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_model(self, request, obj):
        audit.record(request.user, audit.Action.DELETED, obj, request=request, detail="admin")
        manage.delete_session(obj)  # media files removed after commit

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
        if queued:
            self.message_user(request, f"Analysis queued again for {len(queued)} session(s).")
        for reason in refused:
            self.message_user(request, f"Not re-analysed: {reason}", messages.WARNING)

    @admin.action(description="Delete the media files of selected sessions (results kept)")
    def delete_media_selected(self, request, queryset):
        running = queryset.filter(status__in=retention.RUNNING).count()
        done = sum(
            retention.delete_media(s, actor=request.user, request=request, reason="admin")
            for s in queryset.exclude(status__in=retention.RUNNING)
        )
        self.message_user(request, f"Deleted the media of {done} session(s); their results are kept.")
        if running:
            self.message_user(request, f"{running} running session(s) left alone.", messages.WARNING)

    @admin.action(description="Summarize selected sessions…")
    def summarize_selected(self, request, queryset):
        form = SummarizeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._summarize(request, queryset, form.cleaned_data["backend"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Summarize sessions",
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/sessions_app/session/summarize.html", context)

    def _summarize(self, request, queryset, backend: str) -> None:
        try:
            from summaries.base import SummaryError
            from summaries.services import request_summary
        except ImportError:
            self.message_user(request, "Summaries are not available in this installation.", messages.ERROR)
            return
        started = 0
        for session in queryset:
            try:
                request_summary(session, backend, request.user)
            except SummaryError as exc:
                self.message_user(request, f"“{session.title}”: {exc}", messages.ERROR)
                continue
            audit.record(request.user, audit.Action.SUMMARIZED, session, request=request, detail=backend)
            started += 1
        if started:
            self.message_user(request, f"Summary requested for {started} session(s) with the {backend} backend.")


@admin.register(Track)
class TrackAdmin(StaffOnly, admin.ModelAdmin):
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


@admin.register(PersonSuggestion)
class PersonSuggestionAdmin(ReadOnly, admin.ModelAdmin):
    """Read-only here: answers go through services.suggestions (confirm merges, a rejection is remembered)."""

    list_display = ["id", "owner", "person", "candidate", "score", "margin", "status", "created", "decided_at"]
    list_filter = ["status", "created"]
    list_select_related = ["owner", "person", "candidate"]
    search_fields = ["owner__username", "person__name", "candidate__name"]


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "note", "worker", "created"]
    readonly_fields = ["note", "worker", "created"]


@admin.register(UserSettings)
class UserSettingsAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["user", "retention_days", "retention_keep_results", "updated"]
    list_filter = ["retention_keep_results"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created", "actor", "action", "object_type", "object_id", "object_repr", "owner", "ip"]
    list_filter = ["action", "object_type", "created"]
    search_fields = ["actor__username", "owner__username", "object_repr", "detail", "ip"]
    list_select_related = ["actor", "owner"]
    date_hierarchy = "created"

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser  # the log is evidence: only superusers prune it
