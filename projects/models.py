"""Projects hold sessions, people, markers and summaries, and their settings (retention, storage quota);
members reach them through a role."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Project(models.Model):
    """A shared space; every user also has one ``personal`` project, made at sign-up."""

    name = models.CharField(max_length=100)
    personal = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    # Media of the project's sessions older than this many days is deleted by the periodic retention task
    # (owners set it on the project page); empty: kept.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # With False the whole session goes (observations, summaries, markers), not only its media.
    retention_keep_results = models.BooleanField(default=True)
    # Staff's quota for the project's files (sessions, thumbnails, uploads under way), in the admin.
    storage_quota_mb = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Megabytes this project's files may take together; empty: EMOTION_STORAGE_QUOTA_MB; 0: no limit.",
    )
    storage_quota_note = models.CharField(max_length=200, blank=True, help_text="Why (shown to staff only).")

    class Meta:
        ordering = ["-personal", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ANALYST = "analyst", "Analyst"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_project_user_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Invitation(models.Model):
    """A one-time link into a project with a role. Only the SHA-256 of its token is kept: the raw token is
    shown once to the owner who made it, and the audit log names an invitation by its id."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the raw token
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="invitations_made"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations_used"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created", "-pk"]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.project} ({self.role})"
