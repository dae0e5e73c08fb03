"""A few faces of one track, cropped from the session's media on demand, so the person page can show what
each track is before the owner splits it off (stored thumbnails are per person, not per track)."""

from __future__ import annotations

import io
import logging

import numpy as np
from django.conf import settings
from django.core.cache import cache

from inference.errors import MediaError
from sessions_app.models import Observation, Track

logger = logging.getLogger(__name__)

FACES_PER_TRACK = 3
FACE_PX = 64


def can_show(track: Track) -> bool:
    """Only while the media exists and is small enough to read for a picture (a copy per request)."""
    session = track.session
    limit = settings.EMOTION_TRACK_FACES_MAX_MB * 1024 * 1024
    return bool(session.original.name and not session.media_deleted and limit > 0 and session.stored_bytes <= limit)


def _picks(track: Track) -> list[Observation]:
    """Up to FACES_PER_TRACK observations spread over the track (middles of equal parts)."""
    times = list(Observation.objects.filter(track=track).order_by("time").values_list("pk", flat=True))
    if not times:
        return []
    n = min(FACES_PER_TRACK, len(times))
    chosen = [times[int((i + 0.5) * len(times) / n)] for i in range(n)]
    return list(Observation.objects.filter(pk__in=chosen).order_by("time"))


def _crop(image: np.ndarray, obs: Observation) -> np.ndarray:
    h, w = image.shape[:2]
    mh, mw = (obs.box_bottom - obs.box_top) // 4, (obs.box_right - obs.box_left) // 4
    return image[
        max(0, obs.box_top - mh) : min(h, obs.box_bottom + mh), max(0, obs.box_left - mw) : min(w, obs.box_right + mw)
    ]


def track_faces_jpeg(track: Track) -> bytes | None:
    """One JPEG strip of the track's faces side by side (FACE_PX square each); None when none can be read.
    Cached for an hour per track and observation count (a split or re-analysis changes the key)."""
    if not can_show(track):
        return None
    key = f"track-faces:{track.pk}:{track.count}:{track.session.original.name}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    data = _render(track)
    cache.set(key, data or b"", 3600)
    return data


def _render(track: Track) -> bytes | None:
    from PIL import Image

    from inference.media import iter_frames
    from sessions_app.services.analysis import local_copy

    picks = _picks(track)
    if not picks:
        return None
    faces: list[Image.Image] = []
    try:
        with local_copy(track.session.original.name) as path:
            for obs in picks:
                frame = next(iter_frames(path, start=obs.time, end=obs.time + 1.0), None)
                if frame is None:
                    continue
                crop = _crop(frame.image, obs)
                if crop.size:
                    faces.append(Image.fromarray(crop).resize((FACE_PX, FACE_PX)))
    except (MediaError, OSError):
        logger.warning("no faces for track %s", track.pk, exc_info=True)
        return None
    if not faces:
        return None
    strip = Image.new("RGB", (FACE_PX * len(faces), FACE_PX), (227, 230, 238))
    for i, face in enumerate(faces):
        strip.paste(face, (i * FACE_PX, 0))
    buf = io.BytesIO()
    strip.save(buf, format="JPEG", quality=85)
    return buf.getvalue()
