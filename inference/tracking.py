"""Linking faces across frames into tracks, merging tracks and matching known people.

How it works (see :class:`Tracker`):

* On *detection frames* detections are associated with live tracks greedily by a
  score ``IoU - 0.8 * embedding distance``; the embedding term is only computed
  when the overlap is ambiguous (a detection overlapping several tracks or the
  reverse, as when two faces cross). Unmatched detections get an embedding and are
  re-attached to a recently lost track when :func:`inference.identity.decide` says
  SAME (the detection's descriptor against each lost track's references), otherwise
  they start a new track.
* Between detections the caller carries each track's box with its landmarks
  (:meth:`Tracker.propagate`), so every analysed frame has a box for every
  visible face.
* A track never crosses a change of person: on a frame after a scene cut (``update(cut=True)``) no
  box is associated by overlap, every face is re-identified as above; and each descriptor a track
  takes is checked against its references (:meth:`Tracker.observe`): NEW ends the track there.
* A track missed by detection stays alive, invisible, for ``max_missed`` frames
  (short occlusions, detector misses, crossings) and can be re-attached.
* Embeddings are computed when a track starts, every ``young_every`` frames until it holds
  ``YOUNG_REFERENCES`` usable ones, then every ``embed_every`` frames; the track keeps their
  running mean (for the overlap tie-break) and its best quality-gated descriptors as identity
  references.

The whole state is plain JSON types (:meth:`Tracker.to_dict` / :meth:`Tracker.from_dict`)
so live recordings can keep it between tasks.

Same-person decisions (re-association, :func:`merge_tracks`, :func:`match_known`)
all go through :func:`inference.identity.decide`; :func:`session_suggestions` offers groups of one
video that the rule did not link but never share a frame (``identity.decide_within``).
``REID_THRESHOLD`` only bounds the embedding tie-break of overlapping boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inference import identity
from inference.faces import Box, iou

REID_THRESHOLD = 0.55  # overlapping boxes: an embedding this far (+0.1) from a track is not that track
YOUNG_REFERENCES = 3  # a new track takes descriptors more often until it holds this many usable ones


@dataclass
class Track:
    id: int
    box: Box
    landmarks: list | None = None  # 68 [x, y] of the last frame
    ratios: tuple | None = None  # detector box relative to the landmark extent
    embedding: list | None = None  # running mean of the embeddings taken
    n_embeddings: int = 0
    since_embed: int = 0  # frames since the last embedding
    first_frame: int = 0
    last_frame: int = 0  # last frame where the face was seen
    first_time: float = 0.0
    last_time: float = 0.0
    hits: int = 0
    visible: bool = True  # seen on the current frame
    missed: int = 0  # consecutive frames not seen
    references: list = field(default_factory=list)  # quality-gated descriptors (identity.select_references)
    qualities: list = field(default_factory=list)  # their quality scores

    def add_embedding(self, emb) -> None:
        """Add one face's descriptor (a bare array or an :class:`inference.identity.Sample`)."""
        sample = identity.as_sample(emb)
        self.references, self.qualities = identity.select_references(self.references, self.qualities, [sample])
        e = np.asarray(sample.descriptor, dtype=np.float64)
        if self.embedding is None:
            self.embedding = e.tolist()
            self.n_embeddings = 1
        else:
            n = self.n_embeddings
            self.embedding = ((np.asarray(self.embedding) * n + e) / (n + 1)).tolist()
            self.n_embeddings = n + 1
        self.since_embed = 0

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "box": list(self.box),
            "landmarks": self.landmarks,
            "ratios": list(self.ratios) if self.ratios is not None else None,
            "embedding": self.embedding,
            "n_embeddings": self.n_embeddings,
            "since_embed": self.since_embed,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "hits": self.hits,
            "visible": self.visible,
            "missed": self.missed,
            "references": self.references,
            "qualities": self.qualities,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Track:
        d = dict(d)
        d["box"] = tuple(int(v) for v in d["box"])
        if d.get("ratios") is not None:
            d["ratios"] = tuple(d["ratios"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def identity_references(self) -> list:
        return identity_references(self.references, self.embedding)


@dataclass
class Tracker:
    max_missed: int = 15  # frames a lost track can be re-attached
    embed_every: int = 30  # frames between embedding refreshes
    young_every: int = 5  # frames between a young track's descriptors (until YOUNG_REFERENCES)
    iou_threshold: float = 0.25
    reid_threshold: float = REID_THRESHOLD
    next_id: int = 1
    tracks: list[Track] = field(default_factory=list)  # alive (visible or recently missed)
    finished: list[Track] = field(default_factory=list)  # ended tracks, kept for merging

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict:
        return {
            "max_missed": self.max_missed,
            "embed_every": self.embed_every,
            "young_every": self.young_every,
            "iou_threshold": self.iou_threshold,
            "reid_threshold": self.reid_threshold,
            "next_id": self.next_id,
            "tracks": [t.to_dict() for t in self.tracks],
            "finished": [t.to_dict() for t in self.finished],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Tracker:
        return cls(
            max_missed=d.get("max_missed", 15),
            embed_every=d.get("embed_every", 30),
            young_every=d.get("young_every", 5),
            iou_threshold=d.get("iou_threshold", 0.25),
            reid_threshold=d.get("reid_threshold", REID_THRESHOLD),
            next_id=d.get("next_id", 1),
            tracks=[Track.from_dict(t) for t in d.get("tracks", [])],
            finished=[Track.from_dict(t) for t in d.get("finished", [])],
        )

    @property
    def visible(self) -> list[Track]:
        return sorted((t for t in self.tracks if t.visible), key=lambda t: (t.box[3], t.box[0], t.id))

    def all_tracks(self) -> list[Track]:
        return sorted(self.finished + self.tracks, key=lambda t: t.id)

    # ------------------------------------------------------------------ updates
    def update(
        self,
        boxes: list[Box],
        index: int,
        time: float,
        embed: Callable[[list[Box]], list],
        redetect: Callable[[Box], Box | None] | None = None,
        cut: bool = False,
    ) -> list[Track]:
        """Associate this detection frame's ``boxes``; returns the visible tracks.

        ``embed(boxes)`` computes embeddings for some boxes of this frame (called only
        when needed); ``redetect(box)`` looks for a face near a track that detection
        missed (e.g. a small ROI detection) and returns its box or None. ``cut``: the frame
        follows a shot change, where a box in the same place says nothing about who it is
        (shot / reverse shot): every face is then re-identified (:func:`inference.identity.decide`)
        against the tracks, or starts a new one.
        """
        cands = [t for t in self.tracks]
        pairs = []
        for di, b in enumerate(boxes if not cut else ()):
            for ti, t in enumerate(cands):
                ov = iou(b, t.box)
                if ov >= self.iou_threshold:
                    pairs.append((di, ti, ov))
        det_deg: dict[int, int] = {}
        trk_deg: dict[int, int] = {}
        for di, ti, _ in pairs:
            det_deg[di] = det_deg.get(di, 0) + 1
            trk_deg[ti] = trk_deg.get(ti, 0) + 1
        ambiguous = sorted({di for di, ti, _ in pairs if det_deg[di] > 1 or trk_deg[ti] > 1})
        det_emb: dict[int, identity.Sample] = {}
        if ambiguous:
            for di, e in zip(ambiguous, embed([boxes[d] for d in ambiguous]), strict=False):
                det_emb[di] = identity.as_sample(e)
        scored = []
        for di, ti, ov in pairs:
            score = ov
            t = cands[ti]
            if di in det_emb and t.embedding is not None:
                dist = float(np.linalg.norm(det_emb[di].descriptor - np.asarray(t.embedding)))
                if dist > self.reid_threshold + 0.1:
                    continue
                score = ov - 0.8 * dist
            scored.append((score, di, ti))
        scored.sort(key=lambda s: -s[0])
        used_d, used_t = set(), set()
        matches: list[tuple[int, int]] = []
        for _, di, ti in scored:
            if di in used_d or ti in used_t:
                continue
            used_d.add(di)
            used_t.add(ti)
            matches.append((di, ti))
        # unmatched detections: re-identify against lost tracks (identity.decide), else new tracks
        new_dets = [di for di in range(len(boxes)) if di not in used_d]
        if new_dets:
            missing = [di for di in new_dets if di not in det_emb]
            for di, e in zip(missing, embed([boxes[d] for d in missing]) if missing else [], strict=False):
                det_emb[di] = identity.as_sample(e)
            for di in new_dets:
                sample = det_emb.get(di)
                if sample is None or not sample.usable:
                    continue
                lost = {ti: t.identity_references() for ti, t in enumerate(cands) if ti not in used_t}
                decision = identity.decide([sample], {ti: refs for ti, refs in lost.items() if refs})
                if decision.same:
                    used_t.add(decision.candidate)
                    used_d.add(di)
                    matches.append((di, decision.candidate))
        for di, ti in matches:
            t = cands[ti]
            self._seen(t, boxes[di], index, time)
            if di in det_emb:
                self.observe(t, det_emb[di], index, time)
        for di in range(len(boxes)):
            if di in used_d:
                continue
            t = Track(
                id=self.next_id,
                box=tuple(boxes[di]),
                first_frame=index,
                last_frame=index,
                first_time=time,
                last_time=time,
            )
            self.next_id += 1
            self._seen(t, boxes[di], index, time)
            if di in det_emb:
                t.add_embedding(det_emb[di])
            self.tracks.append(t)
        # tracks that detection missed: a cheap local re-detection, else mark missed
        for ti, t in enumerate(cands):
            if ti in used_t:
                continue
            found = redetect(t.box) if (redetect is not None and t.visible) else None
            if found is not None and all(iou(found, o.box) < 0.5 for o in self.tracks if o is not t and o.visible):
                self._seen(t, found, index, time)
            else:
                t.visible = False
        return self.visible

    def propagate(self, index: int, time: float, boxes: dict[int, Box | None]) -> list[Track]:
        """Between detections: new boxes of visible tracks (None = lost)."""
        for t in self.tracks:
            if not t.visible:
                continue
            b = boxes.get(t.id)
            if b is None:
                t.visible = False
            else:
                self._seen(t, b, index, time)
        return self.visible

    def end_frame(self, index: int) -> None:
        """Age the tracks after a frame: count misses, retire long-lost tracks."""
        keep = []
        for t in self.tracks:
            if t.visible:
                t.missed = 0
                t.since_embed += 1
            else:
                t.missed = index - t.last_frame
            (keep if t.missed <= self.max_missed else self.finished).append(t)
        self.tracks = keep

    def observe(self, t: Track, emb, index: int, time: float) -> Track:
        """Add a descriptor of ``t``'s face on this frame; returns the track that holds the face.

        When the descriptor is NEW against the track's references (:func:`inference.identity.decide`,
        the rule that links people), the face is someone else in the same place (a cut the frame
        difference missed, a seat change): ``t`` ends and a new track starts here, so a track never
        holds two people. MAYBE keeps the track (one odd frame must not split a person).
        """
        sample = identity.as_sample(emb)
        refs = t.identity_references()
        if refs and sample.usable and identity.decide([sample], {t.id: refs}).outcome == identity.NEW:
            t.visible = False
            self.tracks = [o for o in self.tracks if o is not t]
            self.finished.append(t)
            t = Track(
                id=self.next_id,
                box=t.box,
                landmarks=t.landmarks,
                ratios=t.ratios,
                first_frame=index,
                last_frame=index,
                first_time=time,
                last_time=time,
                hits=1,
            )
            self.next_id += 1
            self.tracks.append(t)
        t.add_embedding(sample)
        return t

    def finish(self) -> None:
        self.finished.extend(self.tracks)
        self.tracks = []

    def needs_embedding(self, t: Track) -> bool:
        """A descriptor at the start, every ``young_every`` frames until the track holds
        ``YOUNG_REFERENCES`` usable ones (one descriptor is weak evidence for linking a track across a
        cut), then every ``embed_every`` frames."""
        if t.embedding is None or t.since_embed >= self.embed_every:
            return True
        return len(t.references) < YOUNG_REFERENCES and t.since_embed >= self.young_every

    @staticmethod
    def _seen(t: Track, box: Box, index: int, time: float) -> None:
        t.box = tuple(int(v) for v in box)
        if not t.visible or t.last_frame != index or t.hits == 0:
            t.hits += 1
        t.visible = True
        t.last_frame = index
        t.last_time = time


# ---------------------------------------------------------------------- identity
def _as_dicts(tracks) -> list[dict]:
    return [t.to_dict() if isinstance(t, Track) else dict(t) for t in tracks]


def identity_references(references: list | None, embedding: list | None) -> list:
    """A track's identity references: its quality-gated descriptors, else its mean embedding."""
    if references:
        return references
    return [embedding] if embedding is not None else []


def merge_tracks(tracks, frames: dict[int, set] | None = None) -> dict[int, int]:
    """Map each track id to a merged id (the smallest id of its group).

    Tracks are taken in id order; each joins the group that :func:`inference.identity.decide` says is
    the SAME person (the groups' references as candidates, so a look-alike among them narrows the
    margin), provided the two never appear on the same frame (``frames``: track id -> frame indices;
    when not given, the tracks' [first_frame, last_frame] spans must not overlap). Tracks without
    references stay on their own.
    """
    items = sorted(_as_dicts(tracks), key=lambda d: d["id"])

    def overlap(a: dict, b: dict) -> bool:
        if frames is not None:
            return bool(frames.get(a["id"], set()) & frames.get(b["id"], set()))
        return not (a["last_frame"] < b["first_frame"] or b["last_frame"] < a["first_frame"])

    groups: dict[int, dict] = {}  # root id -> {"members": [...], "refs": [...]}
    out: dict[int, int] = {}
    for d in items:
        refs = identity_references(d.get("references"), d.get("embedding"))
        root = d["id"]
        if refs:
            known = {r: g["refs"] for r, g in groups.items() if g["refs"]}
            decision = identity.decide(refs, known)
            target = groups.get(decision.candidate)
            if decision.same and target is not None and not any(overlap(d, m) for m in target["members"]):
                root = decision.candidate
        group = groups.setdefault(root, {"members": [], "refs": []})
        group["members"].append(d)
        group["refs"] = identity.merge_references(group["refs"], refs)
        out[d["id"]] = root
    return out


def session_suggestions(groups: dict, frames: dict, allowed=None) -> list[tuple]:
    """Pairs of one video's groups of tracks to offer as "possibly the same person" (never linked).

    ``groups``: merged id -> references; ``frames``: merged id -> frame indices. For each group, in id
    order, the nearest earlier group it never shares a frame with and ``allowed(earlier, later)`` (when
    given) accepts, if :func:`inference.identity.decide_within` calls the pair MAYBE or SAME (a SAME pair
    left apart, e.g. by a look-alike narrowing the margin, is offered rather than linked). Returns
    ``(earlier, later, decision)`` triples. Groups seen on one frame are never paired.
    """
    roots = sorted(r for r, refs in groups.items() if refs)
    out = []
    for i, later in enumerate(roots):
        best = None
        for earlier in roots[:i]:
            if frames.get(earlier, set()) & frames.get(later, set()):
                continue
            if allowed is not None and not allowed(earlier, later):
                continue
            d = identity.decide_within(groups[later], groups[earlier])
            if d.outcome != identity.NEW and (best is None or d.distance < best[2].distance):
                best = (earlier, later, d)
        if best is not None:
            out.append(best)
    return out


def match_known(tracks, known: dict, rejected=()) -> dict[int, object]:
    """Match tracks to known people: ``{track_id: person_id}`` where :func:`inference.identity.decide`
    says SAME (``known``: person id -> reference descriptors; ``rejected``: pairs marked "not the same")."""
    out: dict[int, object] = {}
    if not known:
        return out
    for d in _as_dicts(tracks):
        refs = identity_references(d.get("references"), d.get("embedding"))
        if not refs:
            continue
        decision = identity.decide(refs, known, rejected)
        if decision.same:
            out[d["id"]] = decision.candidate
    return out
