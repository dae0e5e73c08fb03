from __future__ import annotations

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.services import set_scope_resolver
        from projects import signals  # noqa: F401  (every new user gets a personal project)
        from projects.access import audit_scopes

        # the audit log (a lower room) learns each entry's project and the actor's role from here
        set_scope_resolver(audit_scopes)
