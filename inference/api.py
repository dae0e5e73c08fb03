"""A small Python API over the pipeline, returning plain dicts.

    er = EmotionRecognition(device="cpu")
    faces = er.run(frame_rgb)            # [{track_id, slot, box, probabilities, emotion, ...}]
    er.run_on_face(face_rgb_or_gray)     # {emotion, confidence, probabilities}
    annotated = er.show(frame_rgb)       # RGB frame with boxes and labels

Consecutive ``run`` calls share one tracker, so track ids persist across the frames of a stream.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference import media
from inference.classes import EMOTIONS
from inference.pipeline import Analyzer, get_classifier

COLORS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230)]


class EmotionRecognition:
    def __init__(
        self,
        device: str = "auto",
        detector: str = "hog",
        known: dict | None = None,
        names: dict | None = None,
        weights_path=None,
        allow_untrained: bool = False,
        detect_every: int = 1,
    ):
        """``known``: person id -> list of embeddings to match; ``names``: person id -> display name."""
        self.classifier = get_classifier(device, weights_path, allow_untrained)
        self.analyzer = Analyzer(classifier=self.classifier, detector=detector, known=known, detect_every=detect_every)
        self.names = names or {}
        self._index = 0

    def run(self, frame, time: float | None = None) -> list[dict]:
        """Analyse one RGB frame; a list of per-face dicts, left to right."""
        res = self.analyzer.process(media.to_rgb(frame), self._index, float(self._index if time is None else time))
        self._index += 1
        return [f.to_dict() for f in res.faces]

    def run_on_face(self, face_image) -> dict:
        """Classify an already-cropped face (RGB, RGBA or grayscale, any size)."""
        img = np.asarray(face_image)
        if img.ndim == 3:
            img = cv2.cvtColor(media.to_rgb(img), cv2.COLOR_RGB2GRAY)
        crop = cv2.resize(img.astype(np.uint8), (self.classifier.input_size,) * 2, interpolation=cv2.INTER_AREA)
        p = self.classifier.predict([crop])[0]
        k = int(np.argmax(p))
        return {
            "emotion": EMOTIONS[k],
            "confidence": float(p[k]),
            "probabilities": {e: float(v) for e, v in zip(EMOTIONS, p, strict=False)},
        }

    def show(self, frame, faces: list[dict] | None = None) -> np.ndarray:
        """The frame (RGB) annotated with boxes, names or track ids, top emotion and confidence."""
        img = media.to_rgb(frame)
        if faces is None:
            faces = self.run(img)
        return annotate(img, faces, self.names)


def annotate(image: np.ndarray, faces: list[dict], names: dict | None = None) -> np.ndarray:
    """Draw face dicts (as returned by ``run`` / ``FaceResult.to_dict``) on a copy of ``image``."""
    out = np.ascontiguousarray(image.copy())
    names = names or {}
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 500))
    font = max(0.4, max(h, w) / 1400)
    for f in faces:
        top, right, bottom, left = f["box"]
        color = COLORS[int(f["track_id"]) % len(COLORS)]
        who = names.get(f.get("person"), f.get("person")) or f"#{f['track_id']}"
        label = f"{who} {f['emotion']} {f['confidence'] * 100:.0f}%"
        cv2.rectangle(out, (int(left), int(top)), (int(right), int(bottom)), color, thick)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font, thick)
        y = int(top) - 4 if int(top) - th - 8 > 0 else int(bottom) + th + 4
        cv2.rectangle(out, (int(left), y - th - 4), (int(left) + tw + 4, y + base), color, -1)
        cv2.putText(
            out, label, (int(left) + 2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), thick, cv2.LINE_AA
        )
    return out
