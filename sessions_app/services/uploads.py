"""Staging of chunked websocket uploads: one file per upload under EMOTION_STAGING_DIR/<user id>/.

An upload is named by a UUID the server hands out; a client that reconnects sends it back and
continues from the staged size (the last acknowledged offset). Only the same user's folder is
looked in, so one user can never resume (or probe) another's upload.

A user's unfinished uploads may announce at most EMOTION_STAGING_QUOTA_BYTES together; a new upload
counts against the ``uploads`` rate. Uploads untouched for EMOTION_STAGING_MAX_AGE_HOURS are
deleted by :func:`clean_stale` (Celery beat), since a client that starts again abandons its old one.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from emotionsite import ratelimit
from sessions_app.services import storage_quota

logger = logging.getLogger(__name__)


class UploadError(Exception):
    """A protocol or limit problem; the message is shown to the user."""


@dataclass
class StagedUpload:
    user_id: int
    upload_id: str
    name: str
    title: str
    size: int
    offset: int

    @property
    def path(self) -> Path:
        return staging_dir(self.user_id) / f"{self.upload_id}.part"

    @property
    def meta_path(self) -> Path:
        return staging_dir(self.user_id) / f"{self.upload_id}.json"

    @property
    def complete(self) -> bool:
        return self.offset >= self.size

    def append(self, data: bytes) -> int:
        if self.offset + len(data) > self.size:
            raise UploadError(f"More data than the announced size ({self.size} bytes).")
        with open(self.path, "ab") as fh:
            fh.write(data)
        self.offset += len(data)
        return self.offset

    def discard(self) -> None:
        for p in (self.path, self.meta_path):
            with suppress(FileNotFoundError):
                p.unlink()

    def ingest(self, owner: Any):
        """Probe and store the complete file as a session; the staging files go either way."""
        from sessions_app.services.ingest import ingest_file

        try:
            return ingest_file(owner, self.path, self.name, self.title)
        finally:
            self.discard()


def staging_dir(user_id: int) -> Path:
    return Path(settings.EMOTION_STAGING_DIR) / str(int(user_id))


def _clean_name(name: Any) -> str:
    name = Path(str(name or "upload")).name.strip().replace("\x00", "")
    return name[:150] or "upload"


def start_upload(user_id: int, name: Any, size: Any, title: Any = "", upload_id: Any = None) -> StagedUpload:
    """Begin a new upload, or resume ``upload_id`` of this user at its staged size."""
    if size == 0 and not isinstance(size, bool):
        raise UploadError("The file is empty.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise UploadError("The start message needs the file's size in bytes.")
    limit = settings.EMOTION_UPLOAD_MAX_BYTES
    if size > limit:
        raise UploadError(f"The file is too large: the limit is {limit // (1024 * 1024)} MB.")
    folder = staging_dir(user_id)
    folder.mkdir(parents=True, exist_ok=True)
    if upload_id:
        try:
            upload_id = str(uuid.UUID(str(upload_id)))
        except ValueError:
            raise UploadError("Unknown upload id.") from None
        upload = StagedUpload(user_id, upload_id, _clean_name(name), str(title or "")[:200], size, 0)
        if not upload.path.exists():
            raise UploadError("That upload cannot be resumed: start again.")
        with suppress(OSError, ValueError):
            meta = json.loads(upload.meta_path.read_text())
            if meta.get("size") != size:
                raise UploadError("That upload was of a different file: start again.")
            upload.name, upload.title = meta.get("name", upload.name), meta.get("title", upload.title)
        staged = upload.path.stat().st_size
        if staged > size:
            with open(upload.path, "r+b") as fh:
                fh.truncate(size)
            staged = size
        upload.offset = staged
        return upload
    try:
        storage_quota.check(user_id, size)  # the user's storage quota and the disk's low-water mark
    except storage_quota.StorageRefused as exc:
        raise UploadError(str(exc)) from None
    quota = settings.EMOTION_STAGING_QUOTA_BYTES
    if staged_bytes(user_id) + size > quota:
        raise UploadError(
            f"Your unfinished uploads would take more than {quota // (1024 * 1024)} MB: finish or resume them, "
            f"or wait {settings.EMOTION_STAGING_MAX_AGE_HOURS} hours for abandoned ones to be removed."
        )
    ratelimit.hit("uploads", user_id)
    upload = StagedUpload(user_id, str(uuid.uuid4()), _clean_name(name), str(title or "")[:200], size, 0)
    upload.path.touch()
    upload.meta_path.write_text(json.dumps({"name": upload.name, "title": upload.title, "size": size}))
    return upload


def staged_bytes(user_id: int) -> int:
    """What the user's unfinished uploads announced (the size each will reach), for the quota."""
    total = 0
    for part in staging_dir(user_id).glob("*.part"):
        try:
            meta = json.loads(part.with_suffix(".json").read_text())
            total += max(int(meta.get("size", 0)), part.stat().st_size)
        except (OSError, ValueError, TypeError, AttributeError):
            with suppress(OSError):
                total += part.stat().st_size
    return total


def clean_stale(max_age_hours: float | None = None) -> int:
    """Delete unfinished websocket uploads (``.part`` and ``.json``) and left-over REST temporary files
    untouched for ``max_age_hours``; returns how many files went. Live recordings (``.rec``) are left to
    the live reaper, which keeps and finishes them."""
    hours = settings.EMOTION_STAGING_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    root = Path(settings.EMOTION_STAGING_DIR)
    cutoff = time.time() - hours * 3600
    candidates = [*root.glob("*/*.part"), *root.glob("*/*.json"), *root.glob("api/*")]
    removed = 0
    for path in candidates:
        with suppress(OSError):  # gone meanwhile, or not ours to remove
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    if removed:
        logger.info("removed %d abandoned staging file(s) from %s", removed, root)
    return removed
