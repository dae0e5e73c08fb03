"""Who is who: one decision rule for every place that decides "same person".

Used by the tracker's re-association after a miss and :func:`inference.tracking.merge_tracks` (within a
video), the live path (:class:`inference.pipeline.Analyzer` naming known people) and the end of a session
(``sessions_app.services.analysis.finalize_session``: a session's faces against the owner's people).

The rule (:func:`decide`), for a *probe* (the quality-gated descriptors of a track) and the known
candidates (each a set of reference descriptors):

1. Descriptors are mapped by a linear transform fitted on people of two populations (``PARAMS``;
   see ``inference/identity_params.json`` for how it was made) and normalised to unit length.
2. Set-to-set distance: for each probe descriptor the mean of its ``NEAREST`` closest references of the
   candidate, averaged over the probe (robust to one odd reference).
3. The best candidate's distance is normalised by the owner's other candidates (``cohort``): the score
   is ``best / typical`` where ``typical`` is the median distance to the other candidates, shrunk
   towards a population-independent prior when the owner knows few people. A face crowded among
   look-alikes (e.g. a population the descriptor separates badly) gets a worse score than the same
   raw distance among clearly different people.
4. ``margin``: second-best distance minus best distance (inf with one candidate).
5. **SAME** when the raw distance and the score are both under their "same" limits (tighter, by
   ``single``, for a probe of one descriptor: one photo) and the margin is wide enough; **MAYBE** (a
   new person with a suggestion to confirm) when both are under the "maybe" limits; **NEW** otherwise.
   A candidate the owner marked "not the same" as another candidate that is also plausible (MAYBE or
   better on its own) is never SAME.

Within one session (:func:`decide_within`), two groups of tracks that are never on the same frame are
compared pairwise with no owner cohort, and a pair the rule calls NEW is still MAYBE when the raw distance
is within ``session_distance``: a video shows few people, and one of them filmed again after a cut is far
likelier than across an owner's whole collection. Groups that share a frame are never compared (two faces
at once are two people). Within-session evidence only ever makes a suggestion, never a link.

Limits: the descriptor (dlib's 128-d ResNet) is fixed; the rule only decides how its output is used.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference import faces as faces_mod
from inference import quality as quality_mod

SAME, MAYBE, NEW = "same", "maybe", "new"
TRACK_REFERENCES = 8  # quality-gated references kept per track (the best by quality)
PERSON_REFERENCES = 40  # per person (the most redundant one goes when more arrive)
PARAMS_PATH = Path(__file__).with_name("identity_params.json")


# --------------------------------------------------------------------------- samples
@dataclass
class Sample:
    """One face's 128-d descriptor with its quality measures and score (0..1)."""

    descriptor: np.ndarray
    quality: quality_mod.FaceQuality | None = None
    score: float = 1.0

    @property
    def usable(self) -> bool:
        return self.score >= quality_mod.MIN_QUALITY


def as_sample(item) -> Sample:
    """A :class:`Sample` from a Sample or a bare descriptor (quality unknown: counted as usable)."""
    if isinstance(item, Sample):
        return item
    return Sample(np.asarray(item, dtype=np.float32))


def describe(image_rgb: np.ndarray, boxes: list, detection_scores: list | None = None) -> list[Sample]:
    """Descriptor and quality of each face box of one frame (the platform's face code, dlib)."""
    if not boxes:
        return []
    points = faces_mod.landmarks(image_rgb, boxes)
    descriptors = faces_mod.embeddings(image_rgb, boxes)
    scores = detection_scores if detection_scores is not None else [None] * len(boxes)
    out = []
    for box, pts, desc, det in zip(boxes, points, descriptors, scores, strict=False):
        q = quality_mod.measure(image_rgb, box, pts, det)
        out.append(Sample(np.asarray(desc, dtype=np.float32), q, quality_mod.quality_score(q)))
    return out


def select_references(
    references: list, qualities: list, new: Iterable[Sample] = (), k: int = TRACK_REFERENCES
) -> tuple[list, list]:
    """A track's references after adding ``new`` samples: the usable ones, the ``k`` best by quality."""
    pool = list(zip(references, qualities, strict=False))
    pool += [(np.asarray(s.descriptor, dtype=float).tolist(), float(s.score)) for s in new if s.usable]
    pool.sort(key=lambda rq: -rq[1])
    pool = pool[:k]
    return [r for r, _ in pool], [q for _, q in pool]


def merge_references(existing: list, added: list, k: int = PERSON_REFERENCES) -> list:
    """A person's references with a track's added; over ``k`` the most redundant go (the reference
    nearest to another), so the set keeps its variety (poses, lighting, sessions)."""
    refs = [list(map(float, r)) for r in (*existing, *added)]
    if len(refs) <= k:
        return refs
    x = np.asarray(refs, dtype=np.float64)
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    keep = list(range(len(refs)))
    while len(keep) > k:
        sub = d[np.ix_(keep, keep)]
        i, j = np.unravel_index(np.argmin(sub), sub.shape)
        # of the closest pair drop the one that is closer to the rest
        drop = keep[i] if np.sort(sub[i])[1] <= np.sort(sub[j])[1] else keep[j]
        keep.remove(drop)
    return [refs[i] for i in keep]


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Params:
    """The fitted numbers of the rule (``identity_params.json``)."""

    mean: np.ndarray | None = None  # 128
    projection: np.ndarray | None = None  # 128 x k
    nearest: int = 3  # references averaged per probe descriptor
    same_distance: float = 0.5  # raw set distance (transformed space) for SAME
    same_score: float = 0.6  # cohort-normalised score for SAME
    margin: float = 0.08  # second-best minus best distance for SAME
    single: float = 1.0  # a probe of one descriptor (one photo) is SAME only within this share of the limits
    maybe_distance: float = 0.6  # raw set distance for MAYBE
    maybe_score: float = 0.8  # cohort-normalised score for MAYBE
    prior_typical: float = 1.0  # the typical impostor distance assumed with no cohort
    prior_weight: float = 3.0  # how many cohort people the prior counts as
    session_distance: float = 0.0  # within one session: raw distance under which NEW becomes MAYBE
    info: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("mean", "projection")}
        out["mean"] = None if self.mean is None else [float(f"{v:.6g}") for v in self.mean]
        if self.projection is not None:
            out["projection"] = [[float(f"{v:.6g}") for v in r] for r in self.projection]
        else:
            out["projection"] = None
        return out

    @classmethod
    def from_json(cls, data: dict) -> Params:
        data = dict(data)
        mean = data.pop("mean", None)
        proj = data.pop("projection", None)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(
            mean=None if mean is None else np.asarray(mean, dtype=np.float64),
            projection=None if proj is None else np.asarray(proj, dtype=np.float64),
            **known,
        )


@functools.lru_cache(maxsize=1)
def default_params() -> Params:
    if PARAMS_PATH.is_file():
        return Params.from_json(json.loads(PARAMS_PATH.read_text()))
    return Params()


# --------------------------------------------------------------------------- comparing
def transform(descriptors, params: Params | None = None) -> np.ndarray:
    """Descriptors (n x 128) in the fitted space, unit length."""
    p = params or default_params()
    x = np.atleast_2d(np.asarray(descriptors, dtype=np.float64))
    if p.mean is not None:
        x = x - p.mean
    if p.projection is not None:
        x = x @ p.projection
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def set_distance(probe: np.ndarray, refs: np.ndarray, nearest: int = 3) -> float:
    """Mean over the probe's descriptors of the mean distance to their ``nearest`` closest references
    (both already :func:`transform`-ed)."""
    d = np.linalg.norm(probe[:, None, :] - refs[None, :, :], axis=-1)
    k = max(1, min(nearest, refs.shape[0]))
    return float(np.mean(np.mean(np.sort(d, axis=1)[:, :k], axis=1)))


@dataclass(frozen=True)
class Decision:
    outcome: str  # SAME, MAYBE or NEW
    candidate: Hashable | None  # the best candidate (None with no candidates)
    distance: float  # raw set distance to it (inf with none)
    score: float  # cohort-normalised distance (lower: more alike)
    margin: float  # second-best minus best distance (inf with one candidate)

    @property
    def same(self) -> bool:
        return self.outcome == SAME


def decide(
    probe,
    known: dict,
    rejected: Iterable[frozenset] = (),
    params: Params | None = None,
) -> Decision:
    """SAME / MAYBE / NEW for ``probe`` (descriptors of one face track) among ``known``
    (candidate -> reference descriptors). ``rejected``: pairs of candidates marked "not the same"."""
    p = params or default_params()
    probe_list = [np.asarray(as_sample(x).descriptor, dtype=np.float64) for x in probe]
    cands = {c: refs for c, refs in known.items() if refs is not None and len(refs)}
    if not probe_list or not cands:
        return Decision(NEW, None, math.inf, math.inf, math.inf)
    pt = transform(probe_list, p)
    dist = {c: set_distance(pt, transform(refs, p), p.nearest) for c, refs in cands.items()}
    order = sorted(dist, key=lambda c: (dist[c], str(c)))
    best = order[0]
    d1 = dist[best]
    margin = dist[order[1]] - d1 if len(order) > 1 else math.inf
    others = [dist[c] for c in order[1:]]
    cohort = float(np.median(others)) if others else 0.0
    typical = (p.prior_typical * p.prior_weight + cohort * len(others)) / (p.prior_weight + len(others))
    score = d1 / max(typical, 1e-9)
    # candidates this face could be (MAYBE or better on their own): a rejected partner among them blocks SAME
    plausible = {c for c in order if dist[c] <= p.maybe_distance and dist[c] / max(typical, 1e-9) <= p.maybe_score}
    rejected = set(rejected)
    conflict = any(frozenset((best, c)) in rejected for c in plausible if c != best)
    strict = p.single if len(probe_list) == 1 else 1.0  # one face seen once: weaker evidence
    if d1 <= p.same_distance * strict and score <= p.same_score * strict and margin >= p.margin and not conflict:
        outcome = SAME
    elif d1 <= p.maybe_distance and score <= p.maybe_score:
        outcome = MAYBE
    else:
        outcome = NEW
    return Decision(outcome, best, round(d1, 6), round(score, 6), round(margin, 6) if margin != math.inf else margin)


def decide_within(probe, other, params: Params | None = None) -> Decision:
    """Two groups of tracks of one session that never share a frame: ``probe`` against ``other`` (the
    other group's references) by :func:`decide` with no cohort (the candidates of one video are few, and
    a second group of the same person would inflate it), and MAYBE also when the raw distance is within
    ``session_distance``. The caller must not pass groups seen on the same frame."""
    p = params or default_params()
    d = decide(probe, {"other": other}, (), p)
    if d.outcome == NEW and d.distance <= p.session_distance:
        return Decision(MAYBE, d.candidate, d.distance, d.score, d.margin)
    return d
