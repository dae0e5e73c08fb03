"""Linking faces across frames into tracks, merging tracks and matching known people.

How it works (see :class:`Tracker`):

* On *detection frames* detections are associated with live tracks greedily by a
  score ``IoU - 0.8 * embedding distance``; the embedding term is only computed
  when the overlap is ambiguous (a detection overlapping several tracks or the
  reverse, as when two faces cross). Unmatched detections get an embedding and are
  re-attached to a recently lost track whose embedding is within
  ``reid_threshold``, otherwise they start a new track.
* Between detections the caller carries each track's box with its landmarks
  (:meth:`Tracker.propagate`), so every analysed frame has a box for every
  visible face.
* A track missed by detection stays alive, invisible, for ``max_missed`` frames
  (short occlusions, detector misses, crossings) and can be re-attached.
* Embeddings are computed when a track starts and refreshed every
  ``embed_every`` frames; the track keeps their running mean.

The whole state is plain JSON types (:meth:`Tracker.to_dict` / :meth:`Tracker.from_dict`)
so live recordings can keep it between tasks.

Thresholds (Euclidean distance between face_recognition's 128-d embeddings):
face_recognition's usual tolerance is 0.6. Mean embeddings of tracks are cleaner
than single photos, so :data:`MATCH_THRESHOLD` = 0.5 is used for matching known
people and merging tracks: it keeps different people apart (obama vs biden ~0.8)
while the same person across photos and poses stays ~0.3-0.45.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inference.faces import Box, iou

MATCH_THRESHOLD = 0.5  # known people and within-video merging
REID_THRESHOLD = 0.55  # re-attaching a detection to a recently lost track


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

    def add_embedding(self, emb) -> None:
        e = np.asarray(emb, dtype=np.float64)
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
        }

    @classmethod
    def from_dict(cls, d: dict) -> Track:
        d = dict(d)
        d["box"] = tuple(int(v) for v in d["box"])
        if d.get("ratios") is not None:
            d["ratios"] = tuple(d["ratios"])
        return cls(**d)


@dataclass
class Tracker:
    max_missed: int = 15  # frames a lost track can be re-attached
    embed_every: int = 30  # frames between embedding refreshes
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
    ) -> list[Track]:
        """Associate this detection frame's ``boxes``; returns the visible tracks.

        ``embed(boxes)`` computes embeddings for some boxes of this frame (called only
        when needed); ``redetect(box)`` looks for a face near a track that detection
        missed (e.g. a small ROI detection) and returns its box or None.
        """
        cands = [t for t in self.tracks]
        pairs = []
        for di, b in enumerate(boxes):
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
        det_emb: dict[int, np.ndarray] = {}
        if ambiguous:
            for di, e in zip(ambiguous, embed([boxes[d] for d in ambiguous]), strict=False):
                det_emb[di] = np.asarray(e)
        scored = []
        for di, ti, ov in pairs:
            score = ov
            t = cands[ti]
            if di in det_emb and t.embedding is not None:
                dist = float(np.linalg.norm(det_emb[di] - np.asarray(t.embedding)))
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
        # unmatched detections: re-identify against lost tracks, else new tracks
        new_dets = [di for di in range(len(boxes)) if di not in used_d]
        if new_dets:
            missing = [di for di in new_dets if di not in det_emb]
            for di, e in zip(missing, embed([boxes[d] for d in missing]) if missing else [], strict=False):
                det_emb[di] = np.asarray(e)
            for di in new_dets:
                best, best_d = None, self.reid_threshold
                for ti, t in enumerate(cands):
                    if ti in used_t or t.embedding is None or di not in det_emb:
                        continue
                    dist = float(np.linalg.norm(det_emb[di] - np.asarray(t.embedding)))
                    if dist < best_d:
                        best, best_d = ti, dist
                if best is not None:
                    used_t.add(best)
                    used_d.add(di)
                    matches.append((di, best))
        for di, ti in matches:
            t = cands[ti]
            self._seen(t, boxes[di], index, time)
            if di in det_emb:
                t.add_embedding(det_emb[di])
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

    def finish(self) -> None:
        self.finished.extend(self.tracks)
        self.tracks = []

    def needs_embedding(self, t: Track) -> bool:
        return t.embedding is None or t.since_embed >= self.embed_every

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


def merge_tracks(tracks, threshold: float = MATCH_THRESHOLD, frames: dict[int, set] | None = None) -> dict[int, int]:
    """Map each track id to a merged id (the smallest id of its group).

    Tracks are merged when their mean embeddings are closer than ``threshold`` and
    they never appear on the same frame (``frames``: track id -> frame indices; when
    not given, the tracks' [first_frame, last_frame] spans must not overlap).
    Tracks without an embedding stay on their own.
    """
    items = sorted(_as_dicts(tracks), key=lambda d: d["id"])
    parent = {d["id"]: d["id"] for d in items}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    members: dict[int, list[dict]] = {d["id"]: [d] for d in items}

    def overlap(a: dict, b: dict) -> bool:
        if frames is not None:
            return bool(frames.get(a["id"], set()) & frames.get(b["id"], set()))
        return not (a["last_frame"] < b["first_frame"] or b["last_frame"] < a["first_frame"])

    pairs = []
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if a.get("embedding") is None or b.get("embedding") is None:
                continue
            d = float(np.linalg.norm(np.asarray(a["embedding"]) - np.asarray(b["embedding"])))
            if d < threshold:
                pairs.append((d, a["id"], b["id"]))
    for _, a, b in sorted(pairs):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if any(overlap(x, y) for x in members[ra] for y in members[rb]):
            continue
        root, other = min(ra, rb), max(ra, rb)
        parent[other] = root
        members[root] += members.pop(other)
    return {d["id"]: find(d["id"]) for d in items}


def match_known(tracks, known: dict, threshold: float = MATCH_THRESHOLD) -> dict[int, object]:
    """Match tracks to known people.

    ``known`` maps a person id to a list of 128-d embeddings. A track is given the
    person whose nearest embedding is closest to the track's mean embedding, if that
    distance is below ``threshold`` (0.5 by default, stricter than face_recognition's
    0.6 tolerance; see the module docstring). Returns ``{track_id: person_id}`` for
    matched tracks only.
    """
    people = [(pid, np.asarray(e, dtype=np.float64)) for pid, embs in known.items() for e in embs]
    out: dict[int, object] = {}
    if not people:
        return out
    for d in _as_dicts(tracks):
        if d.get("embedding") is None:
            continue
        e = np.asarray(d["embedding"], dtype=np.float64)
        best, best_d = None, threshold
        for pid, ke in people:
            dist = float(np.linalg.norm(e - ke))
            if dist < best_d:
                best, best_d = pid, dist
        if best is not None:
            out[d["id"]] = best
    return out
