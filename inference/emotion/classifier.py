"""Emotion classifier: aligned 48x48 grayscale face crops -> calibrated probabilities."""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np
import torch

from inference.classes import EMOTIONS
from inference.emotion import choice
from inference.emotion import weights as weights_mod

WEIGHTS_DIR = choice.WEIGHTS_DIR
CPU_WEIGHTS = WEIGHTS_DIR / "emotion.pt"  # vgg-s, fast on CPU
CUDA_WEIGHTS = WEIGHTS_DIR / "emotion-large.pt"  # vgg-m; a CUDA worker loads it only when the figures say so

# FER-2013 faces span about eyebrows to chin and fill the 48x48 frame; the crop is a
# square of CROP_SCALE x the face size around the face centre, rotated so the eyes are level.
CROP_SCALE = 1.1


class UntrainedWeightsError(weights_mod.WeightsError):
    """The weights file is an untrained placeholder and ``allow_untrained`` is off."""


def resolve_device(device: str = "auto") -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no CUDA device is available")
    return dev


def set_cpu_threads(n: int | None = None) -> None:
    """Use ``n`` torch CPU threads (default: env INFERENCE_TORCH_THREADS, else the current
    setting capped at 4: small batches gain nothing from more threads)."""
    if n is None:
        n = int(os.environ.get("INFERENCE_TORCH_THREADS", "0") or 0) or min(4, torch.get_num_threads())
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def face_crop(frame_rgb: np.ndarray, box, landmarks: np.ndarray | None = None, size: int = 48) -> np.ndarray:
    """A ``size`` x ``size`` uint8 grayscale crop framed like FER-2013.

    With landmarks the crop is rotated so the eye centres are level and centred on the
    face box centre; without them it is an axis-aligned square around the box.
    """
    top, right, bottom, left = [float(v) for v in box]
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    side = max(right - left, bottom - top, 2.0) * CROP_SCALE
    angle = 0.0
    if landmarks is not None and len(landmarks) >= 48:
        le = landmarks[36:42].mean(axis=0)
        re = landmarks[42:48].mean(axis=0)
        angle = math.degrees(math.atan2(float(re[1] - le[1]), float(re[0] - le[0])))
    s = size / side
    cos, sin = math.cos(math.radians(angle)) * s, math.sin(math.radians(angle)) * s
    # dst = S R(-angle) (p - c) + size/2
    matrix = np.array(
        [[cos, sin, size / 2.0 - cos * cx - sin * cy], [-sin, cos, size / 2.0 + sin * cx - cos * cy]],
        dtype=np.float64,
    )
    return warp_crop(frame_rgb, matrix, size)


def warp_crop(frame: np.ndarray, matrix: np.ndarray, size: int = 48) -> np.ndarray:
    """The ``size`` x ``size`` grey image of ``frame`` under the 2x3 similarity ``matrix``."""
    scale = math.hypot(float(matrix[0, 0]), float(matrix[0, 1]))
    crop = cv2.warpAffine(
        frame,
        matrix,
        (size, size),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return crop


def _fuse(model: torch.nn.Module) -> torch.nn.Module:
    """Fold each eval-mode BatchNorm into the convolution before it (same outputs, faster)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model.eval()
    layers = list(model.features)
    fused: list[torch.nn.Module] = []
    i = 0
    while i < len(layers):
        if (
            i + 1 < len(layers)
            and isinstance(layers[i], torch.nn.Conv2d)
            and isinstance(layers[i + 1], torch.nn.BatchNorm2d)
        ):
            fused.append(fuse_conv_bn_eval(layers[i], layers[i + 1]))
            i += 2
        else:
            fused.append(layers[i])
            i += 1
    model.features = torch.nn.Sequential(*fused)
    return model


class EmotionClassifier:
    """Loads an emotion weights file and classifies batches of face crops.

    ``weights_path=None`` picks the device's default by the measured figures
    (``inference/emotion/choice.py``: today ``emotion.pt`` on both). Untrained placeholder weights are refused unless
    ``allow_untrained=True`` (tests only).
    """

    def __init__(
        self, weights_path: str | os.PathLike | None = None, device: str = "auto", allow_untrained: bool = False
    ):
        self.device = resolve_device(device)
        if weights_path is None:
            weights_path = choice.default_weights(self.device.type)
        self.weights_path = Path(weights_path)
        self.digest = choice.file_digest(self.weights_path)  # what was loaded, recorded with each run
        w = weights_mod.load(self.weights_path)
        if not w.trained and not allow_untrained:
            raise UntrainedWeightsError(
                f"{self.weights_path.name} holds untrained placeholder weights; its output is not a real "
                "emotion prediction (pass allow_untrained=True only in tests)"
            )
        self.weights = w
        self.trained = w.trained
        self.version = w.version
        self.architecture = w.architecture
        self.temperature = w.temperature
        self.input_size = int(w.metadata.get("input_size", 48))
        norm = w.metadata["normalization"]
        self.mean, self.std = float(norm["mean"]), float(norm["std"])
        if self.device.type == "cpu":
            set_cpu_threads()
            torch.set_flush_denormal(True)  # fp16-stored weights leave denormals that slow CPUs 3x
        # BatchNorm folded into the convolutions, channels-last layout: ~15% faster on CPU
        self.model = _fuse(w.build_model()).to(self.device).eval().to(memory_format=torch.channels_last)

    def identity(self) -> dict[str, str]:
        """The loaded weights as runs record them and workers publish them."""
        gpu = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else ""
        return {
            "file": self.weights_path.name,
            "version": self.version,
            "sha256": self.digest,
            "device": self.device.type,
            "gpu": gpu,
        }

    @property
    def classes(self) -> tuple[str, ...]:
        return EMOTIONS

    def face_crop(self, frame_rgb: np.ndarray, box, landmarks: np.ndarray | None = None) -> np.ndarray:
        return face_crop(frame_rgb, box, landmarks, size=self.input_size)

    def predict(self, crops) -> np.ndarray:
        """Probabilities ``(N, 7)`` in canonical order for uint8 crops ``(N, 48, 48)``."""
        if len(crops) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        batch = np.stack([np.asarray(c, dtype=np.uint8) for c in crops])
        if batch.ndim == 4:  # colour crops
            batch = np.stack([cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) for c in batch])
        if batch.shape[1:] != (self.input_size, self.input_size):
            batch = np.stack(
                [cv2.resize(c, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA) for c in batch]
            )
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, dtype=torch.float32).unsqueeze(1)
            x = (x / 255.0 - self.mean) / self.std
            x = x.contiguous(memory_format=torch.channels_last)
            logits = self.model(x)
            probs = torch.softmax(logits.float() / self.temperature, dim=1)
        return probs.cpu().numpy().astype(np.float64)

    def predict_one(self, crop: np.ndarray) -> dict[str, float]:
        return dict(zip(EMOTIONS, (float(p) for p in self.predict([crop])[0]), strict=False))
