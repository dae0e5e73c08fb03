"""A compact, Django-free view of one stored session for the summarizers: per-person statistics, a
smoothed timeline of emotion segments, and the markers.

:func:`build_digest` reads the database (observations in one query, then names and markers);
everything else here works on plain data so the heuristic and the prompt can be tested on it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from inference.classes import EMOTIONS
from sessions_app.services.runs import current_observations
from sessions_app.timefmt import clock  # noqa: F401 - the summaries modules take it from here

DEFAULT_MIN_SEGMENT_SECONDS = 2.0  # runs shorter than this are folded into a neighbour


@dataclass
class Sample:
    time: float
    probs: tuple[float, ...]  # EMOTIONS order
    attention: float

    @property
    def emotion(self) -> str:
        return EMOTIONS[max(range(len(EMOTIONS)), key=self.probs.__getitem__)]


@dataclass
class Segment:
    """A stretch of one person's presence with one dominant emotion."""

    start: float
    end: float
    emotion: str
    frames: int
    prob_sum: list[float]  # per emotion, summed over the frames
    attention_sum: float
    block: int = 0  # segments of different blocks are separated by an absence; never merged

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def share(self) -> float:
        """Mean probability of the segment's emotion."""
        return self.prob_sum[EMOTIONS.index(self.emotion)] / self.frames if self.frames else 0.0

    @property
    def attention(self) -> float:
        return self.attention_sum / self.frames if self.frames else 0.0

    def absorb(self, other: Segment) -> None:
        self.start, self.end = min(self.start, other.start), max(self.end, other.end)
        self.frames += other.frames
        self.prob_sum = [a + b for a, b in zip(self.prob_sum, other.prob_sum, strict=True)]
        self.attention_sum += other.attention_sum


@dataclass
class PersonDigest:
    name: str
    person_id: int | None
    samples: list[Sample]
    interval: float  # seconds per sample
    segments: list[Segment] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.samples)

    @property
    def first(self) -> float:
        return self.samples[0].time

    @property
    def last(self) -> float:
        return self.samples[-1].time

    @property
    def end(self) -> float:
        """Where the person was last seen: the end of the last segment."""
        return self.segments[-1].end if self.segments else self.last + self.interval

    @property
    def time_on_screen(self) -> float:
        return self.frames * self.interval

    @property
    def mean_probs(self) -> dict[str, float]:
        n = len(self.samples)
        return {e: sum(s.probs[i] for s in self.samples) / n for i, e in enumerate(EMOTIONS)}

    @property
    def dominant(self) -> str:
        probs = self.mean_probs
        return max(EMOTIONS, key=probs.__getitem__)

    @property
    def mean_attention(self) -> float:
        return sum(s.attention for s in self.samples) / len(self.samples)


@dataclass
class Digest:
    session_id: int
    title: str
    duration: float
    sample_fps: float
    people: list[PersonDigest]
    markers: list[tuple[float, str]]  # (time, note), in time order
    photo: bool = False  # one still image: no times or rates to speak of
    people_charted: int | None = None  # the people the replay charts show (None: those in ``people``)
    include_unreliable: bool = False  # which faces the figures count (sessions_app.reliability)


# --------------------------------------------------------------------------- segments
def gap_limit(interval: float) -> float:
    """An absence longer than this splits a person's timeline (a face missed for a moment does not)."""
    return max(3 * interval, 2.0)


def raw_segments(samples: list[Sample], interval: float) -> list[Segment]:
    """Runs of one per-frame dominant emotion; each ends where the next sample starts (or one interval on)."""
    out: list[Segment] = []
    block, limit = 0, gap_limit(interval)
    for i, s in enumerate(samples):
        nxt = samples[i + 1].time if i + 1 < len(samples) else None
        end = s.time + interval if nxt is None or nxt - s.time > limit else nxt
        emotion = s.emotion
        if out and out[-1].block == block and out[-1].emotion == emotion:
            seg = out[-1]
            seg.end, seg.frames, seg.attention_sum = end, seg.frames + 1, seg.attention_sum + s.attention
            seg.prob_sum = [a + b for a, b in zip(seg.prob_sum, s.probs, strict=True)]
        else:
            out.append(Segment(s.time, end, emotion, 1, list(s.probs), s.attention, block))
        if nxt is not None and nxt - s.time > limit:
            block += 1
    return out


def smooth(segments: list[Segment], min_seconds: float) -> list[Segment]:
    """Fold every segment shorter than ``min_seconds`` into its longer neighbour (same block), shortest
    first, then join neighbours that now share an emotion. Deterministic; O(n log n)."""
    segs = [Segment(s.start, s.end, s.emotion, s.frames, list(s.prob_sum), s.attention_sum, s.block) for s in segments]
    n = len(segs)
    prev = [i - 1 for i in range(n)]
    nxt = [i + 1 if i + 1 < n else -1 for i in range(n)]
    alive = [True] * n
    version = [0] * n
    heap = [(s.duration, s.start, i, 0) for i, s in enumerate(segs) if s.duration < min_seconds]
    heapq.heapify(heap)

    def unlink(i: int) -> None:
        alive[i] = False
        p, q = prev[i], nxt[i]
        if p >= 0:
            nxt[p] = q
        if q >= 0:
            prev[q] = p

    def push(i: int) -> None:
        version[i] += 1
        if segs[i].duration < min_seconds:
            heapq.heappush(heap, (segs[i].duration, segs[i].start, i, version[i]))

    def join_same(i: int) -> int:
        """Join ``i`` with same-emotion neighbours of its block; returns the survivor."""
        for j in (prev[i], nxt[i]):
            if j >= 0 and alive[j] and segs[j].block == segs[i].block and segs[j].emotion == segs[i].emotion:
                segs[j].absorb(segs[i])
                unlink(i)
                i = j
        return i

    while heap:
        _, _, i, ver = heapq.heappop(heap)
        if not alive[i] or ver != version[i]:
            continue
        block = segs[i].block
        options = [j for j in (prev[i], nxt[i]) if j >= 0 and segs[j].block == block]
        if not options:
            continue  # alone in its block: keep it
        target = max(options, key=lambda j: (segs[j].duration, -segs[j].start))
        segs[target].absorb(segs[i])  # keeps the target's emotion
        unlink(i)
        push(join_same(target))
    return [segs[i] for i in range(n) if alive[i]]


# --------------------------------------------------------------------------- building
def digest_from_rows(
    rows: list[tuple[Any, ...]],
    names: dict[int, str],
    *,
    session_id: int,
    title: str,
    duration: float,
    sample_fps: float,
    markers: list[tuple[float, str]],
    min_segment_seconds: float = DEFAULT_MIN_SEGMENT_SECONDS,
    photo: bool = False,
    people_charted: int | None = None,
    include_unreliable: bool = False,
) -> Digest:
    """``rows``: (time, person id or None, track id, seven probabilities…, attention), in time order."""
    interval = 1.0 / sample_fps if sample_fps and sample_fps > 0 else 1.0
    groups: dict[tuple[str, int], list[Sample]] = {}
    for row in rows:
        t, person_id, track_id = row[0], row[1], row[2]
        key = ("p", person_id) if person_id is not None else ("t", track_id)
        groups.setdefault(key, []).append(Sample(float(t), tuple(float(v) for v in row[3:10]), float(row[10])))
    unknown = 0
    people = []
    for key, samples in sorted(groups.items(), key=lambda kv: kv[1][0].time):  # by first appearance
        if key[0] == "p":
            name, person_id = names.get(key[1], f"Person {key[1]}"), key[1]
        else:
            unknown += 1
            name, person_id = f"Unknown face {unknown}", None
        person = PersonDigest(name=name, person_id=person_id, samples=samples, interval=interval)
        person.segments = smooth(raw_segments(samples, interval), min_segment_seconds)
        people.append(person)
    people.sort(key=lambda p: (-p.frames, p.first))  # the main subjects first
    return Digest(
        session_id,
        title,
        float(duration or 0.0),
        float(sample_fps or 0.0),
        people,
        markers,
        photo=photo,
        people_charted=people_charted,
        include_unreliable=include_unreliable,
    )


def build_digest(
    session: Any, *, min_segment_seconds: float = DEFAULT_MIN_SEGMENT_SECONDS, include_unreliable: bool = False
) -> Digest:
    """The digest of a stored session, with the people's current names; faces below the quality bar
    (sessions_app.reliability) are left out unless ``include_unreliable``. ``people_charted`` counts
    people as the replay charts do (sessions_app.selectors.timeline: one series per person with any face,
    reliable or not), so the summary's count matches the chart beside it."""
    from people.models import Person
    from sessions_app.models import Session
    from sessions_app.reliability import reliable_q

    observations = current_observations(session)
    charted = observations.order_by().values("person").distinct().count()
    if not include_unreliable:
        observations = observations.filter(reliable_q())
    rows = list(
        observations.order_by("time", "slot").values_list("time", "person_id", "track_id", *EMOTIONS, "attention")
    )
    ids = {r[1] for r in rows if r[1] is not None}
    names = {p.pk: p.display_name for p in Person.objects.filter(pk__in=ids).only("pk", "name", "number")}
    markers = [(float(t), note) for t, note in session.markers.order_by("time", "pk").values_list("time", "note")]
    return digest_from_rows(
        rows,
        names,
        session_id=session.pk,
        title=session.title,
        duration=session.duration,
        sample_fps=session.sample_fps,
        markers=markers,
        min_segment_seconds=min_segment_seconds,
        photo=session.source == Session.Source.IMAGE,
        people_charted=charted,
        include_unreliable=include_unreliable,
    )
