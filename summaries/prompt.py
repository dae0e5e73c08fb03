"""The chat messages sent to an LLM: compact per-person statistics, a ``mm:ss.s`` segment timeline and the
markers, kept under a size a small model's context holds by coarsening the timeline of long sessions."""

from __future__ import annotations

from sessions_app.units import percent_text
from summaries.base import Messages
from summaries.digest import Digest, PersonDigest, Segment, clock, smooth
from summaries.heuristic import BANDS_TEXT

# About 1,500 tokens at ~4 characters a token (English and digits); leaves room for the reply in a 2k context.
MAX_PROMPT_CHARS = 6000
MAX_MARKERS = 30
MAX_NOTE_CHARS = 80

SYSTEM = (
    "You write short, factual summaries of emotion-analysis data from a recorded video session. "
    "Use only the data given; do not guess at causes. Cite times exactly in the form mm:ss.s "
    "(hh:mm:ss.s past an hour), for example 'at 01:05.2', whenever you mention a moment. "
    "Write one short paragraph per person, then one about the group if several people appear."
)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _person_block(person: PersonDigest, segments: list[Segment]) -> list[str]:
    probs = person.mean_probs
    top = sorted(probs, key=lambda e: -probs[e])[:3]
    lines = [
        f"Person: {_one_line(person.name, 60)}. On screen {clock(person.first)}–{clock(person.end)} "
        f"({person.time_on_screen:.0f} s). Mean: " + ", ".join(f"{e} {percent_text(probs[e])}" for e in top) + ". "
        f"Attention mean {percent_text(person.mean_attention)}.",
        "Timeline (start–end: dominant emotion, its mean %, attention):",
    ]
    lines += [
        f"{clock(s.start)}–{clock(s.end)}: {s.emotion} {percent_text(s.share)}, att {percent_text(s.attention)}"
        for s in segments
    ]
    return lines


def _render(digest: Digest, timelines: list[list[Segment]]) -> str:
    count = digest.people_charted if digest.people_charted is not None else len(digest.people)
    what = "A photo" if digest.photo else f"Session length {clock(digest.duration)}"
    lines = [
        f"{what}, {count} {'person' if count == 1 else 'people'}. Attention runs from 0% to 100% ({BANDS_TEXT}).",
        "",
    ]
    for person, segments in zip(digest.people, timelines, strict=True):
        lines += _person_block(person, segments) + [""]
    if digest.markers:
        lines.append("Markers set by the viewer (time: note):")
        lines += [
            f"{clock(t)}: {_one_line(note, MAX_NOTE_CHARS) or '(no note)'}" for t, note in digest.markers[:MAX_MARKERS]
        ]
        lines.append("")
    lines.append(
        "Summarize how each person's emotions and attention changed over time, citing the times (mm:ss.s) "
        "of the main shifts and notable moments."
    )
    return "\n".join(lines)


def build_user_text(digest: Digest, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """The data part of the prompt; timelines coarsen (minimum segment length doubling) until it fits."""
    timelines = [p.segments for p in digest.people]
    min_seconds = 2.0
    text = _render(digest, timelines)
    while len(text) > max_chars and min_seconds < 4 * max(digest.duration, 1.0):
        min_seconds *= 2
        timelines = [smooth(p.segments, min_seconds) for p in digest.people]
        text = _render(digest, timelines)
    if len(text) > max_chars:  # many people: keep each person's statistics and as much timeline as fits
        per_person = max(1, (max_chars // max(len(digest.people), 1)) // 60)
        timelines = [t[:per_person] for t in timelines]
        text = _render(digest, timelines)[:max_chars]
    return text


def build_messages(digest: Digest, max_chars: int = MAX_PROMPT_CHARS) -> Messages:
    if not digest.people:
        user = "No face was found in this session. Say so in one sentence."
    else:
        user = build_user_text(digest, max_chars)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def as_text(messages: Messages) -> str:
    """The prompt as stored on the summary row, for transparency."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
