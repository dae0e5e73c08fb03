"""How usable a face crop is for identity (and emotion): size, sharpness, head pose, detector score.

:func:`measure` takes the raw measures of one face; :func:`quality_score` folds them into 0..1
(a product of one factor per measure, each a clamped linear ramp), so one number ranks a track's
faces and gates which become references. The ramps (``RAMPS``) are where a factor reaches 0 and 1:

* ``size``: the face box's shorter side in px: below ~40 px dlib's descriptor degrades quickly;
* ``sharpness``: the variance of the Laplacian of the face, grey, resized to 96 x 96 px (so it does
  not depend on the face's size): motion blur and defocus give low values;
* ``pose``: falls from 1 at 20 deg yaw / 15 deg pitch to 0 at 60 / 45 deg (the generic 3D model
  overstates yaw a little);
* ``detection``: dlib's HOG score (``faces.detect_scored``); absent (a face carried by landmarks)
  counts as 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from inference.attention import head_pose

VERSION = 1  # bump when a measure changes (caches of measures key on it)
SHARPNESS_SIDE = 96
# measure -> (value giving factor 0, value giving factor 1)
RAMPS = {
    "size": (28.0, 64.0),
    "sharpness": (10.0, 60.0),
    "detection": (-0.5, 0.3),
}
POSE_FRONTAL = (20.0, 15.0)  # |yaw|, |pitch| (deg) with no penalty
POSE_LIMIT = (60.0, 45.0)  # |yaw|, |pitch| (deg) where the pose factor reaches 0
MIN_QUALITY = 0.25  # below this a face never becomes an identity reference


@dataclass(frozen=True)
class FaceQuality:
    size: float
    sharpness: float
    yaw: float
    pitch: float
    detection: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _ramp(value: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (value - lo) / (hi - lo))))


def sharpness(image_rgb: np.ndarray, box) -> float:
    """Variance of the Laplacian of the face box, grey, resized to ``SHARPNESS_SIDE`` px square."""
    top, right, bottom, left = (int(v) for v in box)
    h, w = image_rgb.shape[:2]
    crop = image_rgb[max(0, top) : min(h, bottom), max(0, left) : min(w, right)]
    if crop.size == 0 or crop.shape[0] < 4 or crop.shape[1] < 4:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    side = SHARPNESS_SIDE
    interp = cv2.INTER_AREA if grey.shape[0] > side else cv2.INTER_LINEAR
    grey = cv2.resize(grey, (side, side), interpolation=interp)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def measure(image_rgb: np.ndarray, box, landmarks: np.ndarray, detection: float | None = None) -> FaceQuality:
    """The raw quality measures of one face (box ``(top, right, bottom, left)``, 68 landmarks)."""
    top, right, bottom, left = box
    h, w = image_rgb.shape[:2]
    yaw, pitch, _ = head_pose(np.asarray(landmarks, dtype=np.float64), w, h)
    return FaceQuality(
        size=float(min(bottom - top, right - left)),
        sharpness=round(sharpness(image_rgb, box), 3),
        yaw=round(float(yaw), 2),
        pitch=round(float(pitch), 2),
        detection=None if detection is None else round(float(detection), 4),
    )


def pose_factor(yaw: float, pitch: float) -> float:
    (fy, fp), (ly, lp) = POSE_FRONTAL, POSE_LIMIT
    excess = max((abs(yaw) - fy) / (ly - fy), (abs(pitch) - fp) / (lp - fp), 0.0)
    return float(max(0.0, 1.0 - excess))


def quality_score(q: FaceQuality) -> float:
    """0 (unusable) .. 1 (large, sharp, frontal, confidently detected)."""
    score = _ramp(q.size, *RAMPS["size"]) * _ramp(q.sharpness, *RAMPS["sharpness"]) * pose_factor(q.yaw, q.pitch)
    if q.detection is not None:
        score *= 0.5 + 0.5 * _ramp(q.detection, *RAMPS["detection"])
    return round(score, 4)


def usable(q: FaceQuality, minimum: float = MIN_QUALITY) -> bool:
    return quality_score(q) >= minimum
