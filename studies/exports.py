"""A study's downloads, streamed: the project's tidy long CSV (one row per person per analysed frame),
the comparison tables, and an ELAN .eaf file per session (pympi-ling writes and reads the format).

The long CSV reads one session at a time through a server-side cursor (``.iterator(chunk_size=...)``):
a project of 100 one-hour sessions never sits in memory. Participant codes stand for people; names are
written only when asked for (``names``, which the view allows to roles that may change people).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
from pympi import Elan

from inference.classes import EMOTIONS
from sessions_app.exports import csv_lines, fixed
from sessions_app.models import Observation, Session
from sessions_app.reliability import is_reliable, reliable_q
from studies.models import ParticipantLink, SessionCondition
from studies.services.aggregate import DERIVED, STORED, affect

CHUNK = 2000
EXTRA = ["yaw", "pitch", "roll", "eye_openness"]
VALUES = ["time", *STORED, *EXTRA, "quality"]


def long_columns(names: bool) -> list[str]:
    who = ["participant", "person", *(["person_name"] if names else [])]
    return [*who, "condition", "session", *VALUES, *DERIVED, "reliable"]


def derived(rec: dict[str, Any]) -> dict[str, Any]:
    """The derived measures of one frame (inference.affect's estimate), as the study's figures compute them."""
    if not DERIVED:
        return {}
    va = affect.valence_arousal([rec[e] for e in EMOTIONS])
    return {"valence_estimate": va[0] if va else None, "arousal_estimate": va[1] if va else None}


def _labels_at(assignments: list[tuple[float | None, float | None, str]], t: float) -> str:
    """The labels covering time ``t``, sorted and joined with ``|``."""
    return "|".join(sorted({label for start, end, label in assignments if start is None or start <= t < end}))


def long_rows(project, names: bool = False) -> Iterator[dict[str, Any]]:
    """Session by session, frame by frame: a dict per person on a frame (people not yet identified are
    left out). ``condition`` joins the labels that cover the frame's time, sorted, with ``|``."""
    codes = dict(
        ParticipantLink.objects.filter(participant__project=project).values_list("person_id", "participant__code")
    )
    sessions = Session.objects.filter(project=project, current_run__isnull=False).order_by("created", "pk")
    for sid, run_id in sessions.values_list("pk", "current_run_id"):
        assignments = list(
            SessionCondition.objects.filter(session_id=sid)
            .order_by("start", "pk")
            .values_list("start", "end", "condition__label")
        )
        fields = ["person_id", "person__number", "person__name", *VALUES]
        qs = (
            Observation.objects.filter(session_id=sid, run_id=run_id, person__isnull=False)
            .order_by("frame_index", "slot")
            .values_list(*fields)
        )
        for row in qs.iterator(chunk_size=CHUNK):
            rec = dict(zip(fields, row, strict=True))
            pid, number, name = rec.pop("person_id"), rec.pop("person__number"), rec.pop("person__name")
            out = {"participant": codes.get(pid, ""), "person": f"Person {number}"}
            if names:
                out["person_name"] = name or f"Person {number}"
            yield fixed(
                {
                    **out,
                    "condition": _labels_at(assignments, rec["time"]),
                    "session": sid,
                    **rec,
                    **derived(rec),
                    "reliable": is_reliable(rec["quality"]),
                }
            )


def long_csv(project, names: bool = False) -> Iterator[str]:
    return csv_lines(long_columns(names), long_rows(project, names))


COMPARISON_COLUMNS = [
    "level",
    "condition",
    "participant",
    "measure",
    "mean",
    "ci_low",
    "ci_high",
    "n_participants",
    "n_frames",
    "baseline",
    "counted",
]


def comparison_rows(result: dict) -> Iterator[dict[str, Any]]:
    """The comparison's tables, long: across-participant rows (with intervals), per-participant rows, and
    the paired differences."""
    common = {
        "baseline": "corrected" if result["baseline"] else "none",
        "counted": "all faces" if result["include_unreliable"] else "reliable faces",
    }
    blank = {"participant": "", "ci_low": None, "ci_high": None, "n_participants": None}
    for cond in result["conditions"]:
        for m, a in cond["across"].items():
            yield {"level": "across", "condition": cond["condition"], "participant": "", "measure": m, **a, **common}
        for p in cond["participants"]:
            for m, v in p["means"].items():
                yield {
                    **blank,
                    "level": "participant",
                    "condition": cond["condition"],
                    "participant": p["participant"],
                    "measure": m,
                    "mean": v,
                    "n_participants": 1,
                    "n_frames": p["n_frames"],
                    **common,
                }
    paired = result.get("paired")
    if paired:
        for m, a in paired["across"].items():
            yield {"level": "paired", "condition": paired["difference"], "participant": "", "measure": m, **a, **common}
        for p in paired["participants"]:
            for m, v in p["differences"].items():
                yield {
                    **blank,
                    "level": "paired_participant",
                    "condition": paired["difference"],
                    "participant": p["participant"],
                    "measure": m,
                    "mean": v,
                    "n_participants": 1,
                    "n_frames": None,
                    **common,
                }


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}


def comparison_csv(result: dict) -> Iterator[str]:
    return csv_lines(COMPARISON_COLUMNS, (_rounded(r) for r in comparison_rows(result)))


# --------------------------------------------------------------------------- ELAN
MARKER_TIER = "markers"
MIN_MS = 1


def dominant_intervals(rows: Iterator[tuple], step: float) -> Iterator[tuple[float, float, str]]:
    """(start, end, emotion) runs of frames with the same dominant emotion, from (time, *probabilities) rows
    in time order; a gap longer than two sampling steps ends a run, a run ends one step after its last
    frame (or at the next frame)."""
    run: list = []  # [start, last, label]
    for row in rows:
        t, probs = row[0], row[1:]
        label = EMOTIONS[int(np.argmax(probs))]
        if run and (label != run[2] or t - run[1] > 2 * step):
            end = t if t - run[1] <= 2 * step else run[1] + step
            yield run[0], end, run[2]
            run = []
        if not run:
            run = [t, t, label]
        else:
            run[1] = t
    if run:
        yield run[0], run[1] + step, run[2]


def session_eaf(session: Session, media_url: str, media_type: str, names: bool, include_unreliable: bool) -> str:
    """The session as an ELAN file in a temporary path (the caller streams and removes it): one tier per
    participant (or person without a code) with dominant-emotion intervals, one tier of markers, the video
    linked by ``media_url``."""
    eaf = Elan.Eaf(author="emotion-sessions")
    eaf.remove_tier("default")
    if media_url:
        eaf.add_linked_file(media_url, mimetype=media_type)
    step = 1.0 / (session.sample_fps or 5.0)
    codes = dict(
        ParticipantLink.objects.filter(participant__project_id=session.project_id).values_list(
            "person_id", "participant__code"
        )
    )
    qs = Observation.objects.filter(session=session, run_id=session.current_run_id, person__isnull=False)
    if not include_unreliable:
        qs = qs.filter(reliable_q())
    people = qs.order_by().values_list("person_id", "person__number", "person__name").distinct()
    for pid, number, name in sorted(set(people), key=lambda r: r[1]):
        tier = codes.get(pid) or f"Person {number}"
        if names:
            tier = f"{tier} ({name or f'Person {number}'})"
        if tier in eaf.get_tier_names():
            tier = f"{tier} #{number}"
        eaf.add_tier(tier)
        rows = qs.filter(person_id=pid).order_by("time", "slot").values_list("time", *EMOTIONS)
        for start, end, label in dominant_intervals(rows.iterator(chunk_size=CHUNK), step):
            a, b = int(round(start * 1000)), int(round(end * 1000))
            if b - a >= MIN_MS:
                eaf.add_annotation(tier, a, b, label)
    eaf.add_tier(MARKER_TIER)
    for t, note in session.markers.order_by("time", "pk").values_list("time", "note"):
        a = int(round(t * 1000))
        eaf.add_annotation(MARKER_TIER, a, a + max(MIN_MS, int(step * 1000)), note or "marker")
    fd, path = tempfile.mkstemp(suffix=".eaf")
    os.close(fd)
    Elan.to_eaf(path, eaf)
    return path


def file_chunks(path: str, size: int = 64 * 1024) -> Iterator[bytes]:
    """The file's bytes in chunks; removed once read (or when the download is abandoned)."""
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(size):
                yield chunk
    finally:
        os.unlink(path)
