"""Turning a complete staged upload into a queued session."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction

from inference.errors import MediaError, TooLongError
from inference.media import probe
from sessions_app.mediatypes import detect_format, storage_name
from sessions_app.models import Session
from sessions_app.services import storage_quota
from sessions_app.timefmt import clock

logger = logging.getLogger(__name__)


class IngestError(Exception):
    """A file the user sent cannot become a session; the message is meant for them."""


def unreadable_message(exc: Exception | str) -> str:
    return f"This file could not be read as a video or image: {exc}"


def too_long_message(what: str, seconds: float, limit: float) -> str:
    return (
        f"{what} is too long: its frames run to at least {clock(seconds)}; "
        f"the limit is {limit / 60:g} minutes. Cut it into shorter parts."
    )


def ingest_file(owner: Any, path: str | os.PathLike, name: str, title: str = "", project: Any = None) -> Session:
    """Probe ``path``, store it, create a queued session in ``project`` (default: the owner's personal
    one; refused unless the owner's role there still allows recording) and enqueue its analysis.

    Nothing is left behind on failure: no row, no stored file. A video longer than
    EMOTION_MAX_DURATION_SECONDS is refused before anything is stored.
    """
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from projects.services import NOT_YOURS, project_for_new
    from sessions_app.services.analysis import enqueue_analysis, plan_segments
    from sessions_app.services.playable import is_browser_playable
    from sessions_app.tasks import prepare_playable

    try:  # checked again here: a member removed while uploading adds nothing
        project_id = project_for_new(owner, project)
    except (Http404, PermissionDenied):
        raise IngestError(NOT_YOURS) from None
    limit = settings.EMOTION_MAX_DURATION_SECONDS
    shown_name = Path(name or "upload").name or "upload"
    try:
        info = probe(path, max_duration=limit)  # the frames' own timestamps decide, read before any row exists
    except TooLongError as exc:
        raise IngestError(too_long_message(shown_name, exc.seconds, limit)) from None
    except MediaError as exc:
        logger.info("unreadable upload %r: %s (%s)", shown_name, exc, exc.cause or "no library error")
        # the engine names the staging file; the user knows the file by the name they sent
        shown = str(exc).replace(Path(path).name, shown_name, 1)
        raise IngestError(unreadable_message(shown)) from None
    name = shown_name
    title = (title or "").strip()[:200] or Path(name).stem[:200] or "Untitled session"
    # the stored name and the content type it is served with come from the bytes; the user's name is
    # only the default title (escaped wherever it is shown)
    fmt = detect_format(path, info.kind)
    stored_as = storage_name("original", fmt)
    stored = ""
    try:
        with transaction.atomic():
            try:  # the last word on the quota, under the project's lock: concurrent uploads cannot both pass it
                storage_quota.lock_and_check_stored(project_id, os.path.getsize(path))
            except storage_quota.StorageRefused as exc:
                raise IngestError(str(exc)) from None
            session = Session.objects.create(
                owner=owner,
                project_id=project_id,
                title=title,
                source=Session.Source.IMAGE if info.kind == "image" else Session.Source.UPLOAD,
                status=Session.Status.QUEUED,
                duration=info.duration,
                width=info.width,
                height=info.height,
                sample_fps=settings.EMOTION_DEFAULT_SAMPLE_FPS,
                original_format=fmt,
                original_name=name[:255],
                original_size=os.path.getsize(path),
            )
            with open(path, "rb") as fh:
                session.original.save(stored_as, File(fh), save=False)
            stored = session.original.name
            playable_now = info.kind == "image" or is_browser_playable(path, stored_as)
            if playable_now:  # else the prepare_playable task makes one
                session.playable.name, session.playable_format = stored, fmt
            session.save(update_fields=["original", "playable", "playable_format"])
            storage_quota.measure_session(session)
            plan_segments(session, info.spans)  # bounded: the duration is, and gaps get no segment
            transaction.on_commit(lambda: enqueue_analysis(session.pk))
            if not playable_now:
                transaction.on_commit(lambda: prepare_playable.delay(session.pk))
    except Exception:
        if stored:
            Session.original.field.storage.delete(stored)
        raise
    logger.info("session %s ingested from %r (%s, %s)", session.pk, name, info.kind, fmt)
    return session
