from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit log: who viewed, exported or changed whose data."""

    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        # every way a user row goes (account deletion, the admin, a shell) keeps the trail about others
        pre_delete.connect(_forget_user, sender=get_user_model(), dispatch_uid="sessions_app.audit.forget_user")


def _forget_user(sender, instance, **kwargs) -> None:
    from audit import services

    services.forget_user(instance)
