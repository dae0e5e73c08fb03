"""Training targets: FER-2013's labels, FER+ votes and a teacher ensemble, mixed.

FER-2013's own labels are noisy (FER+ disagrees with 37% of them); FER+'s ten
annotators give a distribution; a teacher ensemble gives what the larger trained
networks believe. The student learns a weighted mix of the three.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from inference.classes import EMOTIONS
from inference.emotion import weights as wfile
from training.evaluate import predict_logits
from training.metrics import softmax
from training.paths import cache_dir


def teacher_probs(weight_paths: list[Path], images: np.ndarray, batch: int = 512) -> np.ndarray:
    """Mean calibrated probabilities (N, 7) of the teachers over the image and its mirror.

    Cached in the cache folder by teacher file contents and image digest: the teachers
    run once per data set, not once per epoch.
    """
    h = hashlib.sha1(images.tobytes())
    for p in weight_paths:
        h.update(Path(p).read_bytes())
    cache = cache_dir() / f"teacher-{h.hexdigest()[:16]}.npy"
    if cache.is_file():
        return np.load(cache)
    total = np.zeros((len(images), len(EMOTIONS)))
    for p in weight_paths:
        w = wfile.load(p)
        model = w.build_model().float().eval()
        norm = w.metadata["normalization"]
        x = torch.from_numpy(images)
        mirrored = torch.flip(x, dims=[2])
        logits = (predict_logits(model, x, norm, batch=batch) + predict_logits(model, mirrored, norm, batch=batch)) / 2
        total += softmax(logits, w.temperature)
    probs = (total / len(weight_paths)).astype(np.float32)
    np.save(cache, probs)
    return probs


def mix_targets(
    labels: np.ndarray,
    ferplus: np.ndarray | None,
    ferplus_usable: np.ndarray | None,
    teacher: np.ndarray | None,
    weights: tuple[float, float, float],
) -> np.ndarray:
    """Rows summing to 1: ``weights`` (original, FER+, teacher) over the three sources.

    Where an image has no usable FER+ votes (unknown / no face) its FER+ share goes to
    the original label; a source that is ``None`` gives its share to the original label too.
    """
    w_orig, w_plus, w_teacher = weights
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    plus = onehot.copy()
    if ferplus is not None:
        plus[ferplus_usable] = ferplus[ferplus_usable]
    out = w_orig * onehot + w_plus * plus + w_teacher * (teacher if teacher is not None else onehot)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)
