from __future__ import annotations

from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "api_tokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        # schema: the OpenAPI description of the token scheme; signals: revocation when password log-in is disabled
        from api_tokens import schema, signals  # noqa: F401
