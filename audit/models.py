"""The audit log's rows (table ``sessions_app_auditentry``: the model moved here from ``sessions_app``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what to which object, when and from where. ``owner`` is whose data it was.

    When an actor's account is deleted, ``actor`` goes empty and ``actor_pseudonym`` takes a stable
    stand-in (services.audit.pseudonym), so their entries about other people's data stay readable.

    ``project`` is the project of the object (its owners read the project's log) and ``actor_role`` the
    actor's role there when they acted: owner, analyst, viewer, "staff" for a staff member who is not a
    member, "" for none (the system, objects outside projects). The key names its model by a string and
    this room imports nothing of ``projects`` (tests/test_rooms.py checks imports): audit stays the lowest
    room, the values come from the resolver ``projects`` registers (services.set_scope_resolver)."""

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
    # SET_NULL: deleting a (then empty) project keeps the entries in their actors' and owners' logs
    project = models.ForeignKey(
        "projects.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    actor_role = models.CharField(max_length=10, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "sessions_app_auditentry"
        ordering = ["-created", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["actor", "-created"]),
            models.Index(fields=["owner", "-created"]),
            models.Index(fields=["project", "-created"], name="audit_project_created_idx"),  # the project's log
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_id}"

    @property
    def actor_label(self) -> str:
        if self.actor is not None:
            return self.actor.get_username()
        return self.actor_pseudonym or "system"
