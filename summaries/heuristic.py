"""The heuristic backend: a plain-text summary computed from the digest, no model. Deterministic."""

from __future__ import annotations

from summaries.base import SummaryResult
from summaries.digest import Digest, PersonDigest, clock, gap_limit

ATTENTION_HIGH = 0.70  # mean attention at or above: high
ATTENTION_LOW = 0.40  # below: low; in between: moderate
PEAK_MIN = 0.50  # an emotion's peak is a notable moment when its probability reaches this
MAX_LISTED_SHIFTS = 12


def band(attention: float) -> str:
    if attention >= ATTENTION_HIGH:
        return "high"
    return "low" if attention < ATTENTION_LOW else "moderate"


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def shifts(person: PersonDigest) -> list[tuple[float, str, str]]:
    """(time, from, to) wherever consecutive segments change emotion (an absence in between counts too)."""
    segs = person.segments
    return [(b.start, a.emotion, b.emotion) for a, b in zip(segs, segs[1:], strict=False) if a.emotion != b.emotion]


def peaks(person: PersonDigest) -> list[tuple[str, float, float]]:
    """(emotion, probability, time) of each emotion's first highest frame, for those reaching PEAK_MIN."""
    from inference.classes import EMOTIONS

    out = []
    for i, emotion in enumerate(EMOTIONS):
        best = max(person.samples, key=lambda s: (s.probs[i], -s.time))
        if best.probs[i] >= PEAK_MIN:
            out.append((emotion, best.probs[i], best.time))
    return sorted(out, key=lambda p: (p[2], -p[1]))


def longest_low_attention(person: PersonDigest) -> tuple[float, float] | None:
    """(start, end) of the longest run of frames with attention below ATTENTION_LOW (an absence ends a run)."""
    best: tuple[float, float] | None = None
    start = prev = None
    limit = gap_limit(person.interval)
    for s in [*person.samples, None]:
        low = s is not None and s.attention < ATTENTION_LOW
        if start is not None and (not low or s.time - prev > limit):
            run = (start, prev + person.interval)
            if best is None or run[1] - run[0] > best[1] - best[0] + 1e-9:
                best = run
            start = None
        if low:
            start = s.time if start is None else start
            prev = s.time
    return best


def person_text(person: PersonDigest) -> list[str]:
    lines = [f"{person.name}: on screen {person.time_on_screen:.1f} s, {clock(person.first)}–{clock(person.end)}."]
    segs = person.segments
    lines.append(
        f"- Starts {segs[0].emotion}, ends {segs[-1].emotion}; dominant emotion {person.dominant} "
        f"(mean {_pct(person.mean_probs[person.dominant])})."
    )
    changes = shifts(person)
    if not changes:
        lines.append("- No emotion shift.")
    else:
        listed = ", ".join(f"{clock(t)} {a} → {b}" for t, a, b in changes[:MAX_LISTED_SHIFTS])
        more = f", and {len(changes) - MAX_LISTED_SHIFTS} more" if len(changes) > MAX_LISTED_SHIFTS else ""
        lines.append(f"- {len(changes)} emotion shift{'s' if len(changes) != 1 else ''}: {listed}{more}.")
    top = peaks(person)
    if top:
        lines.append("- Peaks: " + ", ".join(f"{e} {_pct(p)} at {clock(t)}" for e, p, t in top) + ".")
    else:
        lines.append(f"- No emotion reached {_pct(PEAK_MIN)} on any frame.")
    att = person.mean_attention
    lines.append(
        f"- Attention {band(att)}: mean {att:.2f} (high ≥ {ATTENTION_HIGH:.2f}, moderate "
        f"{ATTENTION_LOW:.2f}–{ATTENTION_HIGH:.2f}, low < {ATTENTION_LOW:.2f})."
    )
    low = longest_low_attention(person)
    if low is None:
        lines.append(f"- Attention never fell below {ATTENTION_LOW:.2f}.")
    else:
        lines.append(f"- Longest low-attention stretch: {clock(low[0])}–{clock(low[1])} ({low[1] - low[0]:.1f} s).")
    return lines


def group_text(people: list[PersonDigest]) -> list[str]:
    lines = [f"Group ({len(people)} people):"]
    by_emotion: dict[str, list[str]] = {}
    for p in people:
        by_emotion.setdefault(p.dominant, []).append(p.name)
    ranked = sorted(by_emotion.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    lines.append("- Dominant emotions: " + "; ".join(f"{e} for {', '.join(names)}" for e, names in ranked) + ".")
    frames = sum(p.frames for p in people)
    mean = sum(p.mean_attention * p.frames for p in people) / frames
    most = max(people, key=lambda p: (p.mean_attention, -p.first))
    least = min(people, key=lambda p: (p.mean_attention, p.first))
    lines.append(
        f"- Attention {band(mean)} over all faces (mean {mean:.2f}); most attentive {most.name} "
        f"({most.mean_attention:.2f}), least attentive {least.name} ({least.mean_attention:.2f})."
    )
    return lines


def summarize(digest: Digest) -> SummaryResult:
    if not digest.people:
        return SummaryResult(text="No face was found in this session, so there is nothing to summarize.")
    count = len(digest.people)
    lines = [f"{clock(digest.duration)} of video, {count} {'person' if count == 1 else 'people'} seen.", ""]
    for person in digest.people:
        lines += person_text(person) + [""]
    if count > 1:
        lines += group_text(digest.people) + [""]
    if digest.markers:
        lines.append("Markers: " + "; ".join(f"{clock(t)} {note}".rstrip() for t, note in digest.markers) + ".")
    return SummaryResult(text="\n".join(lines).strip())
