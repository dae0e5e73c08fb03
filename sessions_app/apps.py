from __future__ import annotations

from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Sessions"

    def ready(self) -> None:
        # registers the live Celery tasks; the receivers that count failed log-ins and close websockets
        from sessions_app import live_tasks, login_guard, signals  # noqa: F401
