"""Move media stored under users' file names to server-chosen names: ``manage.py secure_media_names``."""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand

from sessions_app.models import Session
from sessions_app.services.media import needs_securing, secure_names


class Command(BaseCommand):
    help = (
        "Record the probed format of every session's media and copy files stored under a user's name to "
        "server-chosen names (the old copy is deleted after the database commit). Running sessions are "
        "skipped; run it again later for them. Safe to repeat."
    )

    def handle(self, *args, **options):
        outcomes: Counter[str] = Counter()
        for session in (
            Session.objects.exclude(original="", playable="")
            .only("pk", "original", "playable", "original_format", "playable_format")
            .iterator()
        ):
            if needs_securing(session):
                outcomes[secure_names(session.pk)] += 1
        self.stdout.write(
            f"{outcomes['secured']} sessions secured, {outcomes['skipped']} skipped (running or changed), "
            f"{outcomes['unchanged']} unchanged"
        )
