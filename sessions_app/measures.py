"""Measures beyond the seven probabilities, read from the stored rows (docs/measures.md).

Valence and arousal: a derived estimate from the probabilities (``inference.affect``); the mean over a
person's counted faces is the estimate of their mean probabilities (it is linear in them).

Head pose: per person, the share of counted faces looking away (``|yaw| > LOOK_AWAY_YAW`` or
``|pitch| > LOOK_AWAY_PITCH`` degrees) and the mean absolute yaw and pitch, over the same faces as the
other means (reliable ones unless the user counts all). Blinks and eye closures: ``EyeEvent`` rows and
``Track.eye_seconds``, found by the engine on every source frame (``inference.blinks``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Avg, Count, Q
from django.db.models.functions import Abs

from inference import affect
from sessions_app.models import EyeEvent, Session
from sessions_app.reliability import reliable_q
from sessions_app.services.runs import current_tracks
from sessions_app.units import percent

LOOK_AWAY_YAW = 30.0  # degrees; the attention score's pose factor is down to 0.43 there
LOOK_AWAY_PITCH = 20.0  # degrees; pose factor 0.6


def looking_away_q() -> Q:
    return (
        Q(yaw__gt=LOOK_AWAY_YAW)
        | Q(yaw__lt=-LOOK_AWAY_YAW)
        | Q(pitch__gt=LOOK_AWAY_PITCH)
        | Q(pitch__lt=-LOOK_AWAY_PITCH)
    )


def affect_row(probabilities: dict[str, float | None]) -> dict[str, float | None]:
    """``valence_estimate`` and ``arousal_estimate`` (-1..1) of mean probabilities (None: nothing counted)."""
    va = affect.valence_arousal(probabilities)
    if va is None:
        return {"valence_estimate": None, "arousal_estimate": None}
    return {
        "valence_estimate": va[0],
        "arousal_estimate": va[1],
        "affect_text": (f"{va[0]:+.2f}".replace("-", "−"), f"{va[1]:+.2f}".replace("-", "−")),  # for the page
    }


def head_pose_aggregates(counted: Q | None) -> dict[str, Any]:
    """Aggregates over the counted observations of a group: ``n_away``, ``abs_yaw``, ``abs_pitch``."""
    away = looking_away_q() if counted is None else counted & looking_away_q()
    return {
        "n_away": Count("id", filter=away),
        "abs_yaw": Avg(Abs("yaw"), filter=counted),
        "abs_pitch": Avg(Abs("pitch"), filter=counted),
    }


def head_pose_row(r: dict[str, Any]) -> dict[str, Any]:
    """The head-pose figures of one aggregated row (None where no face was counted)."""
    n = r["n"]
    return {
        "looking_away_share": (r["n_away"] / n) if n else None,
        "looking_away_percent": percent(r["n_away"] / n) if n else None,
        "mean_abs_yaw": float(r["abs_yaw"]) if n else None,
        "mean_abs_pitch": float(r["abs_pitch"]) if n else None,
    }


def eyes_status(session: Session) -> str:
    """ "measured", or why blinks are not available, in words."""
    if session.source == Session.Source.IMAGE:
        return "not available: a still image has no blinks"
    run = session.current_run
    state = ((run.model_versions or {}) if run is not None else {}).get("eyes")
    if state == "measured":
        return "measured"
    if state == "off":
        return "not available: blink detection (EMOTION_BLINKS) was off when this session was analysed"
    if state:
        return f"not available: {state}"
    return "not available: analysed before blinks were measured (re-analyse to measure them)"


def eyes_by_person(session: Session, include_unreliable: bool = False) -> dict[Any, dict[str, Any]]:
    """Per person id (None: unidentified faces): ``blinks``, ``blinks_per_minute``, ``closures`` ([(start,
    duration)]), ``seconds`` measured. Events of faces below the quality bar are left out unless
    ``include_unreliable``. Empty when blinks were not measured (``eyes_status`` says why)."""
    seconds: dict[Any, float] = defaultdict(float)
    for person_id, secs in (
        current_tracks(session).filter(eye_seconds__isnull=False).values_list("person_id", "eye_seconds")
    ):
        seconds[person_id] += secs
    if not seconds:
        return {}
    events = EyeEvent.objects.filter(session=session, run_id=session.current_run_id)
    if not include_unreliable:
        events = events.filter(reliable_q())
    blinks: dict[Any, int] = defaultdict(int)
    closures: dict[Any, list] = defaultdict(list)
    for person_id, kind, start, end in events.order_by("start").values_list("track__person_id", "kind", "start", "end"):
        if kind == EyeEvent.Kind.BLINK:
            blinks[person_id] += 1
        else:
            closures[person_id].append((start, end - start))
    return {
        pid: {
            "seconds": secs,
            "blinks": blinks[pid],
            "blinks_per_minute": (60.0 * blinks[pid] / secs) if secs > 0 else None,
            "closures": closures[pid],
        }
        for pid, secs in seconds.items()
    }
