"""The frame pipeline: detect -> track -> landmarks -> embed -> emotion -> attention.

:class:`Analyzer` consumes frames one by one and returns a :class:`FrameResult` for
each; detection runs every ``detect_every`` frames (and on every scene cut), and
faces are carried between detections by their landmarks (the 68-point predictor
is run on the previous box; the box is then re-derived from the new landmarks).
Every ``full_every``-th detection (and every detection on a cut or with nothing
tracked) scans the whole frame at full detection scale; the others scan a coarse
(320 px) copy for large faces. Each track that detection misses is first looked
for again in a small region around it (HOG with a lowered threshold).
Embeddings are taken per track (at start, then every ``embed_every`` frames),
never per frame. Per-stage wall times are accumulated in ``Analyzer.timings``
(seconds) and ``Analyzer.frames``.
"""

from __future__ import annotations

import time as _time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference import attention as attention_mod
from inference import blinks as blinks_mod
from inference import faces as faces_mod
from inference import identity, media
from inference import quality as quality_mod
from inference.classes import EMOTIONS
from inference.results import FaceResult, FrameResult, PersonSummary
from inference.tracking import Tracker, identity_references, match_known, merge_tracks, session_suggestions

STAGES = ("decode", "detect", "landmarks", "embed", "emotion", "attention")

_CLASSIFIERS: dict = {}


def get_classifier(device: str = "auto", weights_path=None, allow_untrained: bool = False):
    """Module-level cache: one classifier per (device, weights) per process."""
    from inference.emotion.classifier import EmotionClassifier, resolve_device

    key = (str(resolve_device(device)), str(weights_path), allow_untrained)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = EmotionClassifier(weights_path=weights_path, device=device, allow_untrained=allow_untrained)
    return _CLASSIFIERS[key]


def loaded_classifiers() -> list:
    """The classifiers this process has loaded with the default weights (what a worker reports)."""
    return [clf for (_, path, untrained), clf in _CLASSIFIERS.items() if path == "None" and not untrained]


def normalised_entropy(p: np.ndarray) -> float:
    """Entropy of a probability vector over its maximum, log(K): 0 for a sure answer, 1 for uniform."""
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1.0)
    return float(min(1.0, max(0.0, -(q * np.log(q)).sum() / np.log(len(q)))))


@dataclass
class PendingFrame:
    """A frame prepared by :meth:`Analyzer.prepare`, waiting for its faces' emotion probabilities."""

    image: np.ndarray
    index: int
    time: float
    visible: list  # the tracks visible in the frame, in slot order
    landmarks: list[np.ndarray]
    crops: list[np.ndarray]  # one emotion crop per visible track


def predict_batch(classifier, pendings: list[PendingFrame]) -> list[np.ndarray]:
    """Probabilities for several prepared frames (of one analyzer or several sharing ``classifier``) with
    one ``classifier.predict`` over all their crops, split back per frame: a model call per frame costs
    more than its faces, so frames that wait together (several recordings') are classified together."""
    crops = [c for p in pendings for c in p.crops]
    probs = classifier.predict(crops) if crops else np.zeros((0, len(EMOTIONS)))
    out, start = [], 0
    for p in pendings:
        out.append(probs[start : start + len(p.crops)])
        start += len(p.crops)
    return out


class Analyzer:
    def __init__(
        self,
        device: str = "auto",
        detector: str = "hog",
        detect_every: int = 5,
        full_every: int = 5,
        coarse_target: int = 320,
        embed_every: int = 50,
        target: int = 640,
        weights_path=None,
        allow_untrained: bool = False,
        classifier=None,
        tracker: Tracker | None = None,
        known: dict | None = None,
        rejected=(),
        keep_summaries: bool = True,
    ):
        faces_mod.load_models()
        self.classifier = classifier or get_classifier(device, weights_path, allow_untrained)
        self.detector = detector
        self.detect_every = max(1, int(detect_every))
        self.full_every = max(1, int(full_every))
        self.coarse_target = coarse_target
        self._detections = 0
        self.cut_threshold = 18.0  # mean abs difference of 32x18 thumbnails (0..255)
        self.target = target
        self.tracker = tracker or Tracker(embed_every=embed_every, max_missed=max(15, 3 * self.detect_every))
        self.known = known or {}  # person id -> reference descriptors (the owner's people)
        self.rejected = set(rejected)  # pairs of person ids marked "not the same"
        self.timings: dict[str, float] = {s: 0.0 for s in STAGES}
        self.frames = 0
        self.faces = 0
        self._count = 0
        self._thumb: np.ndarray | None = None
        # track id -> known person id (identity.decide said SAME); the live path keeps it between frames
        self.names: dict[int, object] = {}
        self._det_scores: dict[tuple, float] = {}  # this frame's detections -> detector score
        # per-track aggregates for summaries
        self._agg: dict[int, dict] = defaultdict(
            lambda: {"n": 0, "p": np.zeros(len(EMOTIONS)), "att": 0.0, "frames": set()}
        )
        self._interval = 0.0
        self._last_time: float | None = None
        self.keep_summaries = keep_summaries  # False: a live recording's analyzer never summarises (bounded memory)
        # eye visibility per track on every source frame (inference.blinks), when analyze_video turns it on
        self.eyes = False
        self.eye_series: dict[int, dict] = {}

    # ------------------------------------------------------------- state between processes
    def to_state(self) -> dict:
        """What the next frame needs (plain JSON types): the tracker, the names matched, and the counters
        that decide when to detect and at which scale, so a frame served by another process is analysed
        exactly as this one would analyse it."""
        return {
            "tracker": self.tracker.to_dict(),
            "names": {str(k): v for k, v in self.names.items()},
            "count": self._count,
            "detections": self._detections,
            "thumb": None if self._thumb is None else self._thumb.tolist(),
            "interval": self._interval,
            "last_time": self._last_time,
        }

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`to_state`'s output."""
        if state.get("tracker"):
            self.tracker = Tracker.from_dict(state["tracker"])
        self.names = {int(k): v for k, v in (state.get("names") or {}).items()}
        self._count = int(state.get("count", 0))
        self._detections = int(state.get("detections", 0))
        thumb = state.get("thumb")
        self._thumb = None if thumb is None else np.asarray(thumb, dtype=np.int16)
        self._interval = float(state.get("interval") or 0.0)
        self._last_time = state.get("last_time")

    def set_known(self, known: dict, rejected=()) -> None:
        """Replace the known people (renamed, merged, deleted, a rejected pair) and match the alive
        tracks again, so a merged-away or deleted person's tracks take their new identity."""
        self.known = known or {}
        self.rejected = set(rejected)
        self.names = match_known(self.tracker.tracks, self.known, self.rejected) if self.known else {}

    # ------------------------------------------------------------- helpers
    def _scene_cut(self, image: np.ndarray) -> bool:
        thumb = cv2.resize(image, (32, 18), interpolation=cv2.INTER_AREA).astype(np.int16)
        cut = self._thumb is not None and float(np.abs(thumb - self._thumb).mean()) > self.cut_threshold
        self._thumb = thumb
        return cut

    def _embed(self, image, boxes) -> list[identity.Sample]:
        t0 = _time.perf_counter()
        scores = [self._det_scores.get(tuple(int(v) for v in b)) for b in boxes]
        out = identity.describe(image, list(boxes), scores)
        self.timings["embed"] += _time.perf_counter() - t0
        return out

    def _redetect(self, image):
        def fn(box):
            found = faces_mod.detect_in_roi(image, box, model="hog")
            if not found:
                return None
            return max(found, key=lambda b: faces_mod.iou(b, box))

        return fn

    # ------------------------------------------------------------- main step
    def process(self, image: np.ndarray, index: int = 0, time: float = 0.0) -> FrameResult:
        """Analyse one RGB frame (HxWx3 uint8) and return its result."""
        pending = self.prepare(image, index, time)
        t0 = _time.perf_counter()
        probs = self.classifier.predict(pending.crops)
        self.timings["emotion"] += _time.perf_counter() - t0
        return self.complete(pending, probs)

    def prepare(self, image: np.ndarray, index: int = 0, time: float = 0.0) -> PendingFrame:
        """The first phase of :meth:`process`: detection, tracking, landmarks, descriptors and the emotion
        crops. The frame's emotion probabilities (``classifier.predict(pending.crops)``, possibly batched
        with other frames' crops by :func:`predict_batch`) go to :meth:`complete`, which must follow before
        this analyzer prepares another frame."""
        image = media.to_rgb(image)
        h, w = image.shape[:2]
        tr = self.tracker
        timings = self.timings
        cut = self._scene_cut(image)
        detect_now = cut or self._count % self.detect_every == 0 or not tr.tracks and self.detect_every == 1
        t0 = _time.perf_counter()
        self._det_scores = {}
        if cut:
            for t in tr.tracks:
                t.visible = False
        if detect_now:
            # full-scale scan on cuts, when nothing is tracked, and every full_every-th
            # detection; in between a coarse scan (large faces) plus ROI checks of tracks
            full = cut or not tr.visible or self._detections % self.full_every == 0 or self.detector != "hog"
            plan = None
            if not full:
                plan = faces_mod.DetectionPlan(scale=min(1.0, self.coarse_target / float(max(h, w))), upsample=0)
            self._detections += 1
            scored = faces_mod.detect_scored(image, model=self.detector, target=self.target, plan=plan)
            boxes = [b for b, _ in scored]
            self._det_scores = {tuple(b): sc for b, sc in scored}
            timings["detect"] += _time.perf_counter() - t0
            t1 = _time.perf_counter()
            tr.update(
                boxes, index, time, embed=lambda bs: self._embed(image, bs), redetect=self._redetect(image), cut=cut
            )
            timings["detect"] += _time.perf_counter() - t1 - 0  # ROI re-detection counts as detection
        visible = tr.visible
        # landmarks on every visible face (on the detection box, or the carried box)
        t0 = _time.perf_counter()
        points = faces_mod.landmarks(image, [t.box for t in visible])
        new_boxes = {}
        for t, pts in zip(visible, points, strict=False):
            if detect_now and t.last_frame == index:
                t.ratios = faces_mod.landmark_ratios(t.box, pts)
            box = faces_mod.box_from_landmarks(pts, w, h, t.ratios)
            ok = (box[1] - box[3]) >= 8 and (box[2] - box[0]) >= 8
            if not detect_now:
                new_boxes[t.id] = box if ok else None
            t.landmarks = pts.tolist()
        timings["landmarks"] += _time.perf_counter() - t0
        if not detect_now:
            tr.propagate(index, time, new_boxes)
        visible = tr.visible
        # embeddings: per track, at start and every embed_every frames
        need = [t for t in visible if tr.needs_embedding(t)]
        if need:
            for t, e in zip(need, self._embed(image, [t.box for t in need]), strict=False):
                tr.observe(t, e, index, time)  # may end the track: someone else is in its place
            visible = tr.visible
        if self.known:
            # every track given a descriptor this frame (here, or by the tracker for a new face) is matched
            fresh = [t for t in visible if t.since_embed == 0 and t.n_embeddings]
            if fresh:
                self.names.update(match_known(fresh, self.known, self.rejected))
        # emotion, batched over the faces of the frame
        t0 = _time.perf_counter()
        lms = [np.asarray(t.landmarks, dtype=np.float32) for t in visible]
        crops = [self.classifier.face_crop(image, t.box, lm) for t, lm in zip(visible, lms, strict=False)]
        timings["emotion"] += _time.perf_counter() - t0
        return PendingFrame(image=image, index=index, time=time, visible=visible, landmarks=lms, crops=crops)

    def complete(self, pending: PendingFrame, probs) -> FrameResult:
        """The second phase of :meth:`process`: the frame's result from its faces' probabilities ``(N, 7)``."""
        image, index, time = pending.image, pending.index, pending.time
        visible, lms = pending.visible, pending.landmarks
        if len(probs) != len(visible):
            raise ValueError(f"{len(probs)} probability rows for {len(visible)} faces")
        h, w = image.shape[:2]
        tr = self.tracker
        t0 = _time.perf_counter()
        results = []
        gray = blinks_mod.to_gray(image) if self.eyes and visible else None
        for slot, (t, lm, p) in enumerate(zip(visible, lms, probs, strict=False)):
            att = attention_mod.analyse(lm, w, h)
            k = int(np.argmax(p))
            box = tuple(int(v) for v in t.box)
            # the head pose is the one attention just estimated (no second solvePnP per face)
            fq = quality_mod.FaceQuality(
                size=float(min(box[2] - box[0], box[1] - box[3])),
                sharpness=quality_mod.sharpness(image, box),
                yaw=float(att.yaw),
                pitch=float(att.pitch),
                detection=self._det_scores.get(box),
            )
            results.append(
                FaceResult(
                    track_id=t.id,
                    slot=slot,
                    box=box,
                    probabilities={e: round(float(v), 6) for e, v in zip(EMOTIONS, p, strict=False)},
                    emotion=EMOTIONS[k],
                    confidence=round(float(p[k]), 6),
                    attention=att.score,
                    yaw=att.yaw,
                    pitch=att.pitch,
                    roll=att.roll,
                    eye_openness=att.eye_openness,
                    person=None if self.names.get(t.id) is None else str(self.names[t.id]),
                    quality=quality_mod.quality_score(fq),
                    uncertainty=round(normalised_entropy(p), 6),
                )
            )
            if gray is not None:
                self._record_eye(t.id, index, blinks_mod.eye_visibility(gray, lm), results[-1].quality)
            if not self.keep_summaries:
                continue
            agg = self._agg[t.id]
            agg["n"] += 1
            agg["p"] += p
            agg["att"] += att.score
            agg["frames"].add(index)
        self.timings["attention"] += _time.perf_counter() - t0
        tr.end_frame(index)
        if self._last_time is not None and time > self._last_time:
            dt = time - self._last_time
            self._interval = dt if self._interval == 0 else min(self._interval, dt)
        self._last_time = time
        self._count += 1
        self.frames += 1
        self.faces += len(results)
        return FrameResult(index=index, time=time, faces=results)

    # ------------------------------------------------------------- eyes between sampled frames
    def _record_eye(self, track_id: int, index: int, value: float | None, quality: float | None = None) -> None:
        if value is None:
            return
        series = self.eye_series.setdefault(track_id, {"frames": [], "values": [], "quality": {}})
        series["frames"].append(int(index))
        series["values"].append(float(value))
        if quality is not None:
            series["quality"][int(index)] = float(quality)

    def track_eyes(self, image: np.ndarray, index: int) -> None:
        """Eye visibility of the faces tracked now on a source frame between two sampled ones: 68 landmarks
        on each face's box of the last sampled frame (at most 1/fps old; boxes chained from frame to frame
        drift down the face), nothing else. The tracker is not touched, so the sampled frames' results are
        the same with or without this."""
        t0 = _time.perf_counter()
        image = media.to_rgb(image)
        visible = self.tracker.visible
        if visible:
            gray = blinks_mod.to_gray(image)
            for t, pts in zip(visible, faces_mod.landmarks(image, [t.box for t in visible]), strict=True):
                self._record_eye(t.id, index, blinks_mod.eye_visibility(gray, pts))
        self.timings["eyes"] = self.timings.get("eyes", 0.0) + _time.perf_counter() - t0

    def eye_events(self, fps: float) -> dict[int, dict]:
        """Per person of this video (merged track id): ``events`` (``blinks.EyeEvent``, each with the
        ``quality`` of the face's sampled frame at or before its end), ``seconds`` measured."""
        merged = self.identities()
        groups: dict[int, dict[int, float]] = defaultdict(dict)
        quality: dict[int, dict[int, float]] = defaultdict(dict)
        for tid, series in self.eye_series.items():
            root = merged.get(tid, tid)
            for frame, value in zip(series["frames"], series["values"], strict=True):
                groups[root].setdefault(frame, value)
            quality[root].update(series["quality"])
        out = {}
        for root, values in groups.items():
            frames = sorted(values)
            events = blinks_mod.detect_events(frames, [values[f] for f in frames], fps)
            sampled = sorted(quality[root])
            for ev in events:
                before = [f for f in sampled if f <= ev.end_frame]
                key = before[-1] if before else (sampled[0] if sampled else None)
                ev.quality = None if key is None else quality[root][key]
            out[root] = {"events": events, "seconds": len(frames) / fps}
        return out

    # ------------------------------------------------------------- summaries
    def identities(self) -> dict[int, int]:
        """Track id -> merged track id (same person within this video)."""
        frames = {tid: a["frames"] for tid, a in self._agg.items()}
        return merge_tracks(self.tracker.all_tracks(), frames=frames)

    def suggestions(self) -> list[tuple[int, int, float]]:
        """Pairs of this video's people (merged track ids) never seen on one frame whose faces are close
        enough to offer as "possibly the same person" (``tracking.session_suggestions``), with the
        distance; what ``finalize_session`` offers the owner for an analysed session."""
        merged = self.identities()
        refs: dict[int, list] = defaultdict(list)
        frames: dict[int, set] = defaultdict(set)
        for t in self.tracker.all_tracks():
            root = merged.get(t.id, t.id)
            refs[root] += identity_references(t.references, t.embedding)
            frames[root] |= self._agg[t.id]["frames"] if t.id in self._agg else set()
        groups = {r: identity.merge_references([], v, k=identity.PERSON_REFERENCES) for r, v in refs.items()}
        return [(a, b, d.distance) for a, b, d in session_suggestions(groups, frames)]

    def summary(self, interval: float | None = None) -> list[PersonSummary]:
        """One entry per person (merged tracks), by time on screen, longest first."""
        interval = interval if interval is not None else (self._interval or 0.0)
        merged = self.identities()
        groups: dict[int, list[int]] = defaultdict(list)
        for tid in self._agg:
            groups[merged.get(tid, tid)].append(tid)
        tracks = {t.id: t for t in self.tracker.all_tracks()}
        out = []
        for root, tids in groups.items():
            n = sum(self._agg[t]["n"] for t in tids)
            if n == 0:
                continue
            p = sum(self._agg[t]["p"] for t in tids) / n
            att = sum(self._agg[t]["att"] for t in tids) / n
            frames = set().union(*(self._agg[t]["frames"] for t in tids))
            name = next((self.names[t] for t in tids if self.names.get(t) is not None), None)
            out.append(
                PersonSummary(
                    track_id=root,
                    person=None if name is None else str(name),
                    frames=len(frames),
                    time_on_screen=len(frames) * interval,
                    first_time=min(tracks[t].first_time for t in tids if t in tracks) if tids else 0.0,
                    last_time=max(tracks[t].last_time for t in tids if t in tracks) if tids else 0.0,
                    mean_probabilities=dict(zip(EMOTIONS, (float(v) for v in p), strict=False)),
                    dominant_emotion=EMOTIONS[int(np.argmax(p))],
                    mean_attention=float(att),
                    track_ids=sorted(tids),
                )
            )
        return sorted(out, key=lambda s: (-s.frames, s.track_id))

    def relabel(self, frames: list[FrameResult]) -> list[FrameResult]:
        """Rewrite track ids in ``frames`` to merged ids (in place) and return them."""
        merged = self.identities()
        for fr in frames:
            for f in fr.faces:
                f.track_id = merged.get(f.track_id, f.track_id)
        return frames


# ----------------------------------------------------------------- conveniences
class VideoAnalysis:
    """Result of :func:`analyze_video` / :func:`analyze_image`."""

    def __init__(self, path, info, frames, summary, timings, n_frames, elapsed, eyes=None, eyes_unavailable=""):
        self.path = str(path)
        # merged track id -> {"events": [blinks.EyeEvent], "seconds": measured}; None when not measured
        self.eyes: dict | None = eyes
        self.eyes_unavailable = eyes_unavailable  # why not, in words ("" when measured or not asked for)
        self.info = info
        self.frames: list[FrameResult] = frames
        self.summary: list[PersonSummary] = summary
        self.timings = timings
        self.n_frames = n_frames
        self.elapsed = elapsed

    def to_dict(self) -> dict:
        return {
            "input": self.path,
            "media": self.info.to_dict(),
            "frames": [f.to_dict() for f in self.frames],
            "people": [s.to_dict() for s in self.summary],
            "eyes": None
            if self.eyes is None
            else {
                str(k): {"seconds": round(v["seconds"], 3), "events": [e.to_dict() for e in v["events"]]}
                for k, v in self.eyes.items()
            },
            "eyes_unavailable": self.eyes_unavailable,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "analysed_frames": self.n_frames,
            "elapsed_s": round(self.elapsed, 3),
        }


def auto_detect_every(fps: float | None) -> int:
    """Full detection about 5 times per second of video: every 5th frame at 25 fps,
    every frame when sampling at 5 fps or less (landmarks cannot follow large motion)."""
    if not fps or fps <= 0:
        return 1
    return max(1, int(round(fps / 5.0)))


def analyze_video(
    path,
    fps: float | None = None,
    start: float = 0.0,
    end: float | None = None,
    analyzer: Analyzer | None = None,
    on_frame=None,
    merge: bool = True,
    eyes: bool = False,
    **kwargs,
) -> VideoAnalysis:
    """Analyse a video (or an image) file; ``on_frame(frame, result)`` is called per frame.

    ``eyes``: also measure eye visibility on every source frame between the sampled ones and find blinks
    and eye closures (``VideoAnalysis.eyes``), when the source has at least ``blinks.MIN_FPS`` frames a
    second (otherwise ``eyes_unavailable`` says why)."""
    info = media.probe(path)
    if analyzer is None and kwargs.get("detect_every") is None:
        kwargs["detect_every"] = auto_detect_every(fps or info.fps)
    an = analyzer or Analyzer(**kwargs)
    unavailable = blinks_mod.availability(info.fps, info.kind) if eyes else ""
    an.eyes = bool(eyes) and not unavailable
    frames = []
    t_start = _time.perf_counter()
    # with eyes, every source frame is decoded; the ones the sampling grid picks (the first at or after
    # each 1/fps instant, as media.iter_video samples) are analysed, the others only have their eyes measured
    it = media.iter_frames(path, fps=None if an.eyes else fps, start=start, end=end)
    step = 1.0 / fps if (an.eyes and fps) else 0.0
    next_t = start
    interval = (1.0 / fps) if fps else (1.0 / info.fps if info.fps else 0.0)
    while True:
        t0 = _time.perf_counter()
        frame = next(it, None)
        an.timings["decode"] += _time.perf_counter() - t0
        if frame is None:
            break
        if step:
            if frame.time + 1e-6 < next_t:
                an.track_eyes(frame.image, frame.index)
                continue
            while next_t <= frame.time + 1e-6:
                next_t += step
        res = an.process(frame.image, frame.index, frame.time)
        frames.append(res)
        if on_frame is not None:
            on_frame(frame, res)
    an.tracker.finish()
    found = an.eye_events(info.fps) if an.eyes else None
    if merge:
        an.relabel(frames)
    summary = an.summary(interval=interval if info.kind == "video" else 0.0)
    return VideoAnalysis(
        path,
        info,
        frames,
        summary,
        dict(an.timings),
        len(frames),
        _time.perf_counter() - t_start,
        eyes=found,
        eyes_unavailable=unavailable,
    )


def analyze_image(path, **kwargs) -> VideoAnalysis:
    """Analyse one image file (detection on every face, no tracking history)."""
    info = media.probe(path)
    if info.kind != "image":
        raise media.MediaError(f"{Path(path).name}: is a video, not an image", str(path))
    kwargs.setdefault("detect_every", 1)
    kwargs.setdefault("target", 1280)  # one frame: afford a finer scan than for video
    return analyze_video(path, **kwargs)
