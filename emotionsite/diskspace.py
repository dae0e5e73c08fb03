"""Free space on the file systems that hold media and staging, against the low-water mark
(``EMOTION_DISK_MIN_FREE_BYTES``): under it, new uploads and recordings are refused for everyone
(sessions_app.services.storage_quota) and /healthz reports ``disk: low``."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


def _existing(path: Path) -> Path:
    """The folder itself, or its nearest existing parent (staging folders are made on first use)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes() -> int | None:
    """The least free space of the media and staging file systems; None when it cannot be read."""
    # media in a bucket (EMOTION_MEDIA_STORAGE=s3) take no room here: only the staging disk counts
    folders = [settings.EMOTION_STAGING_DIR] if settings.EMOTION_MEDIA_STORAGE == "s3" else [settings.MEDIA_ROOT]
    folders += [settings.EMOTION_STAGING_DIR]
    try:
        return min(shutil.disk_usage(_existing(folder)).free for folder in folders)
    except OSError:
        logger.warning("free disk space unknown", exc_info=True)
        return None


def is_low(extra_bytes: int = 0) -> bool:
    """True when writing ``extra_bytes`` more would leave less free than the low-water mark. Unknown
    free space counts as enough: a failing ``statvfs`` should not stop every upload."""
    mark = settings.EMOTION_DISK_MIN_FREE_BYTES
    if mark <= 0:
        return False
    free = free_bytes()
    return free is not None and free - max(0, extra_bytes) < mark
