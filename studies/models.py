"""A project's study: pseudonymous participant codes linked to people, condition labels on sessions or time
ranges of sessions, and the baseline correction its figures use (docs/studies.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

CODE_MAX = 40
LABEL_MAX = 60


class Participant(models.Model):
    """A pseudonymous code (``P01``); the people linked to it keep it in every session of the project."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="participants")
    code = models.CharField(max_length=CODE_MAX)
    note = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "code"]
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="participant_project_code_unique")]

    def __str__(self) -> str:
        return self.code


class ParticipantLink(models.Model):
    """A person of the project is this participant (one code per person; a code may gather several people,
    e.g. one person split in two by identity). Kept here so ``people`` knows nothing of studies."""

    person = models.OneToOneField("people.Person", on_delete=models.CASCADE, related_name="participant_link")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="links")

    def __str__(self) -> str:
        return f"person {self.person_id} is {self.participant}"


class Condition(models.Model):
    """A condition label of the project (control, task, stimulus A…)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="conditions")
    label = models.CharField(max_length=LABEL_MAX)

    class Meta:
        ordering = ["project", "label"]
        constraints = [models.UniqueConstraint(fields=["project", "label"], name="condition_project_label_unique")]

    def __str__(self) -> str:
        return self.label


class SessionCondition(models.Model):
    """A session, or the range [start, end) seconds of it, carries a condition (start/end null: the whole
    session)."""

    session = models.ForeignKey("sessions_app.Session", on_delete=models.CASCADE, related_name="study_conditions")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="assignments")
    start = models.FloatField(null=True, blank=True)
    end = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["session", "start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start__isnull=True) & Q(end__isnull=True)) | (Q(start__gte=0) & Q(end__gt=F("start"))),
                name="session_condition_range_valid",
            )
        ]

    def __str__(self) -> str:
        where = "whole session" if self.start is None else f"{self.start:g}-{self.end:g} s"
        return f"{self.condition} on session {self.session_id} ({where})"

    @property
    def whole(self) -> bool:
        return self.start is None


class StudySettings(models.Model):
    """How the project's figures are corrected for each participant's resting face."""

    class Mode(models.TextChoices):
        NONE = "none", "No baseline"
        FIRST = "first", "The first N seconds of each session"
        MARKERS = "markers", "Between a start and an end marker of each session"
        CONDITION = "condition", "The ranges or sessions carrying a baseline condition"

    class Op(models.TextChoices):
        SUBTRACT = "subtract", "Subtract the baseline mean"
        DIVIDE = "divide", "Divide by the baseline mean"

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="study_settings")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.NONE)
    op = models.CharField(max_length=10, choices=Op.choices, default=Op.SUBTRACT)
    first_seconds = models.FloatField(default=30.0)
    start_label = models.CharField(max_length=200, blank=True)  # marker notes (event types)
    end_label = models.CharField(max_length=200, blank=True)
    condition = models.ForeignKey(Condition, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "study settings"
        constraints = [models.CheckConstraint(condition=Q(first_seconds__gt=0), name="study_first_seconds_positive")]

    def __str__(self) -> str:
        return f"study settings of project {self.project_id}"
