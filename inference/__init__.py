"""Emotion-analysis inference engine (plain Python; never imports Django).

Public API::

    from inference import EmotionRecognition, Analyzer, analyze_video, analyze_image, warmup
    from inference.errors import MediaError
    from inference.classes import EMOTIONS

Heavy imports (torch, dlib) happen lazily, on first use or in :func:`warmup`.
"""

from __future__ import annotations

from inference.classes import EMOTIONS
from inference.errors import MediaError

__all__ = ["EMOTIONS", "MediaError", "EmotionRecognition", "Analyzer", "analyze_video", "analyze_image", "warmup"]


def warmup(device: str = "auto") -> None:
    """Load the face models and the emotion classifier once for this process.

    Called from worker start-up hooks; later analyses reuse the cached models.
    """
    import numpy as np

    from inference import faces
    from inference.pipeline import get_classifier

    faces.load_models()
    clf = get_classifier(device)
    clf.predict([np.zeros((48, 48), dtype=np.uint8)])


def __getattr__(name):  # lazy exports keep `import inference` light
    if name == "EmotionRecognition":
        from inference.api import EmotionRecognition

        return EmotionRecognition
    if name in ("Analyzer", "analyze_video", "analyze_image"):
        from inference import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'inference' has no attribute {name!r}")
