"""Which emotion weights a worker loads by default, chosen from measured figures rather than named in code.

``inference/weights/defaults.json`` lists, per device, the candidate files and each file's accuracy on
the evaluation sets (copied from ``training/results/*.sets.json``). The rule: the highest mean accuracy
over the ``counted`` sets (faces unlike FER-2013, through the workers' own detection and crop), ties
broken by the worst counted set, then by the order of the candidates. FER-2013's own test images (and
their FER+ labels) are not counted: both files were chosen on FER-2013, and the platform films people.
The CPU lists only the vgg-s file: a worker there is bound by speed, not by which file is more accurate.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULTS_FILE = WEIGHTS_DIR / "defaults.json"


def read_defaults(path: Path = DEFAULTS_FILE) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def score(figures: dict[str, float], counted: list[str]) -> tuple[float, float]:
    """(mean, worst) accuracy over the counted sets; a file not measured on one of them scores nothing."""
    if not counted or any(name not in figures for name in counted):
        return (float("-inf"), float("-inf"))
    values = [float(figures[name]) for name in counted]
    return (sum(values) / len(values), min(values))


def choose(device_type: str, defaults: dict[str, Any]) -> str:
    """The file name the rule picks for ``device_type`` ("cpu" or "cuda") from ``defaults``' figures."""
    candidates = defaults["candidates"].get(device_type) or defaults["candidates"]["cpu"]
    counted = defaults["counted"]
    figures = defaults["figures"]
    # max() keeps the first of equal scores: the candidates' order breaks the last ties
    return max(candidates, key=lambda name: score(figures.get(name, {}).get("accuracy", {}), counted))


@cache
def default_weights(device_type: str) -> Path:
    """The shipped weights file a worker on ``device_type`` loads when none is named."""
    return WEIGHTS_DIR / choose(device_type, read_defaults())


def file_digest(path: str | Path) -> str:
    """The first 16 hex digits of the file's SHA-256: which bytes were loaded, whatever the version says."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
