from __future__ import annotations

from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "api_tokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        from api_tokens import schema  # noqa: F401 - registers the OpenAPI description of the token scheme
