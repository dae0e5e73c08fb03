"""How FER-2013 frames its faces, and which production crop matches it: ``python -m training.framing``.

The classifier learnt FER-2013's framing (where eyes, nose and mouth sit in the 48 px
image). The platform crops faces from video around the detector's box; if that crop
frames faces differently, accuracy drops before any domain shift. This tool:

1. runs the platform's own detector and 68-point landmarks on FER-2013's validation
   images (enlarged x4 and padded, so the detector sees a face with surroundings),
   and maps the landmarks back to 48 px coordinates;
2. takes their mean as FER-2013's *framing template*, and from the same detections
   the box rule (scale and vertical offset against the detector's box) that frames
   like it on average;
3. scores the validation images through each crop (the original image, today's box
   crop, the fitted box crop, the landmark-to-template crop) with a weights file.

Only FER-2013's validation split is used: no evaluation set takes part in the choice.
The result (model card, "what did not help"): today's crop already frames like FER-2013,
so the platform keeps it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

from inference.emotion.classifier import CROP_SCALE, EmotionClassifier, face_crop, warp_crop
from training import data as fer

ENLARGE = 4
PAD = 64  # px of replicated border around the enlarged image: the HOG detector needs context
# Brows, nose, eyes and mouth: the jaw line (0-16) moves with pose and is left out of the fit.
STABLE = np.arange(17, 68)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + translation mapping ``src`` points onto ``dst`` best
    in least squares (Umeyama 1991), with no reflection."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - mu_s, dst - mu_d
    var = (s0**2).sum() / len(src)
    if var <= 1e-12:
        raise ValueError("landmarks are degenerate")
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    flip = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        flip[1, 1] = -1
    rot = u @ flip @ vt
    scale = float(np.trace(np.diag(sig) @ flip) / var)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def template_crop(frame: np.ndarray, points: np.ndarray, template: np.ndarray, size: int = 48) -> np.ndarray:
    """A ``size`` px grey crop in which the face's landmarks fall on FER-2013's template."""
    m = similarity(points[STABLE], template[STABLE] * (size / 48.0))
    return warp_crop(frame, m, size)


def box_crop(
    frame: np.ndarray, box, points: np.ndarray | None, scale: float, offset: float, size: int = 48
) -> np.ndarray:
    """The platform's crop with another rule: a square of ``scale`` x the box side around the box
    centre moved ``offset`` x side down the face (the eye line gives "down")."""
    top, right, bottom, left = (float(v) for v in box)
    side = max(right - left, bottom - top, 2.0)
    angle = 0.0
    if points is not None and len(points) >= 48:
        le, re = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
        angle = math.atan2(float(re[1] - le[1]), float(re[0] - le[0]))
    cx = (left + right) / 2.0 - math.sin(angle) * offset * side
    cy = (top + bottom) / 2.0 + math.cos(angle) * offset * side
    half = side * scale / CROP_SCALE / 2.0  # face_crop widens the box by CROP_SCALE itself
    return face_crop(frame, (cy - half, cx + half, cy + half, cx - half), points, size=size)


def detect_fer_faces(images: np.ndarray) -> tuple[np.ndarray, list, list]:
    """Indices of images with exactly one detected face, their boxes and landmarks (48 px coordinates)."""
    from inference import faces

    plan = faces.DetectionPlan(scale=1.0, upsample=0)
    keep, boxes, points = [], [], []
    for i, img in enumerate(images):
        big = cv2.resize(img, None, fx=ENLARGE, fy=ENLARGE, interpolation=cv2.INTER_CUBIC)
        big = cv2.copyMakeBorder(big, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
        rgb = np.ascontiguousarray(np.repeat(big[:, :, None], 3, axis=2))
        found = faces.detect(rgb, plan=plan)
        if len(found) != 1:
            continue
        lm = faces.landmarks(rgb, found)[0]
        t, r, b, lf = found[0]
        keep.append(i)
        boxes.append(tuple((v - PAD) / ENLARGE for v in (t, r, b, lf)))
        points.append((lm - PAD) / ENLARGE)
    return np.asarray(keep, dtype=np.int64), boxes, points


def fit_box_rule(boxes: list, points: list, template: np.ndarray) -> tuple[float, float]:
    """Scale (crop side / box side) and vertical offset (x box side) of the square that maps
    the detections' landmarks onto the template best, on average."""
    scales, offsets = [], []
    for box, pts in zip(boxes, points, strict=True):
        t, r, b, lf = box
        side = max(r - lf, b - t)
        m = similarity(pts[STABLE], template[STABLE])
        s = float(np.hypot(m[0, 0], m[0, 1]))
        # the crop this transform implies: 48/s wide, centred where the template's centre maps back
        centre = np.linalg.solve(m[:, :2], np.array([24.0, 24.0]) - m[:, 2])
        scales.append((48.0 / s) / side)
        offsets.append((centre[1] - (t + b) / 2) / side)
    return float(np.median(scales)), float(np.median(offsets))


def crops_with(images, boxes, points, rule: str, box_rule=None, template=None) -> np.ndarray:
    out = []
    for img, box, pts in zip(images, boxes, points, strict=True):
        if rule == "template":
            out.append(template_crop(img, pts, template))
        elif rule == "box-fitted":
            out.append(box_crop(img, box, pts, *box_rule))
        else:
            out.append(face_crop(img, box, pts))
    return np.stack(out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m training.framing", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, default=Path("inference/weights/emotion.pt"))
    p.add_argument("--limit", type=int, default=0, help="use only the first N validation images (0: all)")
    args = p.parse_args(argv)

    train = fer.load_split("train")
    _, val_idx = fer.stratified_split(train.labels, 0.1, 1)  # the training runs' validation split
    if args.limit:
        val_idx = val_idx[: args.limit]
    images, labels = train.images[val_idx], train.labels[val_idx]
    keep, boxes, points = detect_fer_faces(images)
    print(f"faces found in {len(keep)} of {len(images)} validation images")
    template = np.mean(np.stack(points), axis=0)
    box_rule = fit_box_rule(boxes, points, template)
    print(f"box rule: side x{box_rule[0]:.3f}, centre shifted {box_rule[1]:+.3f} x side downwards")

    clf = EmotionClassifier(args.weights, device="cpu")
    sub_images, sub_labels = images[keep], labels[keep]
    results = {"validation_images": int(len(images)), "faces_found": int(len(keep)), "box_rule": box_rule}
    for name, crops in (
        ("original image", sub_images),
        ("today's box crop", crops_with(sub_images, boxes, points, "box")),
        ("fitted box crop", crops_with(sub_images, boxes, points, "box-fitted", box_rule=box_rule)),
        ("landmarks to template", crops_with(sub_images, boxes, points, "template", template=template)),
    ):
        acc = float((clf.predict(crops).argmax(axis=1) == sub_labels).mean())
        results[name] = acc
        print(f"{name:>24}: {acc * 100:.2f}% of {len(sub_labels)}")
    return results


if __name__ == "__main__":
    main()
