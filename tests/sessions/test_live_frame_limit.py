"""Live frames are checked from their JPEG header before decoding: a tiny file claiming a huge picture
would otherwise make the live worker allocate it (and the out-of-memory killer end the worker)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from inference.errors import MediaError
from live.services import decode_jpeg


def _jpeg(width: int, height: int) -> bytes:
    """A real 16x16 JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert ok
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def test_oversized_live_frame_is_refused_before_decoding(settings):
    import cv2

    settings.EMOTION_LIVE_MAX_PIXELS = 1920 * 1080
    assert decode_jpeg(_jpeg(16, 16)).shape == (16, 16, 3)
    with pytest.raises(MediaError, match=r"too large \(4000x3000\).*2\.1 megapixels"):
        decode_jpeg(_jpeg(4000, 3000))
    with pytest.raises(MediaError, match="too large"):
        decode_jpeg(_jpeg(60000, 60000))  # 3.6 gigapixels: Pillow's own bomb limit, same message
    with pytest.raises(MediaError, match="not a JPEG frame"):
        decode_jpeg(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    with pytest.raises(MediaError, match="not a readable JPEG frame"):
        decode_jpeg(b"\xff\xd8" + bytes(100))
