"""Stored summaries of sessions, each user's LLM settings, and the staff allow-list of LLM hosts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from emotionsite import crypto
from summaries import key_binding


class APIKeyNotBound(Exception):
    """The stored API key was entered for another URL than the row's current ``remote_url``."""


class Summary(models.Model):
    """One summary of one session by one backend; every summary is kept (regenerating adds a row)."""

    class Backend(models.TextChoices):
        HEURISTIC = "heuristic", "Heuristic"
        LOCAL = "local", "Local LLM"
        REMOTE = "remote", "Remote LLM"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    session = models.ForeignKey("sessions_app.Session", on_delete=models.CASCADE, related_name="summaries")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="summaries"
    )
    backend = models.CharField(max_length=10, choices=Backend.choices)
    model_name = models.CharField(max_length=300, blank=True)  # LLM used; empty for the heuristic
    # also count faces below the quality bar (sessions_app.reliability); off: reliable faces only
    include_unreliable = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # 0..1
    text = models.TextField(blank=True)
    error = models.TextField(blank=True)  # a message for the user, never a traceback
    prompt = models.TextField(blank=True)  # what an LLM was sent, kept for transparency
    task_id = models.CharField(max_length=64, blank=True)
    cancel_requested = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name_plural = "summaries"

    def __str__(self) -> str:
        return f"{self.get_backend_display()} summary {self.pk} of session {self.session_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def made_before_people_changed(self) -> bool:
        """A finished text that predates a merge, split or deletion of people in its session: its people
        and counts may no longer match the session's (the page says so rather than contradict it)."""
        changed = self.session.people_changed_at
        return bool(changed and self.status == self.Status.DONE and (self.started or self.created) < changed)


class LLMSettings(models.Model):
    """A user's remote LLM endpoint; the API key is stored encrypted (emotionsite.crypto, not SECRET_KEY),
    together with the URL it was entered with, and is only ever handed out for that URL.

    Write through :mod:`summaries.llm_settings` (it drops the key when the URL changes and audits)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="llm_settings")
    remote_url = models.URLField(max_length=500, blank=True)  # base URL of an OpenAI-compatible API
    remote_model = models.CharField(max_length=200, blank=True)
    api_key_encrypted = models.TextField(blank=True)  # key_binding.pack(key, url), encrypted
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "LLM settings"
        verbose_name_plural = "LLM settings"

    def __str__(self) -> str:
        return f"LLM settings of {self.user}"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def set_api_key(self, key: str) -> None:
        """Store ``key`` bound to the current ``remote_url`` (set the URL first); "" removes it."""
        self.api_key_encrypted = crypto.encrypt(key_binding.pack(key, self.remote_url)) if key else ""

    def get_api_key(self) -> str:
        """The key, if it was entered for the current ``remote_url``; APIKeyNotBound otherwise.

        Raises cryptography's InvalidToken when the Fernet key that encrypted it is no longer configured."""
        if not self.api_key_encrypted:
            return ""
        key, bound_url = key_binding.unpack(crypto.decrypt(self.api_key_encrypted))
        if not key_binding.same_url(bound_url, self.remote_url):
            raise APIKeyNotBound()
        return key


class AllowedLLMHost(models.Model):
    """A host staff allow for remote LLMs although it resolves to a loopback, private or link-local address."""

    host = models.CharField(max_length=253, unique=True, help_text="Host name or IP address, as in the URL.")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]
        verbose_name = "allowed LLM host"

    def __str__(self) -> str:
        return self.host

    def save(self, *args, **kwargs):
        self.host = self.host.strip().lower()
        super().save(*args, **kwargs)
