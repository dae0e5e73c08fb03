"""API tokens: django-rest-knox's token (a SHA-512 digest and a 15-character lookup prefix, never the key)
with a name, a last-use time and an integer id for the tokens page (knox's primary key is the digest)."""

from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class ApiToken(AbstractAuthToken):
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name or 'token'} {self.prefix}… of {self.user}"

    @property
    def prefix(self) -> str:
        """The first characters of the key: enough to recognise a token, far too few to use it."""
        return self.token_key[:8]
