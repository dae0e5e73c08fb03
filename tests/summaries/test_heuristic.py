"""The heuristic backend on constructed observations, asserted exactly; the digest it reads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from summaries import heuristic
from summaries.digest import Sample, build_digest, clock, raw_segments, smooth

pytestmark = pytest.mark.django_db

EXPECTED = """00:12.0 of video, 3 people seen. Figures count reliable faces only.

Alice: on screen 12.0 s, 00:00.0–00:12.0.
- Starts happy, ends sad; dominant emotion happy (mean 48%).
- 1 emotion shift: 00:08.0 happy → sad.
- Peaks: happy 80% at 00:00.0, sad 90% at 00:08.0.
- Attention moderate: mean 56% (high 70% or more, moderate 40–69%, low under 40%).
- Longest low-attention stretch: 00:04.4–00:08.0 (3.6 s).

Person 2: on screen 4.0 s, 00:02.0–00:06.0.
- Starts angry, ends angry; dominant emotion angry (mean 70%).
- No emotion shift.
- Peaks: angry 70% at 00:02.0.
- Attention high: mean 80% (high 70% or more, moderate 40–69%, low under 40%).
- Attention never fell below 40%.

Unknown face 1: on screen 1.0 s, 00:10.0–00:11.0.
- Starts neutral, ends neutral; dominant emotion neutral (mean 60%).
- No emotion shift.
- Peaks: neutral 60% at 00:10.0.
- Attention low: mean 30% (high 70% or more, moderate 40–69%, low under 40%).
- Longest low-attention stretch: 00:10.0–00:11.0 (1.0 s).

Group (3 people):
- Dominant emotions: angry for Person 2; happy for Alice; neutral for Unknown face 1.
- Attention moderate over all faces (mean 60%); most attentive Person 2 (80%), least attentive Unknown face 1 (30%).

Markers: 00:03.2 intro; 00:09.5 question."""


def test_heuristic_text_exact(summary_session):
    result = heuristic.summarize(build_digest(summary_session))
    assert result.text == EXPECTED
    assert result.model_name == "" and result.prompt == ""
    assert heuristic.summarize(build_digest(summary_session)).text == EXPECTED  # deterministic


def test_digest_reads_observations_in_one_query(summary_session):
    with CaptureQueriesContext(connection) as queries:
        digest = build_digest(summary_session)
    assert len(queries) == 4  # the people charted, observations, the people's names, the markers
    assert [p.name for p in digest.people] == ["Alice", "Person 2", "Unknown face 1"]
    assert [p.frames for p in digest.people] == [60, 20, 5]
    alice = digest.people[0]
    assert [(s.start, round(s.end, 6), s.emotion) for s in alice.segments] == [(0.0, 8.0, "happy"), (8.0, 12.0, "sad")]
    assert alice.segments[0].frames == 40 and alice.segments[1].frames == 20
    assert digest.markers == [(3.2, "intro"), (9.5, "question")]


def test_single_person_has_no_group_view(user):
    from people.models import Person
    from sessions_app.models import Session
    from tests.replay.conftest import add_observations

    session = Session.objects.create(owner=user, title="One", status="done", duration=4.0, sample_fps=2.0)
    bob = Person.objects.create(owner=user, number=1, name="Bob")
    add_observations(session, bob, [(f, "surprise", 0.45, 0.75) for f in range(8)], 0, "0:1")
    text = heuristic.summarize(build_digest(session)).text
    assert text == (
        "00:04.0 of video, 1 person seen. Figures count reliable faces only.\n\n"
        "Bob: on screen 4.0 s, 00:00.0–00:04.0.\n"
        "- Starts surprise, ends surprise; dominant emotion surprise (mean 45%).\n"
        "- No emotion shift.\n"
        "- No emotion reached 50% on any frame.\n"
        "- Attention high: mean 75% (high 70% or more, moderate 40–69%, low under 40%).\n"
        "- Attention never fell below 40%."
    )


def test_no_faces(user):
    from sessions_app.models import Session

    session = Session.objects.create(owner=user, title="Empty", status="done", duration=3.0, sample_fps=2.0)
    assert heuristic.summarize(build_digest(session)).text == (
        "No face was found in this session, so there is nothing to summarize."
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00.0"),
        (None, "00:00.0"),
        (2.977, "00:02.9"),
        (2.3, "00:02.3"),
        (4.99, "00:04.9"),
        (65, "01:05.0"),
        (3599.99, "59:59.9"),
        (3600, "01:00:00.0"),
        (3725.25, "01:02:05.2"),
    ],
)
def test_clock(seconds, text):
    assert clock(seconds) == text


def test_smoothing_folds_short_runs_and_keeps_absences():
    def s(t, emotion):
        from inference.classes import EMOTIONS

        return Sample(t, tuple(0.9 if e == emotion else 0.1 / 6 for e in EMOTIONS), 0.5)

    # 1 fps: happy 0-5, a 1 s sad flicker at 6, happy 7-9, then absent 10-19, sad 20-24
    samples = [s(t, "happy") for t in range(6)] + [s(6, "sad")] + [s(t, "happy") for t in range(7, 10)]
    samples += [s(t, "sad") for t in range(20, 25)]
    segs = smooth(raw_segments(samples, 1.0), 2.0)
    assert [(x.start, x.end, x.emotion, x.frames, x.block) for x in segs] == [
        (0, 10, "happy", 10, 0),
        (20, 25, "sad", 5, 1),
    ]
