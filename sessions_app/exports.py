"""Downloads of a session's data: tidy per-observation CSV/JSON and a per-person summary CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from emotionsite.csvstream import csv_lines
from inference import affect
from inference.classes import EMOTIONS
from sessions_app.models import Session
from sessions_app.reliability import is_reliable
from sessions_app.selectors import people_summary
from sessions_app.services.runs import current_observations
from sessions_app.timefmt import clock

# The stored values of an observation, in export order; the person columns come first.
OBSERVATION_VALUES = [
    "time",
    "frame_index",
    "slot",
    "box_top",
    "box_right",
    "box_bottom",
    "box_left",
    *EMOTIONS,
    "attention",
    "yaw",
    "pitch",
    "roll",
    "eye_openness",
    "quality",
    "uncertainty",
]
# ``reliable``: the face is at or above the quality bar (no score: stored before it was measured)
# derived from the probabilities (inference.affect: a placement of the categories, not a measurement)
DERIVED = ["valence_estimate", "arousal_estimate"]
OBSERVATION_COLUMNS = [
    "session", "person_id", "person_name", *OBSERVATION_VALUES, *DERIVED, "reliable", "weights_version",
]  # fmt: skip
MARKER_COLUMNS = ["time", "time_mmss", "note", "author", "created"]
PEOPLE_COLUMNS = [
    "person_id",
    "person_name",
    "frames",
    "time_on_screen",
    "reliable_share",
    *EMOTIONS,
    "dominant",
    "attention",
    *DERIVED,
    "looking_away_share",
    "mean_abs_yaw",
    "mean_abs_pitch",
    "blinks",
    "blinks_per_minute",
    "eye_closures",
    "eye_closure_times",
    "eyes",
    "counted",
    "weights_version",
]
# Decimals written per column: values are rounded at write time so no float noise (0.19136699999999995)
# reaches a spreadsheet; a value that was not measured stays None (an empty cell, JSON null).
DECIMALS = {
    "time": 3,
    "time_on_screen": 3,
    **dict.fromkeys([*EMOTIONS, "attention", "eye_openness", "quality", "uncertainty", "reliable_share", *DERIVED], 4),
    **dict.fromkeys(["yaw", "pitch", "roll", "mean_abs_yaw", "mean_abs_pitch", "blinks_per_minute"], 2),
    "looking_away_share": 4,
}


def fixed(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its float values rounded to the column's decimals (None stays None)."""
    return {k: round(v, DECIMALS[k]) if isinstance(v, float) and k in DECIMALS else v for k, v in row.items()}


def observation_rows(session: Session) -> Iterator[dict[str, Any]]:
    """One dict per person per sampled frame, in frame order, read with a server-side cursor."""
    fields = ["person_id", "person__name", "person__number", *OBSERVATION_VALUES]
    qs = current_observations(session).order_by("frame_index", "slot").values_list(*fields)
    version = session.emotion_weights_version
    for row in qs.iterator(chunk_size=2000):
        rec = dict(zip(fields, row, strict=True))
        pid, name, number = rec.pop("person_id"), rec.pop("person__name"), rec.pop("person__number")
        display = (name or f"Person {number}") if pid is not None else ""
        va = affect.valence_arousal([rec[e] for e in EMOTIONS])
        yield fixed(
            {
                "session": session.pk,
                "person_id": pid,
                "person_name": display,
                **rec,
                "valence_estimate": va[0] if va else None,
                "arousal_estimate": va[1] if va else None,
                "reliable": is_reliable(rec["quality"]),
                "weights_version": version,
            }
        )


def observations_csv(session: Session) -> Iterator[str]:
    return csv_lines(OBSERVATION_COLUMNS, observation_rows(session))


def observations_json(session: Session) -> Iterator[str]:
    """A JSON array of observation objects, streamed row by row."""
    yield "["
    first = True
    for row in observation_rows(session):
        yield ("" if first else ",") + "\n" + json.dumps(row)
        first = False
    yield "\n]\n"


def people_rows(session: Session, include_unreliable: bool = False) -> list[dict[str, Any]]:
    """Per person; the means count reliable faces only unless ``include_unreliable`` (column ``counted``).
    A person with no counted face has empty means, not zeros."""
    rows = []
    for p in people_summary(session, include_unreliable):
        rows.append(
            fixed(
                {
                    "person_id": p["id"],
                    "person_name": p["name"],
                    "frames": p["frames"],
                    "time_on_screen": p["time_on_screen"],
                    "reliable_share": p["reliable_share"],
                    **p["probabilities"],
                    "dominant": p["dominant"],
                    "attention": p["attention"],
                    "valence_estimate": p["valence_estimate"],
                    "arousal_estimate": p["arousal_estimate"],
                    "looking_away_share": p["looking_away_share"],
                    "mean_abs_yaw": p["mean_abs_yaw"],
                    "mean_abs_pitch": p["mean_abs_pitch"],
                    "blinks": p["eyes"]["blinks"] if p["eyes"] else None,
                    "blinks_per_minute": p["eyes"]["blinks_per_minute"] if p["eyes"] else None,
                    "eye_closures": len(p["eyes"]["closures"]) if p["eyes"] else None,
                    "eye_closure_times": "; ".join(f"{a:.2f}+{d:.2f}" for a, d in p["eyes"]["closures"])
                    if p["eyes"]
                    else None,
                    "eyes": p["eyes_status"],
                    "counted": "all faces" if include_unreliable else "reliable faces",
                    "weights_version": session.emotion_weights_version,
                }
            )
        )
    return rows


def people_csv(session: Session, include_unreliable: bool = False) -> Iterator[str]:
    return csv_lines(PEOPLE_COLUMNS, people_rows(session, include_unreliable))


def markers_csv(session: Session) -> Iterator[str]:
    """The session's markers in time order; ``time_mmss`` as the pages show it."""
    rows = (
        {
            "time": round(m.time, 3),
            "time_mmss": clock(m.time),
            "note": m.note,
            "author": m.author.get_username() if m.author else "",
            "created": m.created.isoformat(timespec="seconds"),
        }
        for m in session.markers.select_related("author").order_by("time", "pk")
    )
    return csv_lines(MARKER_COLUMNS, rows)
