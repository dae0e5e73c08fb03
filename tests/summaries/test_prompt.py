"""The LLM prompt: statistics, a mm:ss segment timeline and markers, current names, and a size cap."""

from __future__ import annotations

import random
import re

import pytest

from inference.classes import EMOTIONS
from summaries.digest import build_digest, digest_from_rows
from summaries.prompt import MAX_PROMPT_CHARS, SYSTEM, as_text, build_messages

pytestmark = pytest.mark.django_db


def test_prompt_content(summary_session):
    messages = build_messages(build_digest(summary_session))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == SYSTEM and "mm:ss.s" in SYSTEM
    user = messages[1]["content"]
    assert "Old name" not in user  # current names only
    assert "Person: Alice. On screen 00:00.0–00:12.0 (12 s). Mean: happy 48%, sad 35%" in user
    assert "00:00.0–00:08.0: happy 72%, att 59%\n00:08.0–00:12.0: sad 90%, att 50%" in user
    assert "Person: Person 2." in user and "00:02.0–00:06.0: angry 70%, att 80%" in user
    assert "Person: Unknown face 1." in user and "00:10.0–00:11.0: neutral 60%, att 30%" in user
    assert "Markers set by the viewer (time: note):\n00:03.2: intro\n00:09.5: question" in user
    assert "citing the times (mm:ss.s)" in user
    assert as_text(messages).startswith("[system]\n" + SYSTEM)


def _noisy_rows(seconds: int, fps: float, people: int, seed: int = 7):
    """Observations whose dominant emotion changes every few frames: a worst case for the timeline."""
    rng = random.Random(seed)
    rows = []
    for f in range(int(seconds * fps)):
        for p in range(people):
            main = rng.randrange(len(EMOTIONS))
            probs = [0.9 if i == main else 0.1 / 6 for i in range(len(EMOTIONS))]
            rows.append((f / fps, p + 1, p + 1, *probs, rng.random()))
    return rows


@pytest.mark.parametrize(("seconds", "people"), [(600, 1), (2 * 3600, 3)])
def test_prompt_is_capped_for_long_sessions(seconds, people):
    digest = digest_from_rows(
        _noisy_rows(seconds, 2.0, people),
        {i + 1: f"P{i + 1}" for i in range(people)},
        session_id=1,
        title="long",
        duration=seconds,
        sample_fps=2.0,
        markers=[(float(t), "m" * 500) for t in range(0, seconds, 20)],
    )
    user = build_messages(digest)[1]["content"]
    assert len(user) <= MAX_PROMPT_CHARS  # ~1,500 tokens at ~4 characters a token
    assert all(f"Person: P{i + 1}." in user for i in range(people))  # every person keeps their statistics
    times = re.findall(r"^(\d+:\d\d(?::\d\d)?\.\d)–", user, flags=re.M)
    assert len(times) >= people  # a (coarser) timeline is still there
    if seconds >= 3600:
        assert re.search(r"\b01:\d\d:\d\d\.\d\b", user)  # hh:mm:ss.s past the hour
    assert "m" * 81 not in user  # notes are cut short


def test_empty_session_prompt(user):
    from sessions_app.models import Session

    session = Session.objects.create(owner=user, title="Empty", status="done", duration=3.0, sample_fps=2.0)
    assert "No face was found" in build_messages(build_digest(session))[1]["content"]
