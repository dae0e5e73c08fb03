"""What a stored media file is, decided by the server from its bytes, never from the name a user gave it.

The format names recorded on a session (``Session.original_format``/``playable_format``) map through one
allow-list to a storage extension and the ``Content-Type`` it is served with; anything else is
``application/octet-stream`` under ``.bin``. A browser is never told a user's file is HTML, SVG or XML.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

OTHER = "other"  # probed and accepted, but not a format of the allow-list

# format -> (storage extension, Content-Type)
FORMATS: dict[str, tuple[str, str]] = {
    "jpeg": ("jpg", "image/jpeg"),
    "png": ("png", "image/png"),
    "gif": ("gif", "image/gif"),
    "webp": ("webp", "image/webp"),
    "bmp": ("bmp", "image/bmp"),
    "tiff": ("tif", "image/tiff"),
    "mp4": ("mp4", "video/mp4"),
    "mov": ("mov", "video/quicktime"),
    "webm": ("webm", "video/webm"),
    "mkv": ("mkv", "video/x-matroska"),
    "avi": ("avi", "video/x-msvideo"),
}
FALLBACK = ("bin", "application/octet-stream")
SAFE_EXTENSIONS = frozenset(ext for ext, _ in FORMATS.values()) | {FALLBACK[0]}
# the only stems a stored media file may have: what it is, never what the user called it
STEMS = frozenset({"original", "playable", "recording"})
_SAFE_NAME = re.compile(r"^([a-z]+)\.([a-z0-9]{1,5})$")

_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tiff"}
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
HEAD_BYTES = 64


def extension(fmt: str) -> str:
    return FORMATS.get(fmt, FALLBACK)[0]


def content_type(fmt: str) -> str:
    return FORMATS.get(fmt, FALLBACK)[1]


def storage_name(stem: str, fmt: str) -> str:
    """``original.gif``, ``playable.mp4``: the name a stored file gets, from the server's own words."""
    return f"{stem}.{extension(fmt)}"


def safe_name(filename: str) -> str:
    """``filename`` when it is a server-chosen name (known stem, allow-listed extension), else ``media.bin``."""
    match = _SAFE_NAME.match(Path(filename).name.lower())
    if match and match.group(1) in STEMS and match.group(2) in SAFE_EXTENSIONS:
        return match.group(0)
    return f"media.{FALLBACK[0]}"


def sniff(head: bytes) -> str:
    """The allow-listed format whose signature ``head`` (a file's first bytes) starts with, else OTHER."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"AVI ": "avi"}.get(head[8:12], OTHER)
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: its DocType says WebM or Matroska
        return "webm" if b"webm" in head[:HEAD_BYTES] else "mkv"
    return OTHER


def sniff_file(fh: IO[bytes]) -> str:
    return sniff(fh.read(HEAD_BYTES))


def detect_format(path: str | os.PathLike, kind: str) -> str:
    """The format of an accepted upload; ``kind`` is the probe's "image" or "video".

    Signatures first; an image Pillow read that has none of them gets Pillow's own word for it (still
    through the allow-list).
    """
    with open(path, "rb") as fh:
        fmt = sniff_file(fh)
    if fmt == OTHER and kind == "image":
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                fmt = _PIL_FORMATS.get(im.format or "", OTHER)
        except (UnidentifiedImageError, OSError, ValueError):
            fmt = OTHER
    return fmt
