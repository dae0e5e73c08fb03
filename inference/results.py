"""Typed results of an analysis; ``to_dict()`` gives plain JSON types."""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.classes import EMOTIONS


@dataclass
class FaceResult:
    track_id: int
    slot: int  # position of the face in its frame, left to right, from 0
    box: tuple[int, int, int, int]  # top, right, bottom, left (pixels of the original frame)
    probabilities: dict[str, float]  # canonical order (inference.classes.EMOTIONS)
    emotion: str
    confidence: float
    attention: float
    yaw: float
    pitch: float
    roll: float
    eye_openness: float
    person: str | None = None  # known person id / name when matched
    quality: float | None = None  # face quality 0..1 (inference.quality: size, blur, pose, detection score)
    uncertainty: float | None = None  # normalised entropy of the calibrated probabilities, 0 (sure) .. 1

    def to_dict(self) -> dict:
        return {
            "track_id": int(self.track_id),
            "slot": int(self.slot),
            "box": [int(v) for v in self.box],
            "probabilities": {k: float(self.probabilities[k]) for k in EMOTIONS},
            "emotion": self.emotion,
            "confidence": float(self.confidence),
            "attention": float(self.attention),
            "yaw": float(self.yaw),
            "pitch": float(self.pitch),
            "roll": float(self.roll),
            "eye_openness": float(self.eye_openness),
            "person": self.person,
            "quality": None if self.quality is None else float(self.quality),
            "uncertainty": None if self.uncertainty is None else float(self.uncertainty),
        }


@dataclass
class FrameResult:
    index: int
    time: float
    faces: list[FaceResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"index": int(self.index), "time": float(self.time), "faces": [f.to_dict() for f in self.faces]}


@dataclass
class PersonSummary:
    track_id: int  # the merged track id
    person: str | None
    frames: int
    time_on_screen: float  # seconds (frames seen x the sampling interval)
    first_time: float
    last_time: float
    mean_probabilities: dict[str, float]
    dominant_emotion: str
    mean_attention: float
    track_ids: list[int] = field(default_factory=list)  # tracks merged into this one

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id,
            "person": self.person,
            "frames": self.frames,
            "time_on_screen": round(self.time_on_screen, 3),
            "first_time": round(self.first_time, 3),
            "last_time": round(self.last_time, 3),
            "mean_probabilities": {k: round(float(self.mean_probabilities[k]), 5) for k in EMOTIONS},
            "dominant_emotion": self.dominant_emotion,
            "mean_attention": round(self.mean_attention, 4),
            "track_ids": list(self.track_ids),
        }
