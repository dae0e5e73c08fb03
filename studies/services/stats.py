"""Bootstrap confidence intervals that resample participants (pure numpy; docs/studies.md).

The percentile bootstrap draws ``n_resamples`` sets of ``n`` participants with replacement in one call,
``rng.integers(0, n, (n_resamples, n))`` of a ``numpy.random.Generator`` seeded with ``seed``: the draw
``scipy.stats.bootstrap(..., method="percentile", vectorized=True)`` makes from the same generator, so the
two agree to rounding (tests/studies/test_numbers.py). The interval is the 2.5th and 97.5th percentiles
(numpy's default, linear interpolation) of the resampled means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 12345
CONFIDENCE = 0.95
MAX_RESAMPLES = 20000


@dataclass(frozen=True)
class Interval:
    mean: float | None
    low: float | None
    high: float | None
    n: int  # participants behind it

    def as_dict(self) -> dict:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high, "n_participants": self.n}


def resample_indices(n: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``(n_resamples, n)`` participant indices drawn with replacement (scipy's draw for a 1-D sample)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, (n_resamples, n))


def bootstrap_means(
    values: np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """Interval per column of ``values`` (participants x measures; NaN where a participant lacks a
    measure is not allowed: pass complete columns). Returns (3, measures): mean, low, high; NaN for
    fewer than 2 participants' intervals (a mean of one has no spread to resample)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    n, m = values.shape
    out = np.full((3, m), np.nan)
    if n == 0:
        return out
    out[0] = values.mean(axis=0)
    if n < 2:
        return out
    idx = resample_indices(n, n_resamples, seed) if indices is None else indices
    # (n_resamples, n, m) gathered and averaged; chunked so 20 000 x 1 000 participants stays small
    means = np.empty((idx.shape[0], m))
    step = max(1, 2_000_000 // max(1, n * m))
    for i in range(0, idx.shape[0], step):
        means[i : i + step] = values[idx[i : i + step]].mean(axis=1)
    alpha = (1 - CONFIDENCE) / 2
    out[1] = np.percentile(means, 100 * alpha, axis=0)
    out[2] = np.percentile(means, 100 * (1 - alpha), axis=0)
    return out


def interval(values, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Interval:
    """Mean and percentile 95% interval of one measure over participants (None where undefined)."""
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    mean, low, high = bootstrap_means(arr, n_resamples, seed)[:, 0] if arr.size else (np.nan,) * 3
    return Interval(_num(mean), _num(low), _num(high), int(arr.size))


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def number(x) -> float | None:
    """A JSON-safe float (None for NaN/inf)."""
    return _num(x)
