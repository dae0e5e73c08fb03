from __future__ import annotations

from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Sessions"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        # registers the live Celery tasks; the receivers that count failed log-ins, close websockets and
        # tell live workers that people changed
        from sessions_app import live_tasks, login_guard, people_signals, signals  # noqa: F401

        # every way a user row goes (account deletion, the admin, a shell) keeps the trail about others
        pre_delete.connect(_forget_user, sender=get_user_model(), dispatch_uid="sessions_app.audit.forget_user")


def _forget_user(sender, instance, **kwargs) -> None:
    from sessions_app.services import audit

    audit.forget_user(instance)
