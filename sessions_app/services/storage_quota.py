"""Per-project storage quota and the disk low-water mark: refusals before anything is written.

A project's usage is what its files take: each of its sessions' distinct stored files
(``Session.stored_bytes``: original, playable copy or recording, measured wherever they are written,
whoever recorded them), its people's thumbnails (``PersonThumbnail.size``), and what is on its way into it
in its members' staging folders (unfinished websocket uploads at their announced size, each naming its
target project; live recordings as far as they got). Sizes are recorded when files are written and summed
in the database, so a check costs a few queries and a look at the members' staging folders, never a walk
over the media.

The quota is EMOTION_STORAGE_QUOTA_BYTES unless staff set one for the project (``Project.storage_quota_mb``,
in the admin); 0 means none. Decisions that let bytes in take the project's row lock
(``projects.services.lock_project``), so two starts or stores into one project cannot pass together. Under
EMOTION_DISK_MIN_FREE_BYTES of free disk (emotionsite.diskspace) new uploads and recordings are refused for
everyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Sum

from emotionsite import diskspace
from projects.models import Membership, Project
from projects.services import lock_project
from sessions_app.models import Session

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
    project: str = ""  # the project's name, for messages
    personal: bool = True

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


def _project_id(project: Any) -> int:
    return int(getattr(project, "pk", project))


def quota_for(project_id: int) -> int:
    """The project's quota in bytes (0: none): staff's setting for it, else EMOTION_STORAGE_QUOTA_BYTES."""
    mb = Project.objects.filter(pk=project_id).values_list("storage_quota_mb", flat=True).first()
    return settings.EMOTION_STORAGE_QUOTA_BYTES if mb is None else mb * MB


def stored_bytes(project_id: int) -> int:
    """What the project's stored files take (its sessions' files and its people's thumbnails)."""
    sessions = Session.objects.filter(project_id=project_id).aggregate(n=Sum("stored_bytes"))["n"] or 0
    # the people room's face thumbnails, through the project's relations (sessions_app does not import people)
    thumbs = Project.objects.filter(pk=project_id).aggregate(n=Sum("people__thumbnails__size"))["n"] or 0
    return sessions + thumbs


def staging_bytes(project_id: int) -> int:
    """What is on its way into the project: its members' unfinished uploads into it at their announced
    size, and live recordings of its sessions so far."""
    from sessions_app.services import uploads

    members = list(Membership.objects.filter(project_id=project_id).values_list("user_id", flat=True))
    total, recordings = 0, {}
    for user_id in members:
        total += uploads.staged_bytes(user_id, project_id)
        for rec in uploads.staging_dir(user_id).glob("live-*.rec"):
            with suppress(ValueError):
                recordings[int(rec.stem.removeprefix("live-"))] = rec
    ours = Session.objects.filter(pk__in=list(recordings), project_id=project_id).values_list("pk", flat=True)
    for session_id in ours:
        with suppress(OSError):  # finished meanwhile: now counted in the database
            total += recordings[session_id].stat().st_size
    return total


def _usage(project_id: int, used: int) -> Usage:
    row = Project.objects.filter(pk=project_id).values_list("name", "personal").first() or ("", True)
    return Usage(used, quota_for(project_id), project=row[0], personal=row[1])


def usage(project: Any) -> Usage:
    """The project's usage (a project or its id)."""
    project_id = _project_id(project)
    return _usage(project_id, stored_bytes(project_id) + staging_bytes(project_id))


DISK_LOW = (
    "The server's disk is nearly full, so new uploads and recordings are paused for everyone. Please try again later."
)


def check(project: Any, extra_bytes: int = 0) -> Usage:
    """Room in the project for ``extra_bytes`` more (an upload's size; 0 for a recording, which must find
    some room left): raises :class:`DiskLow` or :class:`QuotaExceeded` with a message for the user. Where
    the answer lets bytes in, hold the project's lock while they arrive: :func:`room_for`."""
    if diskspace.is_low(extra_bytes):
        raise DiskLow(DISK_LOW)
    current = usage(project)
    if current.quota and (current.used + extra_bytes > current.quota or current.used >= current.quota):
        raise QuotaExceeded(full_message(current, extra_bytes))
    return current


def check_before_body(project_id: int | None, declared_bytes: int) -> None:
    """A request body's declared length, before it is read: against the disk, and the project's quota
    where the target is already known (None: only the disk)."""
    if project_id is None:
        if diskspace.is_low(declared_bytes):
            raise DiskLow(DISK_LOW)
        return
    check(project_id, declared_bytes)


@contextmanager
def room_for(project: Any, extra_bytes: int = 0) -> Iterator[Usage]:
    """:func:`check` under the project's row lock, held (a transaction) until the block ends: a start
    writes its staging file or row inside it, so a concurrent start into the project counts it."""
    with transaction.atomic():
        lock_project(_project_id(project))
        yield check(project, extra_bytes)


def full_message(current: Usage, extra_bytes: int = 0) -> str:
    if current.personal:
        needs = f"This needs {human(extra_bytes)}, but your" if extra_bytes else "Your"
        holds = f"{needs} storage holds {human(current.used)} of your {human(current.quota)} quota."
    else:
        needs = f"This needs {human(extra_bytes)}, but the" if extra_bytes else "The"
        holds = (
            f"{needs} project “{current.project}” holds {human(current.used)} of its "
            f"{human(current.quota)} storage quota."
        )
    return f"{holds} Delete sessions or their media you no longer need, or ask staff for more room."


def lock_and_check_stored(project: Any, extra_bytes: int) -> None:
    """Inside a transaction that stores a file into the project: serialise the project's stores (its row
    lock) and check the stored files alone (the file being stored may still be in staging, counted there).
    Two uploads that passed their start checks together cannot both land past the quota."""
    project_id = _project_id(project)
    lock_project(project_id)
    if diskspace.is_low(extra_bytes):
        raise DiskLow("The server's disk is nearly full, so the file could not be stored. Please try again later.")
    current = _usage(project_id, stored_bytes(project_id))
    if current.quota and current.used + extra_bytes > current.quota:
        raise QuotaExceeded(full_message(current, extra_bytes))


def live_room(project: Any, recorded: int) -> int:
    """How large a live recording into the project may grow, having ``recorded`` bytes in its staging file
    (already counted in the usage): the live size limit, or less when the quota leaves less."""
    left = usage(project).left
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
