"""A live recording whose socket closes without Stop is kept: resumed within a grace period, else finished.

Each connection of a live session has a generation (``Session.live_generation``: 0 at start, one more
per resume). A socket that closes without Stop schedules ``finish_live(session_id, generation, …)``
with a countdown of ``EMOTION_LIVE_RESUME_GRACE_SECONDS``; a resume in the meantime bumps the
generation, so the task finds it changed and does nothing. Both sides lock the row, so a resume and
the finishing never both win. The count of recording chunks written to the staging file is kept in
Redis (``live_state.set_chunk_count``) so a resumed connection continues the same WebM stream without gaps or
duplicates.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from emotionsite import mediastore, webnode
from live import services as live
from live import state as live_state
from projects import access
from projects.access import Action
from sessions_app.models import Session
from sessions_app.services.analysis import local_copy
from sessions_app.timefmt import clock

logger = logging.getLogger(__name__)

NOT_FOUND = "No live recording with this id."
QUIET_MARGIN = 60.0  # a receiving session silent for the grace period plus this lost its socket unnoticed


def grace_seconds() -> float:
    return float(getattr(settings, "EMOTION_LIVE_RESUME_GRACE_SECONDS", 30))


# --------------------------------------------------------------------------- consumer side
def resume(owner: Any, session_id: Any, path: Path) -> tuple[Session, int]:
    """Take over a live session of ``owner`` still receiving; returns it and the chunks it holds.

    Another user's id, a missing one and one that is not a live recording get the same answer."""
    try:
        session_id = int(session_id)
    except (TypeError, ValueError):
        raise live.LiveError(NOT_FOUND) from None
    with transaction.atomic():
        session = (
            Session.objects.select_for_update()
            .filter(pk=session_id, owner_id=owner.pk, source=Session.Source.LIVE)
            .first()
        )
        if session is None or not access.can(owner, session, Action.RECORD):  # removed from the project meanwhile
            raise live.LiveError(NOT_FOUND)
        if session.status != Session.Status.RECEIVING:
            raise live.LiveError("This recording has already ended; it can no longer be resumed.")
        if not path.exists() and webnode.held_elsewhere(live.NODE_KIND, session_id):
            # its chunks are staged on another web machine: continuing here would split the recording
            raise live.LiveError(webnode.ELSEWHERE.format(what="recording"))
        chunks = _chunks_held(session_id, path)
        if chunks is None:
            if path.exists() and path.stat().st_size:
                # the count went with Redis: resending would duplicate chunks; finish what arrived
                raise live.LiveError("This recording cannot be resumed; what arrived will be kept.")
            chunks = 0
        session.live_generation += 1
        session.save(update_fields=["live_generation", "updated"])
    live.claim_node(session_id)
    return session, chunks


def _chunks_held(session_id: int, path: Path) -> int | None:
    """The chunk count, read once the dropped connection's chunk in progress is written and counted."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return live_state.chunk_count(session_id)
    with fh, live.recording_locked(fh):
        return live_state.chunk_count(session_id)


def schedule_finish(session_id: int, generation: int, path: Path, lost_time: float) -> None:
    """Queue the finishing of a connection that closed without Stop, after the grace period."""
    from live.tasks import finish_live

    finish_live.apply_async((session_id, generation, str(path), lost_time), countdown=grace_seconds())


# --------------------------------------------------------------------------- worker: finish
def finish_after_disconnect(session_id: int, generation: int, path: str, lost_time: float) -> str:
    """Finish a live session whose connection ``generation`` closed without Stop, as Stop would.

    Idempotent: a session resumed since (newer generation), stopped, finished or failed is left alone."""
    staged = Path(path)
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id, source=Session.Source.LIVE).first()
        if session is None or session.status != Session.Status.RECEIVING:
            return "skipped"
        if session.live_generation != generation:
            return "resumed"
        lost_at = max(0.0, float(lost_time) - session.created.timestamp())
        kept = live.kept_name(session.owner_id, session_id)
        if (
            (not staged.exists() or not staged.stat().st_size)
            and mediastore.is_remote()
            and default_storage.exists(kept)
        ):
            # staged on another web machine, which copied it to the bucket when the socket closed
            Session.objects.filter(pk=session_id).update(connection_lost_at=lost_at)
            with local_copy(kept) as copy:
                live.store_recording(session_id, copy)
            logger.info(
                "live session %s: connection lost at %.1f s, recording kept (from the bucket)", session_id, lost_at
            )
            return "stored"
        if not staged.exists() or staged.stat().st_size == 0:
            staged.unlink(missing_ok=True)
            live.fail(
                session_id,
                f"The connection was lost at {clock(lost_at)} before any recording arrived; nothing to analyse.",
            )
            return "failed"
        Session.objects.filter(pk=session_id).update(connection_lost_at=lost_at)
        # the same path as Stop: store the original, queue finish_live_session (transcode, gap fill, finalize)
        live.store_recording(session_id, staged)
    logger.info("live session %s: connection lost at %.1f s, recording kept", session_id, lost_at)
    return "stored"


def reap_abandoned() -> list[int]:
    """Finish live sessions whose socket went without a disconnect (Daphne killed, host down): still
    receiving, yet nothing arrived for the grace period plus ``QUIET_MARGIN``. Run by Celery beat."""
    quiet = grace_seconds() + QUIET_MARGIN
    now = time.time()
    reaped = []
    candidates = Session.objects.filter(
        source=Session.Source.LIVE,
        status=Session.Status.RECEIVING,
        created__lt=timezone.now() - timedelta(seconds=quiet),
    ).values_list("pk", "owner_id", "live_generation", "created")
    for pk, owner_id, generation, created in candidates:
        last = live_state.last_alive(pk) or created.timestamp()
        if now - last < quiet:
            continue
        path = live.staging_path(owner_id, pk)
        if finish_after_disconnect(pk, generation, str(path), last) in ("stored", "failed"):
            reaped.append(pk)
    return reaped
