"""People seen in a user's sessions, what links them (suggestions, flags, merges) and privacy settings.

The tables keep the names they had in ``sessions_app`` (``db_table``): the models moved here without
touching the data (migration people 0001, sessions_app 0016).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Greatest, Least

from sessions_app.models import Observation


def thumbnail_path(instance: PersonThumbnail, filename: str) -> str:
    return f"people/{instance.person.owner_id}/{instance.person_id}/{uuid.uuid4().hex[:12]}.jpg"


class Person(models.Model):
    """Someone seen in a project's sessions; reference embeddings identify them in later ones."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="people")
    # the face library is the project's: identity is decided among its people only (people.identify)
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="people")
    number = models.PositiveIntegerField()  # per-project sequence: "Person 4"
    name = models.CharField(max_length=120, blank=True)
    embeddings = models.JSONField(default=list, blank=True)  # list of 128-float lists
    # Consent of the person filmed to the processing of their face data (recorded by the owner).
    consent_given = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_note = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sessions_app_person"
        ordering = ["project", "number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="person_project_number_unique")]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        if self.project_id is None and self.owner_id is not None:  # no project given: the maker's personal one
            from projects.services import personal_project_id

            self.project_id = personal_project_id(self.owner_id)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.name or f"Person {self.number}"


class PersonThumbnail(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="thumbnails")
    image = models.FileField(upload_to=thumbnail_path, max_length=300)
    size = models.PositiveBigIntegerField(default=0)  # bytes, counted against the owner's storage quota
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sessions_app_personthumbnail"
        ordering = ["created"]

    def __str__(self) -> str:
        return f"thumbnail {self.pk} of {self.person}"

    def save(self, *args, **kwargs) -> None:
        if self.image and not self.size:  # recorded once, whoever writes the file
            self.size = self.image.size
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "size"}
        super().save(*args, **kwargs)


class PersonSuggestion(models.Model):
    """ "``candidate`` is possibly the same human as ``person``": the owner confirms (merge) or rejects it.

    A rejected pair is remembered: never suggested again and never linked automatically. One row per
    unordered pair of people per owner.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person_suggestions")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="suggestions_as_person")
    candidate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="suggestions_as_candidate")
    score = models.FloatField(default=0.0)  # identity distance of the pair (lower: more alike)
    margin = models.FloatField(default=0.0)  # to the next-best person when it was made
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "sessions_app_personsuggestion"
        ordering = ["owner", "-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                "owner", Least("person", "candidate"), Greatest("person", "candidate"), name="suggestion_pair_unique"
            ),
            models.CheckConstraint(condition=~models.Q(person=models.F("candidate")), name="suggestion_two_people"),
        ]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"{self.candidate} possibly {self.person} ({self.status})"


class PersonFlag(models.Model):
    """A stored person whose tracks disagree: they may be two or more humans joined by a wrong merge.

    Raised by ``manage.py flag_identity_conflicts`` or the admin action (services.identity_flags); the
    person's page shows the groups of tracks so the owner can split one off, or dismiss the flag.
    A dismissed flag is remembered for the same tracks: a later check raises it again only when the
    person's tracks changed.
    """

    class Kind(models.TextChoices):
        SPLIT = "split", "Possibly several people"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        RESOLVED = "resolved", "Resolved"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SPLIT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    groups = models.JSONField(default=list, blank=True)  # track ids per group that agrees within, largest first
    distance = models.FloatField(default=0.0)  # the smallest distance between two groups
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "sessions_app_personflag"
        ordering = ["person", "-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind"], condition=models.Q(status="open"), name="person_flag_open_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_kind_display().lower()} ({self.status})"

    @property
    def track_ids(self) -> set[int]:
        return {t for group in self.groups for t in group}


class PersonMerge(models.Model):
    """What one merge moved, so it can be undone (services.people.undo_merge).

    The merged person's row is deleted by the merge; its id, number, name, consent and embeddings are kept
    here, with the ids of the tracks, observations and thumbnails that moved to ``keep``. An undo gives
    back those rows still with ``keep`` (what was split off or deleted since stays where it is).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person_merges")
    keep = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="merges_in")
    audit_entry = models.OneToOneField(
        "audit.AuditEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="person_merge"
    )
    merged_id = models.PositiveBigIntegerField()  # the merged person's id, given back on undo
    merged_number = models.PositiveIntegerField()
    merged_name = models.CharField(max_length=120, blank=True)
    merged_consent = models.JSONField(default=dict, blank=True)  # {"given", "at", "note"}
    merged_embeddings = models.JSONField(default=list, blank=True)
    keep_embeddings = models.JSONField(default=list, blank=True)  # ``keep``'s before the merge
    keep_took_name = models.BooleanField(default=False)  # ``keep`` had no name and took the merged one
    # the observations that moved are those of ``track_ids`` less ``foreign_observation_ids`` (someone
    # else's on those tracks), plus ``loose_observation_ids`` (the merged person's on other tracks): both
    # are usually empty, so a long session's record stays small
    loose_observation_ids = models.JSONField(default=list, blank=True)
    foreign_observation_ids = models.JSONField(default=list, blank=True)
    track_ids = models.JSONField(default=list, blank=True)
    thumbnail_ids = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sessions_app_personmerge"
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"Person #{self.merged_id} merged into {self.keep}"

    @property
    def merged_label(self) -> str:
        return self.merged_name or f"Person {self.merged_number}"

    def moved_observations(self):
        """The observations this merge moved (whoever holds them now)."""
        from django.db.models import Q

        on_tracks = Q(track_id__in=self.track_ids) & ~Q(pk__in=self.foreign_observation_ids)
        return Observation.objects.filter(on_tracks | Q(pk__in=self.loose_observation_ids))
