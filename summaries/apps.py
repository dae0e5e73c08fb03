from __future__ import annotations

from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "summaries"

    def ready(self) -> None:
        # a summaries worker's pool processes report CUDA and the local model's state
        from summaries import worker  # noqa: F401
