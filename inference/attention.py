"""Head pose, eye openness and an attention score from 68 facial landmarks.

Head pose
    ``cv2.solvePnP`` fits a generic 6-point 3D face (nose tip 30, chin 8, outer eye
    corners 36/45, mouth corners 48/54; millimetre-like units, camera-aligned axes:
    x to the image right, y down, z away from the camera) to the 2D landmarks with a
    pinhole camera whose focal length is the frame width and whose centre is the
    frame centre. The rotation is reported as Euler angles in degrees:
    ``yaw`` about the vertical axis (positive when the face turns towards the image's
    right side; mirroring the image flips its sign), ``pitch`` about the horizontal
    axis (positive when the face looks up), ``roll`` in the image plane.

Eye openness
    The eye aspect ratio (EAR, Soukupova & Cech 2016) of each eye,
    ``(|p2-p6| + |p3-p5|) / (2 |p1-p4|)``, averaged over both eyes: about 0.25-0.35
    for open eyes, below ~0.15 when closed.

Attention score (0..1), each face on its own::

    pose_factor = clamp(1 - max((|yaw| - 10) / 35, (|pitch| - 10) / 25, 0), 0, 1)
    eye_factor  = clamp((eye_openness - 0.12) / (0.20 - 0.12), 0, 1)
    attention   = pose_factor * eye_factor

i.e. full attention while the head is within 10 degrees of facing the camera and
the eyes are open, falling linearly to 0 at 45 degrees of yaw or 35 of pitch, or
with the eyes closed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip (30)
        (0.0, 330.0, 65.0),  # chin (8)
        (-225.0, -170.0, 135.0),  # image-left eye, outer corner (36)
        (225.0, -170.0, 135.0),  # image-right eye, outer corner (45)
        (-150.0, 150.0, 125.0),  # image-left mouth corner (48)
        (150.0, 150.0, 125.0),  # image-right mouth corner (54)
    ],
    dtype=np.float64,
)
LANDMARK_IDS = [30, 8, 36, 45, 48, 54]
LEFT_EYE = list(range(36, 42))
RIGHT_EYE = list(range(42, 48))


@dataclass
class Attention:
    yaw: float
    pitch: float
    roll: float
    eye_openness: float
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


def _clamp(v: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if v < lo else hi if v > hi else v


def eye_aspect_ratio(eye: np.ndarray) -> float:
    p1, p2, p3, p4, p5, p6 = eye.astype(np.float64)
    width = np.linalg.norm(p1 - p4)
    if width < 1e-6:
        return 0.0
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * width))


def eye_openness(points: np.ndarray) -> float:
    return 0.5 * (eye_aspect_ratio(points[LEFT_EYE]) + eye_aspect_ratio(points[RIGHT_EYE]))


def head_pose(points: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from 68 landmarks in a ``width`` x ``height`` frame."""
    image_points = np.ascontiguousarray(points[LANDMARK_IDS].astype(np.float64))
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]], dtype=np.float64)
    # initial guess: frontal, at a plausible distance, so the iterative solver starts near the answer
    eye_dist = np.linalg.norm(image_points[2] - image_points[3]) or 1.0
    z0 = focal * 450.0 / eye_dist
    cx, cy = image_points[0]
    tvec0 = np.array([[(cx - width / 2.0) * z0 / focal], [(cy - height / 2.0) * z0 / focal], [z0]])
    rvec0 = np.zeros((3, 1))
    ok, rvec, _ = cv2.solvePnP(MODEL_POINTS, image_points, camera, None, rvec0, tvec0, True, cv2.SOLVEPNP_ITERATIVE)[:3]
    if not ok:
        return 0.0, 0.0, 0.0
    rot, _ = cv2.Rodrigues(rvec)
    # R maps model (face) axes to camera axes; R = Rz(roll) Ry(yaw) Rx(pitch)
    yaw = math.degrees(math.atan2(-rot[2, 0], math.hypot(rot[0, 0], rot[1, 0])))
    pitch = math.degrees(math.atan2(rot[2, 1], rot[2, 2]))
    roll = math.degrees(math.atan2(rot[1, 0], rot[0, 0]))
    # camera y points down: a face looking up rotates its front (-z) towards -y
    return -yaw, -pitch, roll


def attention_score(yaw: float, pitch: float, openness: float) -> float:
    pose_factor = _clamp(1.0 - max((abs(yaw) - 10.0) / 35.0, (abs(pitch) - 10.0) / 25.0, 0.0))
    eye_factor = _clamp((openness - 0.12) / (0.20 - 0.12))
    return pose_factor * eye_factor


def analyse(points: np.ndarray, width: int, height: int) -> Attention:
    """Pose, eye openness and attention of one face."""
    yaw, pitch, roll = head_pose(points, width, height)
    openness = eye_openness(points)
    return Attention(
        yaw=round(yaw, 2),
        pitch=round(pitch, 2),
        roll=round(roll, 2),
        eye_openness=round(openness, 4),
        score=round(attention_score(yaw, pitch, openness), 4),
    )
