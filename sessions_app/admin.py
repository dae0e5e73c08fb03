"""The Django admin for staff: every model, thumbnails as images, people and session actions, face naming.

Access: any active staff member manages every record here (StaffOnly), the same rule the pages use
("owners and staff reach a person"); non-staff never reach the admin. Writes go through the same
services as the pages (files removed after commit, audit entries written there); the few models
without a service of their own are audited by AuditedDelete / audit.record_change here. Rows written
only by the system (ReadOnly) cannot be changed or deleted.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from emotionsite import ratelimit
from sessions_app.models import (
    AnalysisRun,
    AuditEntry,
    Heartbeat,
    Marker,
    Observation,
    Person,
    PersonFlag,
    PersonMerge,
    PersonSuggestion,
    PersonThumbnail,
    Segment,
    Session,
    StorageQuota,
    Track,
    UserSettings,
)
from sessions_app.people_forms import NameFacesForm, first_error
from sessions_app.people_selectors import suggestion_cards
from sessions_app.services import audit, identity_flags, manage, people, privacy, retention, storage_quota
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

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class GoesWithPerson(ReadOnly):
    """Suggestions and flags: never edited in the admin, but deleted with their person (the admin refuses
    a person's deletion when a related row's admin refuses deletion)."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._staff(request)


class AuditedDelete:
    """Deleting in the admin writes one entry per row, for models whose deletion has no service."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(request.user, audit.Action.DELETED, obj, request=request, detail="admin")
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class AuditedRead:
    """A change page shows its owner's data to a staff member: audited as ``read_kinds`` of
    :meth:`read_object` (once per hour, never for their own rows; see audit.record_read)."""

    read_kinds: tuple[str, ...] = ()

    def read_object(self, obj):
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if request.method == "GET" else None  # None for bad ids
        if obj is not None:
            for what in self.read_kinds:
                audit.record_read(request.user, self.read_object(obj), what=what, request=request)
        return super().change_view(request, object_id, form_url, extra_context)


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
class PersonAdmin(AuditedRead, StaffOnly, admin.ModelAdmin):
    read_kinds = (audit.Read.FACES,)  # the thumbnails inline
    list_display = [
        "id", "face", "display_name", "owner", "number", "consent_given", "track_count", "flagged", "created",
    ]  # fmt: skip
    list_display_links = ["id", "display_name"]
    list_filter = ["consent_given", ("owner", admin.RelatedOnlyFieldListFilter), "created"]
    search_fields = ["name", "owner__username", "consent_note"]
    list_select_related = ["owner"]
    fields = ["owner", "number", "name", "consent_given", "consent_at", "consent_note", "reference_embeddings"]
    readonly_fields = ["owner", "number", "consent_at", "reference_embeddings"]  # consent_at: when recorded
    inlines = [PersonThumbnailInline]
    actions = ["merge_selected", "flag_identity_conflicts"]
    change_list_template = "admin/sessions_app/person/change_list.html"

    def get_queryset(self, request):
        open_flag = PersonFlag.objects.filter(person=OuterRef("pk"), status=PersonFlag.Status.OPEN)
        return (
            super()
            .get_queryset(request)
            .annotate(n_tracks=Count("tracks"), is_flagged=Exists(open_flag))
            .prefetch_related("thumbnails")
        )

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

    @admin.display(description="possibly several people", boolean=True, ordering="is_flagged")
    def flagged(self, obj):
        return obj.is_flagged

    @admin.display(description="reference embeddings")
    def reference_embeddings(self, obj):
        return len(obj.embeddings or [])

    def save_model(self, request, obj, form, change):
        # the page's services, which lock the row and write the audit entry (no other field is editable)
        if "name" in form.changed_data:
            people.rename_person(obj, obj.name, actor=request.user, request=request)
        if {"consent_given", "consent_note"} & set(form.changed_data):
            people.set_consent(obj, obj.consent_given, obj.consent_note, actor=request.user, request=request)

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

    @admin.action(description="Flag selected people whose tracks disagree (possibly several people)")
    def flag_identity_conflicts(self, request, queryset):
        flags = identity_flags.flag_conflicts(queryset.order_by("pk"), actor=request.user, request=request)
        checked = queryset.count()
        if not flags:
            self.message_user(request, f"Checked {checked}: the tracks of every one agree; nothing was flagged.")
            return
        names = ", ".join(f"{f.person.display_name} ({f.person.owner.get_username()})" for f in flags[:20])
        self.message_user(
            request,
            f"Checked {checked}; {len(flags)} possibly several people: {names}. Their pages show the tracks to split.",
            messages.WARNING,
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
            # the faces this page shows; other keys (unknown or malformed ids) are not fields, so ignored
            form = NameFacesForm(list(unnamed[:FACES_PER_PAGE]), request.POST)
            if not form.is_valid():
                self.message_user(request, first_error(form), messages.ERROR)
                return HttpResponseRedirect(request.path)
            named = 0
            for person, value in form.names():
                try:
                    people.rename_person(person, value, actor=request.user, request=request)
                    named += 1
                except people.PeopleError as exc:
                    self.message_user(request, f"{person.display_name}: {exc}", messages.ERROR)
            self.message_user(request, f"Named {named} {'person' if named == 1 else 'people'}.")
            return HttpResponseRedirect(request.path)
        shown = list(unnamed[:FACES_PER_PAGE])
        suggestions = suggestion_cards(PersonSuggestion.objects.all(), FACES_PER_PAGE)
        # every owner's faces: one entry per person shown (the owner sees which), at most hourly
        faces = [*shown, *(person for s in suggestions for person, _ in s.pair)]
        audit.record_reads(request.user, faces, what=audit.Read.FACES, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Name faces",
            "people": shown,
            "total": unnamed.count(),
            "suggestions": suggestions,
        }
        return TemplateResponse(request, "admin/sessions_app/person/name_faces.html", context)


@admin.register(PersonThumbnail)
class PersonThumbnailAdmin(AuditedRead, AuditedDelete, StaffOnly, admin.ModelAdmin):
    read_kinds = (audit.Read.FACES,)
    list_display = ["id", "preview", "person", "owner", "created"]
    list_select_related = ["person", "person__owner"]
    search_fields = ["person__name", "person__owner__username"]
    list_filter = ["created"]
    readonly_fields = ["preview", "person", "image", "created"]
    fields = readonly_fields

    def read_object(self, obj):
        return obj.person  # a face of this person

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


@admin.register(PersonSuggestion)
class PersonSuggestionAdmin(AuditedDelete, GoesWithPerson, admin.ModelAdmin):
    """Suggestions are answered by the owner (people pages, API) or on the Name faces page."""

    list_display = ["id", "owner", "person", "candidate", "score", "margin", "status", "created", "decided_by"]
    list_filter = ["status", ("owner", admin.RelatedOnlyFieldListFilter), "created"]
    list_select_related = ["owner", "person", "candidate", "decided_by"]
    search_fields = ["owner__username", "person__name", "candidate__name"]


@admin.register(PersonFlag)
class PersonFlagAdmin(AuditedDelete, GoesWithPerson, admin.ModelAdmin):
    """Raised by the "Flag …" action on people and ``manage.py flag_identity_conflicts``."""

    list_display = ["id", "person", "owner", "kind", "status", "group_sizes", "distance", "created"]
    list_filter = ["status", "kind", "created"]
    list_select_related = ["person", "person__owner"]
    search_fields = ["person__name", "person__owner__username"]

    @admin.display(description="owner", ordering="person__owner__username")
    def owner(self, obj):
        return obj.person.owner

    @admin.display(description="tracks per group")
    def group_sizes(self, obj):
        return " + ".join(str(len(g)) for g in obj.groups)


@admin.register(PersonMerge)
class PersonMergeAdmin(GoesWithPerson, admin.ModelAdmin):
    """What each merge moved; the owner undoes one from the person's page (services.people.undo_merge)."""

    list_display = ["id", "keep", "owner", "merged_label", "created", "undone_at"]
    list_filter = ["created", "undone_at"]
    list_select_related = ["keep", "owner"]
    search_fields = ["keep__name", "merged_name", "owner__username"]
    exclude = ["merged_embeddings", "keep_embeddings"]  # face data: not shown


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
class SessionAdmin(AuditedRead, StaffOnly, admin.ModelAdmin):
    read_kinds = (audit.Read.RESULTS, audit.Read.SUMMARIES)  # tracks and the summaries' text inline
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
    inlines = [TrackInline, _summary_inline(), SegmentInline]
    actions = ["reanalyse_selected", "summarize_selected", "delete_media_selected"]

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
                request_summary(session, backend, request.user, request=request)  # audited there
            except SummaryError as exc:
                self.message_user(request, f"“{session.title}”: {exc}", messages.ERROR)
                continue
            except ratelimit.RateLimited as exc:
                self.message_user(request, f"“{session.title}” and the rest: {exc.message}", messages.ERROR)
                break
            started += 1
        if started:
            self.message_user(request, f"Summary requested for {started} session(s) with the {backend} backend.")


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


class UserSettingsForm(forms.ModelForm):
    class Meta:
        model = UserSettings
        fields = ["retention_days", "retention_keep_results"]

    def clean_retention_days(self):
        days = self.cleaned_data["retention_days"]
        try:
            privacy.check_retention_days(days)
        except privacy.PrivacyError as exc:
            raise forms.ValidationError(str(exc)) from None
        return days


@admin.register(UserSettings)
class UserSettingsAdmin(StaffOnly, admin.ModelAdmin):
    """Through services.privacy, as on the user's privacy page; ``user`` is read-only, rows come from that page."""

    form = UserSettingsForm
    list_display = ["user", "retention_days", "retention_keep_results", "updated"]
    list_filter = ["retention_keep_results"]
    search_fields = ["user__username"]
    fields = ["user", "retention_days", "retention_keep_results", "updated"]
    readonly_fields = ["user", "updated"]

    def has_add_permission(self, request, *args) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        privacy.update_settings(
            obj.user,
            data["retention_days"],
            data["retention_keep_results"],
            actor=request.user,
            request=request,
            via="admin",
        )

    def delete_model(self, request, obj):
        privacy.delete_settings(obj, actor=request.user, request=request, via="admin")

    def delete_queryset(self, request, queryset):
        for prefs in queryset:
            self.delete_model(request, prefs)


@admin.register(StorageQuota)
class StorageQuotaAdmin(AuditedDelete, StaffOnly, admin.ModelAdmin):
    """A user's storage quota in place of EMOTION_STORAGE_QUOTA_MB; every change is audited."""

    list_display = ["user", "quota_mb", "in_use", "note", "updated"]
    list_select_related = ["user"]
    search_fields = ["user__username", "note"]
    raw_id_fields = ["user"]
    fields = ["user", "quota_mb", "note", "in_use", "updated"]
    readonly_fields = ["in_use", "updated"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    @admin.display(description="in use")
    def in_use(self, obj):
        return storage_quota.usage(obj.user_id).text if obj.user_id else "—"

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record_change(
                request.user, obj, form.changed_data, request=request, created=not change, owner_id=obj.user_id
            )


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditedDelete, ReadOnly, admin.ModelAdmin):
    list_display = ["created", "who", "action", "object_type", "object_id", "object_repr", "owner", "ip"]
    list_filter = ["action", "object_type", "created"]
    search_fields = ["actor__username", "actor_pseudonym", "owner__username", "object_repr", "detail", "ip"]
    list_select_related = ["actor", "owner"]
    date_hierarchy = "created"

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser  # the log is evidence: only superusers prune it (and that is logged)

    @admin.display(description="actor", ordering="actor__username")
    def who(self, obj):
        return obj.actor_label


# --------------------------------------------------------------------------- accounts
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with every change, password change and deletion in the audit log (names of the
    changed fields only). Deleting a user pseudonymises their audit trail (audit.forget_user)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        fields = {"password" if name.startswith("password") else name for name in form.changed_data}
        audit.record_change(request.user, obj, fields, request=request, created=not change, owner_id=obj.pk)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        user = self.get_object(request, id) if request.method == "POST" and response.status_code == 302 else None
        if user is not None:
            audit.record_change(request.user, user, ["password"], request=request, owner_id=user.pk)
        return response

    def delete_model(self, request, obj):
        user_id = obj.pk
        actor = None if user_id == request.user.pk else request.user  # deleting oneself: no actor left to name
        with transaction.atomic():
            super().delete_model(request, obj)
            audit.record(actor, audit.Action.ACCOUNT_DELETED, object_type="user", object_id=user_id, detail="admin")

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)


if admin.site.is_registered(get_user_model()):
    admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AuditedUserAdmin)
