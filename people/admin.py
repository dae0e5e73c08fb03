"""The admin of people: thumbnails as images, merge and flag actions, the Name faces page
(retention is the project's: projects.admin)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audit import services as audit
from audit.admin_base import AuditedDelete, AuditedRead, ReadOnly, StaffOnly
from people import identity_flags
from people import services as people
from people.forms import NameFacesForm, first_error
from people.models import Person, PersonFlag, PersonMerge, PersonSuggestion, PersonThumbnail
from people.selectors import suggestion_cards
from sessions_app.services.media import delete_files_on_commit

FACES_PER_PAGE = 60


class GoesWithPerson(ReadOnly):
    """Suggestions and flags: never edited in the admin, but deleted with their person (the admin refuses
    a person's deletion when a related row's admin refuses deletion)."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._staff(request)


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
    change_list_template = "admin/people/person/change_list.html"

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
        return [path("name-faces/", view, name="people_person_name_faces"), *super().get_urls()]

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
        return TemplateResponse(request, "admin/people/person/name_faces.html", context)


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
        delete_files_on_commit([obj.image.name])
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
