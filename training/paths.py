"""Where the shared data and the extraction cache live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "EMOTION_DATA_DIR"
CACHE_ENV = "EMOTION_CACHE_DIR"


def data_dir() -> Path:
    """The read-only shared data folder (``EMOTION_DATA_DIR``, default ``../shared/data``)."""
    return Path(os.environ.get(DATA_ENV) or PROJECT_ROOT.parent / "shared" / "data").resolve()


def cache_dir() -> Path:
    """A git-ignored folder for extracted archives and array caches."""
    path = Path(os.environ.get(CACHE_ENV) or PROJECT_ROOT / ".cache")
    path.mkdir(parents=True, exist_ok=True)
    return path
