"""Hostile and unusual media built on the fly: many faces, no faces, lying headers."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

PHOTOS = ["obama.jpg", "biden.jpg", "kit_with_rose.jpg", "obama_and_biden.jpg", "two_people.jpg", "obama_small.jpg"]


def face_crops(media_dir: Path, size: int = 180) -> list[np.ndarray]:
    """Square RGB crops (``size`` px) around every face HOG finds in the shared photos."""
    import face_recognition
    from PIL import Image

    crops = []
    for name in PHOTOS:
        with Image.open(media_dir / name) as im:
            im = im.convert("RGB")
            scale = min(1.0, 800 / max(im.size))
            small = np.asarray(im.resize((round(im.width * scale), round(im.height * scale))))
        for top, right, bottom, left in face_recognition.face_locations(small):
            side = int(max(bottom - top, right - left) * 1.8)
            cy, cx = (top + bottom) // 2, (left + right) // 2
            y0, x0 = max(0, cy - side // 2), max(0, cx - side // 2)
            crop = Image.fromarray(small[y0 : y0 + side, x0 : x0 + side]).resize((size, size))
            crops.append(np.asarray(crop))
    return crops


def write_video(path: Path, frames, fps: int = 5) -> Path:
    """H.264 MP4 of RGB ``frames`` (even sizes)."""
    import av

    frames = list(frames)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


def crowd_video(path: Path, media_dir: Path, faces: int = 12, seconds: float = 2.0, fps: int = 5) -> Path:
    """``faces`` faces at once, tiled 4 per row from the shared photos (mirrored copies make up the count)."""
    crops = face_crops(media_dir)
    crops = (crops + [c[:, ::-1] for c in crops]) * faces
    crops = crops[:faces]
    cols, size = 4, crops[0].shape[0]
    rows = -(-faces // cols)
    grid = np.full((rows * size, cols * size, 3), 128, np.uint8)
    for i, crop in enumerate(crops):
        r, c = divmod(i, cols)
        grid[r * size : (r + 1) * size, c * size : (c + 1) * size] = crop
    return write_video(path, [grid] * int(seconds * fps), fps)


def faceless_video(path: Path, seconds: float = 2.0, fps: int = 5) -> Path:
    """A moving colour gradient: plenty to decode, nothing to detect."""
    y, x = np.mgrid[0:240, 0:320]
    frames = [
        np.stack([(x + 8 * i) % 256, (y + 4 * i) % 256, (x + y) % 256], -1).astype(np.uint8)
        for i in range(int(seconds * fps))
    ]
    return write_video(path, frames, fps)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def video_claiming(path: Path, width: int, height: int) -> bytes:
    """A one-frame MJPEG AVI whose JPEG frame header claims ``width`` x ``height``."""
    import av

    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
        out.mux(stream.encode())
    data = bytearray(path.read_bytes())
    sof = data.find(b"\xff\xc0")
    assert sof > 0, "no SOF0 marker in the MJPEG frame"
    struct.pack_into(">HH", data, sof + 5, height, width)  # length(2) precision(1) then height, width
    for fourcc in (b"avih", b"strf"):  # the container's own copies of the size
        at = data.find(fourcc)
        if at > 0:
            offset = at + 8 + (32 if fourcc == b"avih" else 4)
            struct.pack_into("<II", data, offset, width, height)
    return bytes(data)
