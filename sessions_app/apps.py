from __future__ import annotations

from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Sessions"

    def ready(self) -> None:
        from projects.signals import project_page
        from sessions_app.receivers import project_storage

        project_page.connect(project_storage, dispatch_uid="sessions-project-storage")
