"""Staging of chunked websocket uploads: one file per upload under EMOTION_STAGING_DIR/<user id>/.

An upload is named by a UUID the server hands out; a client that reconnects sends it back and
continues from the staged size (the last acknowledged offset). Only the same user's folder is
looked in, so one user can never resume (or probe) another's upload.

One connection writes an upload at a time: each resume takes the upload over (its ``generation``,
kept in the ``.json`` beside the ``.part``, goes up by one), and a chunk or an ingest from an older
generation is refused with :class:`Superseded`. The check and the write happen under an exclusive
``flock`` of the ``.part`` file, so a takeover never lands between them; each chunk is written at
the offset this connection expects (never appended wherever the file ends) and never past the
announced size. The consumer also tells the older connection to close (:func:`group_name`).

A user's unfinished uploads may announce at most EMOTION_STAGING_QUOTA_BYTES together, checked at a
new start (under a lock of the user's folder, so simultaneous starts cannot all pass) and at each
resume; a new upload also needs room in its target project's storage quota (under the project's row
lock, its staging files written inside it); a new upload counts against the ``uploads`` rate, a resume
against ``upload_resumes``.
Uploads untouched for EMOTION_STAGING_MAX_AGE_HOURS are deleted by :func:`clean_stale` (Celery
beat), since a client that starts again abandons its old one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from emotionsite import ratelimit, webnode
from sessions_app.services import storage_quota

logger = logging.getLogger(__name__)


class UploadError(Exception):
    """A protocol or limit problem; the message is shown to the user."""


class Superseded(UploadError):
    """A newer connection resumed this upload: this one must stop (and close)."""


SUPERSEDED = "This upload continued on another connection (another tab or window); this one stopped."
GONE = "That upload cannot be resumed: start again."


@dataclass
class StagedUpload:
    user_id: int
    upload_id: str
    name: str
    title: str
    size: int
    offset: int
    generation: int = 0  # this connection's hold on the upload: 0 at start, one more per resume
    project_id: int | None = None  # where the session goes (None: the uploader's personal project)

    @property
    def path(self) -> Path:
        return staging_dir(self.user_id) / f"{self.upload_id}.part"

    @property
    def meta_path(self) -> Path:
        return staging_dir(self.user_id) / f"{self.upload_id}.json"

    @property
    def ingest_path(self) -> Path:
        """Where a complete upload is moved while it is ingested, so that no resume finds it again."""
        return staging_dir(self.user_id) / f"{self.upload_id}.ingest"

    @property
    def complete(self) -> bool:
        return self.offset >= self.size

    def append(self, data: bytes) -> int:
        """Write ``data`` at this connection's offset; returns the new offset."""
        if self.offset + len(data) > self.size:
            raise UploadError(f"More data than the announced size ({self.size} bytes).")
        with self._held() as fh:
            fh.seek(self.offset)
            fh.write(data)
            fh.truncate()  # nothing beyond what was acknowledged stays
        self.offset += len(data)
        return self.offset

    def discard(self) -> None:
        for p in (self.path, self.meta_path, self.ingest_path):
            with suppress(FileNotFoundError):
                p.unlink()
        webnode.release(NODE_KIND, self.node_id)

    @property
    def node_id(self) -> str:
        return f"{self.user_id}:{self.upload_id}"

    def ingest(self, owner: Any):
        """Probe and store the complete file as a session; the staging files go either way. Only the
        connection holding the upload may: the file is moved aside first, so it is ingested once."""
        from sessions_app.services.ingest import ingest_file

        with self._held():
            self.path.rename(self.ingest_path)
        try:
            return ingest_file(owner, self.ingest_path, self.name, self.title, project=self.project_id)
        finally:
            self.discard()

    @contextmanager
    def _held(self) -> Iterator[IO[bytes]]:
        """The ``.part`` file, locked, while this connection's generation still holds the upload."""
        with _locked(self.path) as fh:
            if _generation(_read_meta(self.meta_path)) != self.generation:
                raise Superseded(SUPERSEDED)
            yield fh

    def _write_meta(self) -> None:
        meta = {
            "name": self.name,
            "title": self.title,
            "size": self.size,
            "generation": self.generation,
            "project": self.project_id,
        }
        tmp = self.meta_path.with_suffix(".tmp.json")  # replaced whole: readers never see half a file
        tmp.write_text(json.dumps(meta))
        tmp.replace(self.meta_path)


@contextmanager
def _locked(path: Path) -> Iterator[IO[bytes]]:
    """A staged file open for writing under an exclusive ``flock`` (released when it is closed)."""
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise UploadError(GONE) from None
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield fh


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _generation(meta: dict[str, Any]) -> int:
    value = meta.get("generation", 0)
    return value if isinstance(value, int) else 0


def group_name(user_id: int, upload_id: str) -> str:
    """The channel-layer group of an upload's connections (a resume tells the older one to close)."""
    return f"upload.{int(user_id)}.{upload_id}"


def staging_dir(user_id: int) -> Path:
    return Path(settings.EMOTION_STAGING_DIR) / str(int(user_id))


@contextmanager
def _folder_locked(user_id: int) -> Iterator[None]:
    """Serialises the quota decisions of one user's starts (across Daphne processes)."""
    fd = os.open(staging_dir(user_id), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _clean_name(name: Any) -> str:
    name = Path(str(name or "upload")).name.strip().replace("\x00", "")
    return name[:150] or "upload"


def _check_quota(user_id: int, more: int) -> None:
    quota = settings.EMOTION_STAGING_QUOTA_BYTES
    if staged_bytes(user_id) + more > quota:
        raise UploadError(
            f"Your unfinished uploads would take more than {quota // (1024 * 1024)} MB: finish them, "
            f"or wait {settings.EMOTION_STAGING_MAX_AGE_HOURS} hours for abandoned ones to be removed."
        )


def start_upload(
    user_id: int, name: Any, size: Any, title: Any = "", upload_id: Any = None, project_id: int | None = None
) -> StagedUpload:
    """Begin a new upload into ``project_id`` (checked by the caller, and again at ingest), or resume
    ``upload_id`` of this user at its staged size (taking it over; it keeps the project it started with)."""
    if size == 0 and not isinstance(size, bool):
        raise UploadError("The file is empty.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise UploadError("The start message needs the file's size in bytes.")
    limit = settings.EMOTION_UPLOAD_MAX_BYTES
    if size > limit:
        raise UploadError(f"The file is too large: the limit is {limit // (1024 * 1024)} MB.")
    staging_dir(user_id).mkdir(parents=True, exist_ok=True)
    title = str(title or "")[:200]
    if upload_id:
        return _resume(user_id, upload_id, _clean_name(name), title, size)
    if project_id is None:
        from projects.services import personal_project_id

        project_id = personal_project_id(user_id)
    with _folder_locked(user_id):
        try:  # the target project's storage quota and the disk's low-water mark, under the project's lock
            with storage_quota.room_for(project_id, size):
                _check_quota(user_id, size)
                ratelimit.hit("uploads", user_id)
                upload_id = str(uuid.uuid4())
                upload = StagedUpload(user_id, upload_id, _clean_name(name), title, size, 0, project_id=project_id)
                upload.path.touch()
                upload._write_meta()  # from here on counted in the project's usage
        except storage_quota.StorageRefused as exc:
            raise UploadError(str(exc)) from None
    _claim(upload)
    return upload


NODE_KIND = "upload"


def _claim(upload: StagedUpload) -> None:
    """This web machine holds the staged file: a resume reaching another one is refused, not restarted."""
    webnode.claim(NODE_KIND, upload.node_id, settings.EMOTION_STAGING_MAX_AGE_HOURS * 3600)


def _resume(user_id: int, upload_id: Any, name: str, title: str, size: int) -> StagedUpload:
    try:
        upload_id = str(uuid.UUID(str(upload_id)))
    except ValueError:
        raise UploadError("Unknown upload id.") from None
    ratelimit.hit("upload_resumes", user_id)  # probes of unknown ids count too
    upload = StagedUpload(user_id, upload_id, name, title, size, 0)
    if not upload.path.exists() and webnode.held_elsewhere(NODE_KIND, upload.node_id):
        raise UploadError(webnode.ELSEWHERE.format(what="upload"))  # staged on another web machine
    with _locked(upload.path) as fh:  # the current holder's write finishes first
        meta = _read_meta(upload.meta_path)
        if meta and meta.get("size") != size:
            raise UploadError("That upload was of a different file: start again.")
        upload.name, upload.title = meta.get("name", name), meta.get("title", title)
        upload.project_id = meta.get("project")
        upload.offset = min(os.fstat(fh.fileno()).st_size, size)
        fh.truncate(upload.offset)
        _check_quota(user_id, 0)  # this upload counts at its announced size
        upload.generation = _generation(meta) + 1
        upload._write_meta()  # from here on, the older connection's chunks are refused
    _claim(upload)
    return upload


def staged_bytes(user_id: int, project_id: int | None = None) -> int:
    """What the user's unfinished uploads (and those being ingested) announced: the size each will
    reach, or more if a file is larger, for the quotas. With ``project_id``: only those into that project
    (an upload from before projects, naming none, goes to the user's personal one)."""
    folder, total = staging_dir(user_id), 0
    personal = None
    for part in [*folder.glob("*.part"), *folder.glob("*.ingest")]:
        meta = _read_meta(part.with_suffix(".json"))
        if project_id is not None:
            target = meta.get("project")
            if target is None:
                if personal is None:
                    from projects.services import personal_project_id

                    personal = personal_project_id(user_id)
                target = personal
            if target != project_id:
                continue
        try:
            total += max(int(meta.get("size", 0)), part.stat().st_size)
        except (OSError, ValueError, TypeError):
            with suppress(OSError):
                total += part.stat().st_size
    return total


def clean_stale(max_age_hours: float | None = None) -> int:
    """Delete unfinished websocket uploads (``.part``, ``.json``, and ``.ingest`` left by a crash mid-ingest)
    and left-over REST temporary files untouched for ``max_age_hours``; returns how many files went. Live
    recordings (``.rec``) are left to the live reaper, which keeps and finishes them."""
    hours = settings.EMOTION_STAGING_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    root = Path(settings.EMOTION_STAGING_DIR)
    cutoff = time.time() - hours * 3600
    candidates = [*root.glob("*/*.part"), *root.glob("*/*.json"), *root.glob("*/*.ingest"), *root.glob("api/*")]
    removed = 0
    for path in candidates:
        with suppress(OSError):  # gone meanwhile, or not ours to remove
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    if removed:
        logger.info("removed %d abandoned staging file(s) from %s", removed, root)
    return removed


def project_of_new_upload(user: Any, project: Any) -> int:
    """The project a websocket upload goes to (projects.services.project_for_new), refusals as UploadError."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from projects.services import NOT_YOURS, project_for_new

    try:
        return project_for_new(user, project)
    except (Http404, PermissionDenied):
        raise UploadError(NOT_YOURS) from None
