"""Per-user storage quota and the disk low-water mark: refusals before anything is written.

A user's usage is what their files take: each session's distinct stored files (``Session.stored_bytes``:
original, playable copy or recording, measured wherever they are written), their people's thumbnails
(``PersonThumbnail.size``), and what is on its way in the staging folder (unfinished websocket uploads at
their announced size, live recordings as far as they got). Sizes are recorded when files are written and
summed in the database, so a check costs two queries and a look at the user's staging folder, never a
walk over the media.

The quota is EMOTION_STORAGE_QUOTA_BYTES unless staff set one for the user (``StorageQuota``, in the
admin); 0 means none. Under EMOTION_DISK_MIN_FREE_BYTES of free disk (emotionsite.diskspace) new
uploads and recordings are refused for everyone.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db.models import Sum

from accounts.locks import lock_owner
from emotionsite import diskspace
from sessions_app.models import Session, StorageQuota

MB = 1024 * 1024


class StorageRefused(Exception):
    """Not enough room; the message is for the user. ``status``: the HTTP answer for the API."""

    status = 413


class QuotaExceeded(StorageRefused):
    status = 413  # this request is too large for what the user has left


class DiskLow(StorageRefused):
    status = 507  # Insufficient Storage: the server's disk, not the user's doing


@dataclass(frozen=True)
class Usage:
    used: int  # bytes
    quota: int  # bytes; 0: no quota

    @property
    def left(self) -> int | None:
        return None if not self.quota else max(0, self.quota - self.used)

    @property
    def text(self) -> str:
        """``"1.2 GB of 20.0 GB"`` for the sessions page (``"1.2 GB (no limit)"`` without a quota)."""
        return f"{human(self.used)} of {human(self.quota)}" if self.quota else f"{human(self.used)} (no limit)"


def human(size: int) -> str:
    """Bytes as people read them: ``512 B``, ``9.8 KB``, ``1.5 GB``."""
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"


def quota_for(user_id: int) -> int:
    """The user's quota in bytes (0: none): staff's setting for them, else EMOTION_STORAGE_QUOTA_BYTES."""
    mb = StorageQuota.objects.filter(user_id=user_id).values_list("quota_mb", flat=True).first()
    return settings.EMOTION_STORAGE_QUOTA_BYTES if mb is None else mb * MB


def stored_bytes(user_id: int) -> int:
    """What the user's stored files take (sessions' files and thumbnails), from the recorded sizes."""
    sessions = Session.objects.filter(owner_id=user_id).aggregate(n=Sum("stored_bytes"))["n"] or 0
    # the people room's face thumbnails, through the user's relations (sessions_app does not import people)
    thumbs = get_user_model().objects.filter(pk=user_id).aggregate(n=Sum("people__thumbnails__size"))["n"] or 0
    return sessions + thumbs


def staging_bytes(user_id: int) -> int:
    """What is on its way in: unfinished uploads at their announced size, live recordings so far."""
    from sessions_app.services import uploads

    recordings = 0
    for rec in uploads.staging_dir(user_id).glob("live-*.rec"):
        with suppress(OSError):  # finished meanwhile: now counted in the database
            recordings += rec.stat().st_size
    return uploads.staged_bytes(user_id) + recordings


def usage(user: Any) -> Usage:
    user_id = getattr(user, "pk", user)
    return Usage(stored_bytes(user_id) + staging_bytes(user_id), quota_for(user_id))


def check(user: Any, extra_bytes: int = 0) -> Usage:
    """Room for ``extra_bytes`` more (an upload's size; 0 for a recording, which must find some room
    left): raises :class:`DiskLow` or :class:`QuotaExceeded` with a message for the user."""
    if diskspace.is_low(extra_bytes):
        raise DiskLow(
            "The server's disk is nearly full, so new uploads and recordings are paused for everyone. "
            "Please try again later."
        )
    current = usage(user)
    if current.quota and (current.used + extra_bytes > current.quota or current.used >= current.quota):
        raise QuotaExceeded(full_message(current, extra_bytes))
    return current


def full_message(current: Usage, extra_bytes: int = 0) -> str:
    needs = f"This needs {human(extra_bytes)}, but your" if extra_bytes else "Your"
    return (
        f"{needs} storage holds {human(current.used)} of your {human(current.quota)} quota. "
        "Delete sessions or their media you no longer need, or ask staff for more room."
    )


def lock_and_check_stored(owner: Any, extra_bytes: int) -> None:
    """Inside a transaction that stores a file: serialise the owner's stores (their user row) and check the
    stored files alone (the file being stored may still be in staging, counted there). Two uploads that
    passed their start checks together cannot both land past the quota."""
    lock_owner(owner.pk)
    if diskspace.is_low(extra_bytes):
        raise DiskLow("The server's disk is nearly full, so the file could not be stored. Please try again later.")
    current = Usage(stored_bytes(owner.pk), quota_for(owner.pk))
    if current.quota and current.used + extra_bytes > current.quota:
        raise QuotaExceeded(full_message(current, extra_bytes))


def live_room(user: Any, recorded: int) -> int:
    """How large a live recording of ``user`` may grow, having ``recorded`` bytes in its staging file
    (already counted in the usage): the live size limit, or less when the quota leaves less."""
    left = usage(user).left
    bound = settings.EMOTION_LIVE_MAX_BYTES
    return bound if left is None else min(bound, recorded + left)


def measure_session(session: Session) -> int:
    """Record the bytes of the session's distinct stored files (an image or a playable upload is its own
    playable file: counted once); call after writing or replacing its files."""
    size = 0
    for name in {session.original.name, session.playable.name} - {""}:
        with suppress(OSError):  # gone (deleted media): nothing to count
            size += default_storage.size(name)
    Session.objects.filter(pk=session.pk).update(stored_bytes=size)
    session.stored_bytes = size
    return size
