"""Fixtures for the inference tests (plain pytest, no Django)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """The shared test media: $EMOTION_DATA_DIR/media, default <repo>/../shared/data/media."""
    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data")
    media = base / "media"
    if not (media / "obama.jpg").is_file():
        pytest.skip(f"shared test media not found in {media} (set EMOTION_DATA_DIR to the data folder)")
    return media


@pytest.fixture(scope="session")
def recognizer():
    import torch

    torch.set_num_threads(1)
    from inference.api import EmotionRecognition

    return EmotionRecognition(device="cpu")
