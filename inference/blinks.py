"""Blinks and eye-closure events from eye visibility on every source frame.

A blink lasts about 100-400 ms, so a 5 fps sample cannot see one: the analyzer measures the eyes of the
faces it already tracks on every source frame between the sampled ones as well (68 landmarks on the
face's last box, no detection, no emotion net), when the source has at least :data:`MIN_FPS` frames a
second; below that blinks are "not available".

Eye visibility (0..1)
    For each eye, located by its six landmarks (36-41, 42-47), the share of pixels in a band centred on
    the eye (the eye's width, 0.6 of it tall) darker than 0.55 x the median brightness of the cheek just
    below it (a band 0.5-0.9 eye widths under the eye's centre); the mean over both eyes. An open eye
    shows iris, pupil and lash line; a closed lid is skin. The eye aspect ratio of the same landmarks
    (``attention.eye_openness``, Soukupova & Cech 2016) is what the attention score uses, but dlib's
    68-point predictor often leaves the lids apart on a closed eye at video resolutions (on the shared
    talking-face clip it read 0.25 on visibly closed frames): the predictor places the eye, the pixels
    tell whether it is open.

Events, per face
    The face's open level is the running median of its visibility over :data:`WINDOW_S` (centred); a frame
    is *closed* when its visibility is below :data:`CLOSED_RATIO` x that level. A run of closed frames
    lasting (frames / source fps) :data:`BLINK_MIN_S`-:data:`BLINK_MAX_S` is a blink (Soukupova & Cech
    2016 and the usual 100-400 ms blink duration); a longer one is an eye closure; a shorter one
    (a single frame at 25 fps) is noise. A gap of one missing frame inside a run does not break it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_FPS = 15.0  # below this a 100 ms blink can fall between two frames
WINDOW_S = 2.0
CLOSED_RATIO = 0.8
DARK_RATIO = 0.55
BLINK_MIN_S = 0.1
BLINK_MAX_S = 0.4
EYES = (range(36, 42), range(42, 48))


def availability(source_fps: float | None, kind: str = "video") -> str:
    """Why blinks cannot be measured on this media ("" when they can)."""
    if kind != "video":
        return "a still image has no blinks"
    if not source_fps or source_fps < MIN_FPS:
        rate = f"{source_fps:.0f}" if source_fps else "an unknown"
        return f"the video has {rate} frames per second; blinks (100-400 ms) need {MIN_FPS:.0f} or more"
    return ""


def eye_visibility(gray: np.ndarray, points: np.ndarray) -> float | None:
    """Mean over both eyes of the share of dark pixels around the eye (see the module's docstring);
    None when an eye's band falls outside the frame."""
    h, w = gray.shape[:2]
    out = []
    for ids in EYES:
        eye = np.asarray(points, dtype=np.float32)[list(ids)]
        x0, x1 = float(eye[:, 0].min()), float(eye[:, 0].max())
        cy = float(eye[:, 1].mean())
        ew = x1 - x0
        if ew < 4:
            return None
        ix0, ix1 = int(x0), int(x1)
        top, bottom = int(cy - 0.3 * ew), int(cy + 0.3 * ew)
        c0, c1 = int(cy + 0.5 * ew), int(cy + 0.9 * ew)
        if ix0 < 0 or top < 0 or ix1 > w or c1 > h or bottom <= top or c1 <= c0:
            return None
        band = gray[top:bottom, ix0:ix1]
        cheek = float(np.median(gray[c0:c1, ix0:ix1]))
        out.append(float((band < DARK_RATIO * cheek).mean()))
    return float(np.mean(out))


def to_gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


@dataclass
class EyeEvent:
    kind: str  # "blink" or "closure"
    start_frame: int
    end_frame: int  # last closed frame
    start: float  # seconds
    end: float  # seconds: the end of the last closed frame
    quality: float | None = None  # the face's quality on the sampled frame at or before the event's end

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
        }


def running_median(values: np.ndarray, half: int) -> np.ndarray:
    n = len(values)
    return np.array([np.median(values[max(0, i - half) : i + half + 1]) for i in range(n)])


def detect_events(frames: list[int], values: list[float], fps: float, origin: float = 0.0) -> list[EyeEvent]:
    """Blinks and closures in one face's visibility series (source frame indices and values, sorted)."""
    if not frames or not fps:
        return []
    idx = np.asarray(frames, dtype=np.int64)
    vis = np.asarray(values, dtype=np.float64)
    level = running_median(vis, max(1, int(round(WINDOW_S * fps / 2))))
    closed = vis < CLOSED_RATIO * level
    events: list[EyeEvent] = []
    run: list[int] = []

    def close_run() -> None:
        if not run:
            return
        first, last = run[0], run[-1]
        seconds = (last - first + 1) / fps
        if seconds >= BLINK_MIN_S - 1e-9:
            kind = "blink" if seconds <= BLINK_MAX_S + 1e-9 else "closure"
            events.append(EyeEvent(kind, first, last, origin + first / fps, origin + (last + 1) / fps))
        run.clear()

    for i, frame in zip(range(len(idx)), idx.tolist(), strict=True):
        if closed[i] and (not run or frame - run[-1] <= 2):
            run.append(frame)
        elif closed[i]:
            close_run()
            run.append(frame)
        else:
            close_run()
    close_run()
    return events
