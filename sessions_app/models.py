from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Greatest, Least
from django.urls import reverse

from inference.classes import EMOTIONS
from sessions_app.mediatypes import safe_name
from sessions_app.timefmt import clock


class Heartbeat(models.Model):
    """A row a worker writes to prove the queue -> worker -> database path works end to end."""

    note = models.CharField(max_length=200, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"heartbeat {self.pk} from {self.worker or '?'}"


# --------------------------------------------------------------------------- sessions and people
EMOTION_FIELDS = EMOTIONS  # one field per class, in the canonical order


def _media_path(instance: Session, filename: str) -> str:
    """``sessions/<owner>/<session>/original.gif``: server-chosen names only (see ``mediatypes.safe_name``)."""
    return f"sessions/{instance.owner_id}/{instance.pk or uuid.uuid4().hex}/{safe_name(filename)}"


def _thumbnail_path(instance: PersonThumbnail, filename: str) -> str:
    return f"people/{instance.person.owner_id}/{instance.person_id}/{uuid.uuid4().hex[:12]}.jpg"


class Session(models.Model):
    """One recording or upload of one owner, and the state of its analysis."""

    class Source(models.TextChoices):
        LIVE = "live", "Live recording"
        UPLOAD = "upload", "Uploaded video"
        IMAGE = "image", "Image"

    class Status(models.TextChoices):
        RECEIVING = "receiving", "Receiving"
        QUEUED = "queued", "Queued"
        ANALYSING = "analysing", "Analysing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings")
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UPLOAD)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVING)
    error = models.TextField(blank=True)
    progress = models.FloatField(default=0.0)
    duration = models.FloatField(default=0.0)  # seconds (0 for an image)
    sample_fps = models.FloatField(default=5.0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    frames_analysed = models.PositiveIntegerField(default=0)
    face_share = models.FloatField(null=True, blank=True)  # share of analysed frames with a face
    original = models.FileField(upload_to=_media_path, max_length=300, blank=True)
    playable = models.FileField(upload_to=_media_path, max_length=300, blank=True)
    # what the stored files are, probed by the server ("gif", "mp4", "other": sessions_app.mediatypes);
    # "" for files stored before these fields (served by sniffing until `manage.py secure_media_names`)
    original_format = models.CharField(max_length=10, blank=True)
    playable_format = models.CharField(max_length=10, blank=True)
    model_versions = models.JSONField(default=dict, blank=True)
    # the analysis run whose results the session shows (null: none yet); a re-analysis switches it
    current_run = models.ForeignKey("AnalysisRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    media_deleted = models.DateTimeField(null=True, blank=True)  # when retention or staff removed the files
    # bytes of its distinct stored files (original, playable copy or recording), counted against the owner's
    # storage quota; written by services.storage_quota.measure_session wherever the files change
    stored_bytes = models.PositiveBigIntegerField(default=0)
    # Live recordings: the connection generation (each resume adds one; a finishing task scheduled for an
    # older generation does nothing) and, when the socket closed without Stop, when (s into the recording).
    live_generation = models.PositiveIntegerField(default=0)
    connection_lost_at = models.FloatField(null=True, blank=True)
    # when a merge, split, undo or deletion last changed who is who in this session: summaries made
    # before it say so (summaries.models.Summary.made_before_people_changed)
    people_changed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["owner", "-created"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("session_detail", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.RECEIVING, self.Status.QUEUED, self.Status.ANALYSING)

    @property
    def shows_results(self) -> bool:
        """Done, or being analysed again while a completed run's results stay current."""
        if self.status == self.Status.DONE:
            return True
        return self.current_run_id is not None and self.current_run.status == AnalysisRun.Status.DONE

    @property
    def emotion_weights_version(self) -> str:
        """The version of the emotion weights that made the shown results ("" if not recorded)."""
        if self.current_run_id is not None and self.current_run.weights_version:
            return self.current_run.weights_version
        return str((self.model_versions or {}).get("emotion") or "")

    @property
    def connection_lost_clock(self) -> str:
        """``mm:ss`` of ``connection_lost_at`` (the session page's note)."""
        return clock(self.connection_lost_at)


class AnalysisRun(models.Model):
    """One analysis of a session with one set of weights; results (tracks, observations, segments) belong
    to a run, and the session shows its ``current_run``'s (services.runs)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="runs")
    weights_version = models.CharField(max_length=100, blank=True)  # emotion weights ("" until a segment stored)
    model_versions = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "started"]

    def __str__(self) -> str:
        return f"run {self.pk} of session {self.session_id} ({self.status})"


class Person(models.Model):
    """Someone seen in the owner's sessions; reference embeddings identify them in later ones."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="people")
    number = models.PositiveIntegerField()  # per-owner sequence: "Person 4"
    name = models.CharField(max_length=120, blank=True)
    embeddings = models.JSONField(default=list, blank=True)  # list of 128-float lists
    # Consent of the person filmed to the processing of their face data (recorded by the owner).
    consent_given = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_note = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "number"]
        constraints = [models.UniqueConstraint(fields=["owner", "number"], name="person_owner_number_unique")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or f"Person {self.number}"


class PersonThumbnail(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="thumbnails")
    image = models.FileField(upload_to=_thumbnail_path, max_length=300)
    size = models.PositiveBigIntegerField(default=0)  # bytes, counted against the owner's storage quota
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"thumbnail {self.pk} of {self.person}"

    def save(self, *args, **kwargs) -> None:
        if self.image and not self.size:  # recorded once, whoever writes the file
            self.size = self.image.size
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "size"}
        super().save(*args, **kwargs)


class Track(models.Model):
    """A face followed through one segment of a session (joined to a person at finalize)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="tracks")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, null=True, blank=True, related_name="tracks")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="tracks")
    key = models.CharField(max_length=40)  # "<segment>:<merged track id>"
    segment_index = models.PositiveIntegerField(default=0)
    first_time = models.FloatField(default=0.0)
    last_time = models.FloatField(default=0.0)
    count = models.PositiveIntegerField(default=0)  # observations
    embedding = models.JSONField(null=True, blank=True)  # mean 128-d embedding
    # Quality-gated 128-d descriptors of this track (inference.identity), and their quality scores (0..1):
    # what identity decisions compare, set to set, instead of the mean.
    references = models.JSONField(default=list, blank=True)
    reference_quality = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["session", "first_time"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="track_run_key_unique")]

    def __str__(self) -> str:
        return f"track {self.key} of session {self.session_id}"


class Observation(models.Model):
    """One face on one analysed frame."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="observations")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, null=True, blank=True, related_name="observations")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="observations")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="observations")
    time = models.FloatField()
    frame_index = models.PositiveIntegerField()
    slot = models.PositiveSmallIntegerField()
    box_top = models.IntegerField()
    box_right = models.IntegerField()
    box_bottom = models.IntegerField()
    box_left = models.IntegerField()
    angry = models.FloatField()
    disgust = models.FloatField()
    fear = models.FloatField()
    happy = models.FloatField()
    sad = models.FloatField()
    surprise = models.FloatField()
    neutral = models.FloatField()
    attention = models.FloatField()
    yaw = models.FloatField()
    pitch = models.FloatField()
    roll = models.FloatField()
    eye_openness = models.FloatField()
    # face quality 0..1 and normalised entropy 0..1 of the emotion; null: stored before they were
    # measured, counted as reliable (sessions_app.reliability)
    quality = models.FloatField(null=True, blank=True)
    uncertainty = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["session", "frame_index", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["run", "frame_index", "slot"], name="observation_run_frame_slot_unique")
        ]
        indexes = [models.Index(fields=["session", "time"])]

    def __str__(self) -> str:
        return f"session {self.session_id} frame {self.frame_index} slot {self.slot}"

    @classmethod
    def from_face(
        cls, session: Session, track_id: int, frame_index: int, time: float, face, run_id: int | None = None
    ) -> Observation:
        """An unsaved row for one engine ``FaceResult`` of run ``run_id``."""
        top, right, bottom, left = face.box
        return cls(
            session=session,
            run_id=run_id,
            track_id=track_id,
            time=time,
            frame_index=frame_index,
            slot=face.slot,
            box_top=top,
            box_right=right,
            box_bottom=bottom,
            box_left=left,
            attention=face.attention,
            yaw=face.yaw,
            pitch=face.pitch,
            roll=face.roll,
            eye_openness=face.eye_openness,
            quality=getattr(face, "quality", None),
            uncertainty=getattr(face, "uncertainty", None),
            **{e: face.probabilities[e] for e in EMOTION_FIELDS},
        )


class Segment(models.Model):
    """A slice [start, end) of a session's video, analysed by one task under a lease."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="segments")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, null=True, blank=True, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.FloatField(default=0.0)
    frames = models.PositiveIntegerField(default=0)  # frames analysed
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["session", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="segment_run_index_unique")]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"segment {self.index} of session {self.session_id}"


class Marker(models.Model):
    """A moment of a session the owner marked with a short note (replay or live)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="markers")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="markers")
    time = models.FloatField()  # seconds from the start of the session, >= 0
    note = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "time", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(time__gte=0), name="marker_time_non_negative")]

    def __str__(self) -> str:
        return f"marker {self.time:.1f}s of session {self.session_id}"


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
        "AuditEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="person_merge"
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


# --------------------------------------------------------------------------- privacy
class UserSettings(models.Model):
    """A user's privacy settings: how long session media is kept."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="privacy_settings")
    # Media of sessions older than this many days is deleted by the periodic retention task; empty: kept.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # With False the whole session goes (observations, summaries, markers), not only its video.
    retention_keep_results = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user settings"
        verbose_name_plural = "user settings"

    def __str__(self) -> str:
        return f"settings of {self.user}"


class StorageQuota(models.Model):
    """Staff's per-user storage quota, in place of EMOTION_STORAGE_QUOTA_MB (set in the admin)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="storage_quota")
    quota_mb = models.PositiveIntegerField(help_text="Megabytes this user's files may take together; 0: no limit.")
    note = models.CharField(max_length=200, blank=True, help_text="Why (shown to staff only).")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "storage quota"

    def __str__(self) -> str:
        return f"storage quota of {self.user}"


class AuditEntry(models.Model):
    """Who did what to which object, when and from where. ``owner`` is whose data it was.

    When an actor's account is deleted, ``actor`` goes empty and ``actor_pseudonym`` takes a stable
    stand-in (services.audit.pseudonym), so their entries about other people's data stay readable."""

    class Action(models.TextChoices):
        VIEWED = "viewed", "Viewed"
        EXPORTED = "exported", "Exported"
        RENAMED = "renamed", "Renamed"
        MERGED = "merged", "Merged"
        UNMERGED = "unmerged", "Merge undone"
        NOT_SAME = "not_same", "Marked not the same"
        FLAGGED = "flagged", "Flagged as possibly several people"
        FLAG_DISMISSED = "flag_dismissed", "Flag dismissed"
        SPLIT = "split", "Split"
        DELETED = "deleted", "Deleted"
        CONSENT = "consent", "Consent changed"
        SETTINGS = "settings", "Settings changed"
        MEDIA_DELETED = "media_deleted", "Media deleted"
        REANALYSED = "reanalysed", "Re-analysed"
        SUMMARIZED = "summarized", "Summary requested"
        CHANGED = "changed", "Changed"
        ACCOUNT_DELETED = "account_deleted", "Account deleted"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_actions"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_about"
    )
    actor_pseudonym = models.CharField(max_length=40, blank=True)  # "deleted-user-…" once the actor is gone
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=40)  # "session", "person", "track", "user", ...
    object_id = models.CharField(max_length=40, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["actor", "-created"]), models.Index(fields=["owner", "-created"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_id}"

    @property
    def actor_label(self) -> str:
        if self.actor is not None:
            return self.actor.get_username()
        return self.actor_pseudonym or "system"
