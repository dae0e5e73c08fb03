"""Face thumbnails of new people, cut from the session's media."""

from __future__ import annotations

import io
import logging

from django.core.files.base import ContentFile

from inference.errors import MediaError
from people.models import Person, PersonThumbnail
from sessions_app.models import Observation, Session, Track
from sessions_app.services.analysis import local_copy

logger = logging.getLogger(__name__)


def make_thumbnails(session: Session, items: list[tuple[Person, list[Track]]]) -> None:
    """A JPEG crop of each new person's largest face in the session (none when its media is gone)."""
    from PIL import Image

    from inference.media import iter_frames

    if not session.original.name or session.media_deleted:
        return
    try:
        with local_copy(session.original.name) as path:
            for person, group in items:
                obs = max(
                    Observation.objects.filter(track__in=group),
                    key=lambda o: (o.box_bottom - o.box_top) * (o.box_right - o.box_left),
                    default=None,
                )
                if obs is None:
                    continue
                frame = next(iter_frames(path, start=obs.time, end=obs.time + 1.0), None)
                if frame is None:
                    continue
                h, w = frame.image.shape[:2]
                mh, mw = (obs.box_bottom - obs.box_top) // 4, (obs.box_right - obs.box_left) // 4
                crop = frame.image[
                    max(0, obs.box_top - mh) : min(h, obs.box_bottom + mh),
                    max(0, obs.box_left - mw) : min(w, obs.box_right + mw),
                ]
                image = Image.fromarray(crop)
                image.thumbnail((160, 160))
                buf = io.BytesIO()
                image.save(buf, format="JPEG", quality=85)
                thumb = PersonThumbnail(person=person)
                thumb.image.save("face.jpg", ContentFile(buf.getvalue()), save=True)
    except (MediaError, OSError):
        logger.warning("no thumbnails for session %s", session.pk, exc_info=True)
