from __future__ import annotations

from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Live recording over websockets: its Redis state, rate, resume and Celery tasks (no models)."""

    name = "live"
    verbose_name = "Live recording"

    def ready(self) -> None:
        # registers the live Celery tasks and the receivers that tell live workers that people changed
        from live import signals, tasks  # noqa: F401
