"""Importing a folder of videos and images into a project (``manage.py import_videos``).

Each file goes through the same ingest as an upload (``ingest.ingest_file``: the member's role, the file's
real content, the storage quota under the owner's lock, the analysis queued); one file refused never stops
the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from sessions_app.models import Session
from sessions_app.services import storage_quota
from sessions_app.services.ingest import IngestError, ingest_file

# the names worth trying (what the file really is is decided by probing it, never by this)
VIDEO_SUFFIXES = (
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
    ".ts",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
MEDIA_SUFFIXES = frozenset(VIDEO_SUFFIXES + IMAGE_SUFFIXES)


class ImportRefused(Exception):
    """The whole import cannot run (a folder that is not one, a user without the right to record there)."""


@dataclass
class Outcome:
    path: Path
    result: str  # "imported", "would import", "skipped", "refused"
    message: str = ""
    session: Session | None = None


def media_files(folder: Path, recursive: bool = False) -> tuple[list[Path], int]:
    """The folder's files with a video or image name (sorted, hidden ones left out), and how many other
    files were passed over."""
    if not folder.is_dir():
        raise ImportRefused(f"{folder} is not a folder.")
    found = sorted(folder.rglob("*") if recursive else folder.iterdir())
    files = [p for p in found if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    media = [p for p in files if p.suffix.lower() in MEDIA_SUFFIXES]
    return media, len(files) - len(media)


def check_member(user: Any, project: Any) -> int:
    """The project's id if ``user``'s role there allows recording (projects.services.project_for_new)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from projects.services import project_for_new

    try:
        return project_for_new(user, project)
    except Http404:
        raise ImportRefused(f"{user.username} is not a member of project {project}, or there is none.") from None
    except PermissionDenied:
        raise ImportRefused(f"{user.username}'s role in project {project} does not allow adding sessions.") from None


def import_folder(
    user: Any, project: Any, folder: Path, *, recursive: bool = False, dry_run: bool = False, again: bool = False
) -> Iterator[Outcome]:
    """Import each media file of ``folder`` into ``project`` as ``user``, one :class:`Outcome` per file as
    it is done. A file whose name and size match a session of the project is skipped unless ``again``."""
    project_id = check_member(user, project)
    files, _ = media_files(folder, recursive)
    limit = settings.EMOTION_UPLOAD_MAX_BYTES
    for path in files:
        size = path.stat().st_size
        before = None
        if not again:
            before = Session.objects.filter(project_id=project_id, original_name=path.name[:255], original_size=size)
            before = before.order_by("pk").first()
        if before is not None:
            yield Outcome(path, "skipped", f"already imported (session {before.pk})", before)
            continue
        if size == 0:
            yield Outcome(path, "refused", "The file is empty.")
            continue
        if size > limit:
            yield Outcome(path, "refused", f"The file is too large: the limit is {limit // (1024 * 1024)} MB.")
            continue
        try:
            storage_quota.check(user, size)
        except storage_quota.StorageRefused as exc:
            yield Outcome(path, "refused", str(exc))
            continue
        if dry_run:
            message = _probe_message(path)
            yield Outcome(path, "refused", message) if message else Outcome(path, "would import")
            continue
        try:
            session = ingest_file(user, path, path.name, project=project_id)
        except IngestError as exc:
            yield Outcome(path, "refused", str(exc))
            continue
        yield Outcome(path, "imported", f"session {session.pk}, {session.get_status_display().lower()}", session)


def _probe_message(path: Path) -> str:
    """What ingest would refuse the file for (a dry run stores nothing), or ""."""
    from inference.errors import MediaError, TooLongError
    from inference.media import probe
    from sessions_app.services.ingest import too_long_message, unreadable_message

    limit = settings.EMOTION_MAX_DURATION_SECONDS
    try:
        probe(os.fspath(path), max_duration=limit)
    except TooLongError as exc:
        return too_long_message(path.name, exc.seconds, limit)
    except MediaError as exc:
        return unreadable_message(exc)
    return ""
