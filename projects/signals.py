"""Every user has a personal project from the moment the row exists (sign-up, admin, createsuperuser); the
project page asks the rooms above for what they add to it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

# Sent by the project page (projects.views.project_detail) with ``project``: each receiver returns a dict
# merged into the page's context (sessions_app adds the project's storage use: ``storage``).
project_page = Signal()


@receiver(post_save, sender=get_user_model(), dispatch_uid="projects-personal-project")
def make_personal_project(sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        from projects.services import personal_project

        personal_project(instance)
