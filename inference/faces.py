"""Face detection, 68-point landmarks and 128-d embeddings (face_recognition / dlib).

Boxes are ``(top, right, bottom, left)`` ints in the coordinates of the frame passed
in (face_recognition's "css" order). Landmarks are ``(68, 2)`` float arrays of
``(x, y)`` in the iBUG 300-W order.

Detection runs on a downscaled copy of the frame. :func:`detection_plan` picks the
scale and the number of upsamplings: large frames are shrunk towards ``target`` px
on their longest side; small frames are upsampled so that their small faces stay
above the ~80 px window of the HOG detector.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # top, right, bottom, left

HOG_WINDOW = 80  # smallest face (px) the dlib HOG detector finds at its working scale


@functools.lru_cache(maxsize=1)
def _fr():
    """Import face_recognition once (it loads dlib models at import, ~0.5 s)."""
    from PIL import ImageFile

    # face_recognition sets Pillow's process-wide LOAD_TRUNCATED_IMAGES at import; keep truncated uploads refused.
    load_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition
        import face_recognition.api as api
    ImageFile.LOAD_TRUNCATED_IMAGES = load_truncated
    return face_recognition, api


def load_models() -> None:
    """Load the dlib models now (detector, 68-point predictor, encoder)."""
    _fr()


@dataclass(frozen=True)
class DetectionPlan:
    scale: float
    upsample: int


def detection_plan(
    width: int, height: int, target: int = 640, small: int = 720, small_target: int = 480
) -> DetectionPlan:
    """Scale and upsampling for a frame of this size.

    * frames whose longest side is above ``small`` are shrunk to ``target`` px on
      their longest side and scanned once (faces from ~80 x longest/target px);
    * smaller frames (phone clips, 640x360 streams, thumbnails) are shrunk to at most
      ``small_target`` px and upsampled once (x2), so faces down to ~40-55 original
      pixels are still found.
    """
    longest = max(width, height)
    if longest <= 0:
        return DetectionPlan(1.0, 0)
    if longest > small:
        return DetectionPlan(scale=min(1.0, target / float(longest)), upsample=0)
    return DetectionPlan(scale=min(1.0, small_target / float(longest)), upsample=1)


def _clip_box(box, width: int, height: int) -> Box:
    top, right, bottom, left = (int(round(v)) for v in box)
    return max(0, top), min(width, right), min(height, bottom), max(0, left)


def detect(
    frame_rgb: np.ndarray,
    model: str = "hog",
    target: int = 640,
    plan: DetectionPlan | None = None,
) -> list[Box]:
    """Face boxes in original coordinates, sorted left to right.

    ``model`` is ``"hog"`` (CPU, default) or ``"cnn"`` (dlib's MMOD CNN, slow on CPU).
    """
    return [box for box, _ in detect_scored(frame_rgb, model=model, target=target, plan=plan)]


def detect_scored(
    frame_rgb: np.ndarray,
    model: str = "hog",
    target: int = 640,
    plan: DetectionPlan | None = None,
) -> list[tuple[Box, float]]:
    """Like :func:`detect`, with the detector's score of each box (HOG: SVM margin, 0 at its
    threshold; CNN: MMOD confidence): :mod:`inference.quality` uses it."""
    fr, api = _fr()
    if model not in ("hog", "cnn"):
        raise ValueError(f"unknown detector {model!r}; use 'hog' or 'cnn'")
    h, w = frame_rgb.shape[:2]
    plan = plan or detection_plan(w, h, target=target)
    small = frame_rgb
    if plan.scale < 0.999:
        small = cv2.resize(
            frame_rgb, (max(1, round(w * plan.scale)), max(1, round(h * plan.scale))), interpolation=cv2.INTER_AREA
        )
    small = np.ascontiguousarray(small)
    sh, sw = small.shape[:2]
    if model == "hog":  # what face_recognition.face_locations runs, keeping the scores
        rects, scores, _ = api.face_detector.run(small, plan.upsample, 0.0)
        found = [((r.top(), r.right(), r.bottom(), r.left()), float(sc)) for r, sc in zip(rects, scores, strict=False)]
    else:
        found = [
            ((d.rect.top(), d.rect.right(), d.rect.bottom(), d.rect.left()), float(d.confidence))
            for d in api.cnn_face_detector(small, plan.upsample)
        ]
    # face_recognition trims boxes to the image ("_trim_css_to_bounds") before scaling back
    found = [((max(t, 0), min(r, sw), min(b, sh), max(lf, 0)), sc) for (t, r, b, lf), sc in found]
    inv = 1.0 / plan.scale
    out = [(_clip_box((t * inv, r * inv, b * inv, lf * inv), w, h), sc) for (t, r, b, lf), sc in found]
    out = [(b, sc) for b, sc in out if b[2] - b[0] >= 4 and b[1] - b[3] >= 4]
    return sorted(out, key=lambda item: (item[0][3], item[0][0]))


def detect_in_roi(
    frame_rgb: np.ndarray, box: Box, grow: float = 0.6, model: str = "hog", threshold: float = -0.4
) -> list[Box]:
    """Re-detect around ``box`` (grown by ``grow`` x its size on each side), scaled so the
    face is about 100 px: a cheap check that a tracked face is still there.

    With HOG the detector's score threshold is lowered by ``threshold`` (dlib's
    ``adjust_threshold``): next to a known track a weaker detection is still trusted.
    """
    fr, api = _fr()
    h, w = frame_rgb.shape[:2]
    top, right, bottom, left = box
    bw, bh = right - left, bottom - top
    size = max(bw, bh, 1)
    x0, x1 = max(0, int(left - grow * bw)), min(w, int(right + grow * bw))
    y0, y1 = max(0, int(top - grow * bh)), min(h, int(bottom + grow * bh))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    crop = frame_rgb[y0:y1, x0:x1]
    scale = 100.0 / size
    scaled = cv2.resize(
        crop,
        (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    scaled = np.ascontiguousarray(scaled)
    if model == "hog":
        rects, _, _ = api.face_detector.run(scaled, 0, threshold)
        sh, sw = scaled.shape[:2]
        found = [(max(r.top(), 0), min(r.right(), sw), min(r.bottom(), sh), max(r.left(), 0)) for r in rects]
    else:
        found = fr.face_locations(scaled, number_of_times_to_upsample=0, model=model)
    inv = 1.0 / scale
    return [_clip_box((t * inv + y0, r * inv + x0, b * inv + y0, lf * inv + x0), w, h) for (t, r, b, lf) in found]


def _rect(box: Box):
    import dlib

    top, right, bottom, left = box
    return dlib.rectangle(int(left), int(top), int(right), int(bottom))


def landmarks(frame_rgb: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    """68 (x, y) landmarks per box (dlib's shape predictor; ~1-3 ms a face)."""
    _, api = _fr()
    frame_rgb = np.ascontiguousarray(frame_rgb)
    out = []
    for box in boxes:
        shape = api.pose_predictor_68_point(frame_rgb, _rect(box))
        out.append(np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32))
    return out


def embeddings(frame_rgb: np.ndarray, boxes: list[Box], num_jitters: int = 1) -> list[np.ndarray]:
    """128-d face embeddings (face_recognition.face_encodings on the given boxes)."""
    if not boxes:
        return []
    fr, _ = _fr()
    frame_rgb = np.ascontiguousarray(frame_rgb)
    return [
        np.asarray(e, dtype=np.float32)
        for e in fr.face_encodings(frame_rgb, known_face_locations=list(boxes), num_jitters=num_jitters)
    ]


def face_distance(a, b) -> float:
    """Euclidean distance between two embeddings (face_recognition's metric)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)))


def box_from_landmarks(
    points: np.ndarray, width: int, height: int, ratios: tuple[float, float, float, float] | None = None
) -> Box:
    """A detector-like box from 68 landmarks.

    ``ratios`` (top, right, bottom, left offsets as fractions of the landmark extent)
    come from :func:`landmark_ratios` on a detection, so the box keeps the detector's
    framing while it is carried by landmarks between detections.
    """
    xs, ys = points[:, 0], points[:, 1]
    lx0, lx1 = float(xs.min()), float(xs.max())
    ly0, ly1 = float(ys.min()), float(ys.max())
    lw, lh = max(lx1 - lx0, 1.0), max(ly1 - ly0, 1.0)
    rt, rr, rb, rl = ratios or (0.15, 0.0, 0.0, 0.0)
    return _clip_box((ly0 - rt * lh, lx1 + rr * lw, ly1 + rb * lh, lx0 - rl * lw), width, height)


def landmark_ratios(box: Box, points: np.ndarray) -> tuple[float, float, float, float]:
    xs, ys = points[:, 0], points[:, 1]
    lx0, lx1 = float(xs.min()), float(xs.max())
    ly0, ly1 = float(ys.min()), float(ys.max())
    lw, lh = max(lx1 - lx0, 1.0), max(ly1 - ly0, 1.0)
    top, right, bottom, left = box
    return ((ly0 - top) / lh, (right - lx1) / lw, (bottom - ly1) / lh, (lx0 - left) / lw)


def iou(a: Box, b: Box) -> float:
    at, ar, ab, al = a
    bt, br, bb, bl = b
    iw = min(ar, br) - max(al, bl)
    ih = min(ab, bb) - max(at, bt)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (ar - al) * (ab - at) + (br - bl) * (bb - bt) - inter
    return inter / union if union > 0 else 0.0
