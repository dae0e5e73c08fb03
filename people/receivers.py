"""What the people room does when sessions_app says something happened (sessions_app/signals.py)."""

from __future__ import annotations

from django.dispatch import receiver

from people import identify
from sessions_app.signals import tracks_ready


@receiver(tracks_ready, dispatch_uid="people.link_people")
def link_people(sender, session, run_id, **kwargs) -> None:
    identify.link_people(session, run_id)
