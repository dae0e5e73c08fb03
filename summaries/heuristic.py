"""The heuristic backend: a plain-text summary computed from the digest, no model. Deterministic.

Every figure is written as the reader sees it (percentages by :func:`sessions_app.units.percent`,
times by :func:`~sessions_app.timefmt.clock`) and every category is decided on that shown figure,
so a sentence never contradicts its own numbers (tests/summaries/test_statements.py checks them).
"""

from __future__ import annotations

from sessions_app.units import percent, plural
from summaries.base import SummaryResult
from summaries.digest import Digest, PersonDigest, clock, gap_limit

ATTENTION_HIGH = 70  # mean attention (whole percent) at or above: high
ATTENTION_LOW = 40  # below: low; in between: moderate
PEAK_MIN = 50  # an emotion's peak is a notable moment when its probability reaches this percentage
MAX_LISTED_SHIFTS = 12
BANDS_TEXT = (
    f"high {ATTENTION_HIGH}% or more, moderate {ATTENTION_LOW}–{ATTENTION_HIGH - 1}%, low under {ATTENTION_LOW}%"
)


def band(attention: float) -> str:
    """The category of a 0..1 attention, decided on its shown whole percentage."""
    shown = percent(attention)
    if shown >= ATTENTION_HIGH:
        return "high"
    return "low" if shown < ATTENTION_LOW else "moderate"


def _pct(value: float) -> str:
    return f"{percent(value)}%"


def shifts(person: PersonDigest) -> list[tuple[float, str, str]]:
    """(time, from, to) wherever consecutive segments change emotion (an absence in between counts too)."""
    segs = person.segments
    return [(b.start, a.emotion, b.emotion) for a, b in zip(segs, segs[1:], strict=False) if a.emotion != b.emotion]


def peaks(person: PersonDigest) -> list[tuple[str, float, float]]:
    """(emotion, probability, time) of each emotion's first highest frame, for those shown at PEAK_MIN or more."""
    from inference.classes import EMOTIONS

    out = []
    for i, emotion in enumerate(EMOTIONS):
        best = max(person.samples, key=lambda s: (s.probs[i], -s.time))
        if percent(best.probs[i]) >= PEAK_MIN:
            out.append((emotion, best.probs[i], best.time))
    return sorted(out, key=lambda p: (p[2], -p[1]))


def longest_low_attention(person: PersonDigest) -> tuple[float, float] | None:
    """(start, end) of the longest run of frames whose attention shows below ATTENTION_LOW (an absence ends a run)."""
    best: tuple[float, float] | None = None
    start = prev = None
    limit = gap_limit(person.interval)
    for s in [*person.samples, None]:
        low = s is not None and percent(s.attention) < ATTENTION_LOW
        if start is not None and (not low or s.time - prev > limit):
            run = (start, prev + person.interval)
            if best is None or run[1] - run[0] > best[1] - best[0] + 1e-9:
                best = run
            start = None
        if low:
            start = s.time if start is None else start
            prev = s.time
    return best


def _attention_line(person: PersonDigest) -> str:
    att = person.mean_attention
    return f"- Attention {band(att)}: mean {_pct(att)} ({BANDS_TEXT})."


def photo_person_text(person: PersonDigest) -> list[str]:
    """A photo has one frame: no times, shifts or stretches to speak of."""
    return [
        f"{person.name}: in the photo.",
        f"- Dominant emotion {person.dominant} ({_pct(person.mean_probs[person.dominant])}).",
        _attention_line(person),
    ]


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
        lines.append(f"- {plural(len(changes), 'emotion shift')}: {listed}{more}.")
    top = peaks(person)
    if top:
        lines.append("- Peaks: " + ", ".join(f"{e} {_pct(p)} at {clock(t)}" for e, p, t in top) + ".")
    else:
        lines.append(f"- No emotion reached {PEAK_MIN}% on any frame.")
    lines.append(_attention_line(person))
    low = longest_low_attention(person)
    if low is None:
        lines.append(f"- Attention never fell below {ATTENTION_LOW}%.")
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
        f"- Attention {band(mean)} over all faces (mean {_pct(mean)}); most attentive {most.name} "
        f"({_pct(most.mean_attention)}), least attentive {least.name} ({_pct(least.mean_attention)})."
    )
    return lines


def headline(digest: Digest) -> str:
    """What was analysed, how many people the charts show and which faces the figures count."""
    seen = digest.people_charted if digest.people_charted is not None else len(digest.people)
    what = "A photo" if digest.photo else f"{clock(digest.duration)} of video"
    line = f"{what}, {plural(seen, 'person', 'people')} seen"
    if len(digest.people) < seen:
        line += f" ({len(digest.people)} with faces clear enough to describe)"
    counted = "all faces, including those below the quality bar" if digest.include_unreliable else "reliable faces only"
    return f"{line}. Figures count {counted}."


def marker_text(time: float, note: str) -> str:
    return f"{clock(time)} {note.strip() or '(no note)'}"


def summarize(digest: Digest) -> SummaryResult:
    if not digest.people:
        if digest.people_charted:
            return SummaryResult(
                text=f"{headline(digest)} None of them has a face clear enough to describe; "
                "count faces below the quality bar to include them."
            )
        return SummaryResult(text="No face was found in this session, so there is nothing to summarize.")
    lines = [headline(digest), ""]
    describe = photo_person_text if digest.photo else person_text
    for person in digest.people:
        lines += describe(person) + [""]
    if len(digest.people) > 1:
        lines += group_text(digest.people) + [""]
    if digest.markers:
        lines.append("Markers: " + "; ".join(marker_text(t, note) for t, note in digest.markers) + ".")
    return SummaryResult(text="\n".join(lines).strip())
