"""A browser-playable copy of every uploaded video, next to the kept original.

Browsers play H.264 (yuv420p) in MP4 and VP8/VP9 in WebM; such uploads are their own playable file.
Anything else (MKV, AVI, MOV, MPEG-4 Part 2, 10-bit H.264, ...) is re-encoded with PyAV to an H.264
MP4 by the ``prepare_playable`` task on the ``inference`` queue, alongside the analysis; the copy keeps
the source's sound (AAC/MP3 copied, anything else re-encoded to AAC: see ``inference.media.transcode_to_mp4``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from contextlib import suppress
from pathlib import Path

from django.core.files import File
from django.db import transaction

from inference.errors import MediaError
from sessions_app.mediatypes import storage_name
from sessions_app.models import Session
from sessions_app.services import storage_quota

logger = logging.getLogger(__name__)

_MP4_AUDIO = {"aac", "mp3"}
_WEBM_AUDIO = {"opus", "vorbis"}
# The analysis times frames from the first picture, browsers from the file's zero: a picture that starts
# later (sound first, as in the shared Hamilton clip: 0.85 s) would put every face box, chart cursor and
# marker that far off, so such a file gets a copy (which starts at the picture). Under a tenth of a
# second (what the page's clock shows) is left as it is.
_MAX_PICTURE_START = 0.1


def is_browser_playable(path: str | os.PathLike, name: str = "") -> bool:
    """True for H.264/yuv420p in .mp4/.m4v and VP8/VP9 in .webm (with browser-friendly audio or none)
    whose picture starts at the file's zero.

    ``name`` (the file's given name) decides the extension where ``path`` is a staging file without one.
    """
    import av

    from inference.media import codec_name

    suffix = Path(name or path).suffix.lower()
    try:
        with av.open(str(path)) as container:
            fmt = container.format.name
            videos, audios = container.streams.video, container.streams.audio
            if len(videos) != 1:
                return False
            start = videos[0].start_time
            if start and abs(float(start * videos[0].time_base)) > _MAX_PICTURE_START:
                return False
            video = videos[0].codec_context
            audio = {codec_name(a) for a in audios}  # "mp3", whichever decoder reads it
            if suffix in (".mp4", ".m4v") and "mp4" in fmt.split(","):
                return video.name == "h264" and video.pix_fmt == "yuv420p" and audio <= _MP4_AUDIO
            if suffix == ".webm" and "webm" in fmt.split(","):
                return video.name in ("vp8", "vp9") and audio <= _WEBM_AUDIO
    except (av.error.FFmpegError, OSError, ValueError):
        return False
    return False


def prepare_playable(session_id: int) -> str:
    """Give the session a playable file (idempotent); returns "done", "skipped" or "failed"."""
    from inference.media import probe, transcode_to_mp4
    from sessions_app.services.analysis import local_copy

    session = Session.objects.filter(pk=session_id).first()
    if session is None or session.playable.name or not session.original.name:
        return "skipped"
    fd, out = tempfile.mkstemp(suffix=".mp4", prefix="emotion-playable-")
    os.close(fd)
    stored = ""
    try:
        with local_copy(session.original.name) as src:
            if is_browser_playable(src):
                name, fmt = session.original.name, session.original_format
            else:
                fps = probe(src).fps
                transcode_to_mp4(src, out, fps=fps if 0 < fps <= 120 else 25.0)
                with open(out, "rb") as fh:
                    name = stored = Session.playable.field.storage.save(
                        session.playable.field.generate_filename(session, storage_name("playable", "mp4")),
                        File(fh),
                    )
                fmt = "mp4"
        with transaction.atomic():
            row = Session.objects.select_for_update().filter(pk=session_id).first()
            if row is None or row.playable.name:  # deleted meanwhile, or another copy of the task won
                return "skipped"
            if name == session.original.name:  # the original itself; it may have been renamed meanwhile
                name, fmt = row.original.name, row.original_format
            Session.objects.filter(pk=session_id).update(playable=name, playable_format=fmt)
            storage_quota.measure_session(Session.objects.get(pk=session_id))  # the copy counts against the quota
            stored = ""
        return "done"
    except (MediaError, OSError, ValueError) as exc:
        logger.warning("no playable copy for session %s: %s", session_id, exc)
        return "failed"
    finally:
        with suppress(FileNotFoundError):
            os.unlink(out)
        if stored:
            Session.playable.field.storage.delete(stored)
