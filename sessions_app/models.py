from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """A row a worker writes to prove the queue -> worker -> database path works end to end."""

    note = models.CharField(max_length=200, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"heartbeat {self.pk} from {self.worker or '?'}"
