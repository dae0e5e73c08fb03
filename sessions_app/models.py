from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
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


class Session(models.Model):
    """One recording or upload, made by ``owner`` in ``project``, and the state of its analysis."""

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
    # who may reach it (projects.access); ``owner`` is who made it. PROTECT: a project goes only once empty
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="sessions")
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
    # the name and size of the file as sent (uploads, manage.py import_videos): shown and matched only,
    # never used as a storage name; import_videos skips a file already in the project by the two
    original_name = models.CharField(max_length=255, blank=True)
    original_size = models.PositiveBigIntegerField(null=True, blank=True)
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
        indexes = [
            models.Index(fields=["owner", "-created"]),
            models.Index(fields=["project", "-created"], name="sessions_ap_project_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if self.project_id is None and self.owner_id is not None:  # no project chosen: the maker's personal one
            from projects.services import personal_project_id

            self.project_id = personal_project_id(self.owner_id)
        super().save(*args, **kwargs)

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


class Track(models.Model):
    """A face followed through one segment of a session (joined to a person at finalize)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="tracks")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, null=True, blank=True, related_name="tracks")
    person = models.ForeignKey("people.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="tracks")
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
    # seconds of this track over which eye visibility was measured on every source frame (blinks,
    # inference.blinks); null: not measured (source under 15 fps, EMOTION_BLINKS off, or analysed before)
    eye_seconds = models.FloatField(null=True, blank=True)

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
    person = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="observations"
    )
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


class EyeEvent(models.Model):
    """A blink (100-400 ms) or a longer eye closure of one track, found on every source frame
    (inference.blinks); written with its segment's observations, once (unique per track and start)."""

    class Kind(models.TextChoices):
        BLINK = "blink", "blink"
        CLOSURE = "closure", "eye closure"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="eye_events")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, null=True, blank=True, related_name="eye_events")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="eye_events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    start_frame = models.PositiveIntegerField()
    end_frame = models.PositiveIntegerField()  # the last closed frame
    start = models.FloatField()  # seconds
    end = models.FloatField()
    # the face's quality on the sampled frame at or before the event's end (sessions_app.reliability)
    quality = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["session", "start"]
        constraints = [models.UniqueConstraint(fields=["track", "start_frame"], name="eye_event_track_start_unique")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.start:.2f} s in session {self.session_id}"

    @property
    def duration(self) -> float:
        return self.end - self.start


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
