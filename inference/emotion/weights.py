"""The emotion weights-file format.

One file, written by ``training/`` and read here: a ``torch.save`` dict of
plain types and tensors (loadable with ``weights_only=True``, so a weights
file cannot run code)::

    {"format": "emotion-weights", "format_version": 1,
     "metadata": {...}, "state_dict": {name: tensor}}

``metadata`` holds ``architecture``, ``classes`` (must equal
:data:`inference.classes.EMOTIONS`), ``input_size``, ``in_channels``,
``normalization`` (``{"mean": m, "std": s}`` on pixel values in 0..1),
``temperature``, ``version``, ``trained`` (False marks an untrained
placeholder that may only be used by tests) and, from training, ``metrics``,
``data_source``, ``label_source`` and ``recipe``. Tensors may be stored in
float16 to keep the file small; they are loaded as float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from inference.classes import EMOTIONS
from inference.emotion.network import ARCHITECTURES, EmotionNet, build

FORMAT = "emotion-weights"
FORMAT_VERSION = 1
DEFAULT_NORMALIZATION = {"mean": 0.5, "std": 0.25}


class WeightsError(ValueError):
    """A weights file that cannot be used, with the reason in words."""


@dataclass
class EmotionWeights:
    architecture: str
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def temperature(self) -> float:
        return float(self.metadata.get("temperature", 1.0))

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unversioned"))

    @property
    def trained(self) -> bool:
        return bool(self.metadata.get("trained", False))

    def build_model(self) -> EmotionNet:
        model = build(self.architecture)
        model.load_state_dict(self.state_dict)
        model.eval()
        return model


def make_metadata(architecture: str, **extra: Any) -> dict[str, Any]:
    spec = ARCHITECTURES[architecture]
    meta: dict[str, Any] = {
        "architecture": architecture,
        "classes": list(EMOTIONS),
        "input_size": spec.input_size,
        "in_channels": spec.in_channels,
        "normalization": dict(DEFAULT_NORMALIZATION),
        "temperature": 1.0,
        "version": "0",
        "trained": False,
    }
    meta.update(extra)
    return meta


def save(path: str | Path, model: torch.nn.Module, metadata: dict[str, Any], half: bool = True) -> Path:
    """Write ``model`` with ``metadata``; validated by loading it back."""
    state = {
        k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "metadata": metadata, "state_dict": state}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    load(tmp)  # refuse to publish a file we could not read back
    tmp.replace(path)
    return path


def load(path: str | Path) -> EmotionWeights:
    """Read and check a weights file; raise :class:`WeightsError` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"emotion weights file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise WeightsError(f"{path.name} is not a readable emotion weights file ({exc.__class__.__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsError(f"{path.name} is not an emotion weights file (missing format tag {FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise WeightsError(
            f"{path.name} has format version {payload.get('format_version')!r}; this build reads {FORMAT_VERSION}"
        )
    meta = payload.get("metadata") or {}
    arch = meta.get("architecture")
    if arch not in ARCHITECTURES:
        raise WeightsError(f"{path.name} names unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    if list(meta.get("classes", [])) != list(EMOTIONS):
        raise WeightsError(
            f"{path.name} classes {meta.get('classes')!r} do not match the canonical order {list(EMOTIONS)!r}"
        )
    spec = ARCHITECTURES[arch]
    if meta.get("input_size") != spec.input_size or meta.get("in_channels") != spec.in_channels:
        raise WeightsError(
            f"{path.name} input {meta.get('input_size')}x{meta.get('input_size')}x{meta.get('in_channels')} "
            f"does not match architecture {arch} ({spec.input_size}x{spec.input_size}x{spec.in_channels})"
        )
    norm = meta.get("normalization") or {}
    if not {"mean", "std"} <= set(norm) or float(norm["std"]) <= 0:
        raise WeightsError(f"{path.name} has no usable normalization in its metadata")
    temperature = meta.get("temperature", 1.0)
    if not isinstance(temperature, (int, float)) or temperature <= 0:
        raise WeightsError(f"{path.name} has an invalid temperature {temperature!r}")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in payload.get("state_dict", {}).items()}
    expected = build(arch).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path.name} does not fit architecture {arch}: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"{path.name}: tensor {name} has shape {tuple(state[name].shape)}, expected {tuple(tensor.shape)}"
            )
    return EmotionWeights(architecture=arch, state_dict=state, metadata=dict(meta))
