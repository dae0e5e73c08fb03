"""Every user has a personal project from the moment the row exists (sign-up, admin, createsuperuser)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=get_user_model(), dispatch_uid="projects-personal-project")
def make_personal_project(sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        from projects.services import personal_project

        personal_project(instance)
