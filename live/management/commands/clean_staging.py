"""``manage.py clean_staging``: this machine's staging folder, cleaned as the hourly beat task cleans the
worker's. On a deployment of several machines each web machine runs it (deploy/systemd's
emotion-clean-staging.timer): uploads and recordings are staged on the web machine that receives them, which
no worker elsewhere can clean."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from live import services as live
from sessions_app.services import uploads


class Command(BaseCommand):
    help = "Delete this machine's abandoned uploads and the staged recordings of finished live sessions."

    def handle(self, *args, **options) -> None:
        uploads_gone = uploads.clean_stale()
        recordings_gone = live.remove_finished_recordings()
        self.stdout.write(f"removed {uploads_gone} abandoned upload file(s), {recordings_gone} finished recording(s)")
