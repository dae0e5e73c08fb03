"""Staging of chunked websocket uploads: one file per upload under EMOTION_STAGING_DIR/<user id>/.

An upload is named by a UUID the server hands out; a client that reconnects sends it back and
continues from the staged size (the last acknowledged offset). Only the same user's folder is
looked in, so one user can never resume (or probe) another's upload.
"""

from __future__ import annotations

import json
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings


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
    upload = StagedUpload(user_id, str(uuid.uuid4()), _clean_name(name), str(title or "")[:200], size, 0)
    upload.path.touch()
    upload.meta_path.write_text(json.dumps({"name": upload.name, "title": upload.title, "size": size}))
    return upload
