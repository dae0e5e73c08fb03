"""The timeline selector: SQL bucketing, averages, the everyone series, max_points and the summary."""

from __future__ import annotations

import pytest

from inference.classes import EMOTIONS
from sessions_app.models import Session
from sessions_app.selectors import timeline
from tests.replay.conftest import add_observations

HAPPY, SAD = EMOTIONS.index("happy"), EMOTIONS.index("sad")


def test_full_resolution_one_point_per_sample(replay_session):
    data = timeline(replay_session)
    assert data["bucket_width"] == pytest.approx(0.2)
    assert data["emotions"] == list(EMOTIONS)
    alice, evil = data["people"]
    assert (alice["id"], alice["name"]) == (replay_session.alice.pk, "Alice")
    assert evil["name"] == "=cmd()"
    assert [p["t"] for p in alice["points"]] == pytest.approx([0.2 * f for f in range(10)])
    assert all(p["n"] == 1 for p in alice["points"])
    assert alice["points"][3]["probabilities"][HAPPY] == pytest.approx(0.65)
    assert alice["points"][3]["attention"] == pytest.approx(0.3)
    assert len(evil["points"]) == 5
    # everyone: bucket 0 holds Alice (happy 0.5, attention 0) and the other person (sad 0.9, attention 1)
    first = data["everyone"][0]
    assert first["n"] == 2
    assert first["attention"] == pytest.approx(0.5)
    assert first["probabilities"][HAPPY] == pytest.approx((0.5 + 0.1 / 6) / 2)
    assert data["everyone"][1]["n"] == 1  # frame 1: Alice only
    assert sum(first["probabilities"]) == pytest.approx(1.0)


def test_buckets_average_known_values(replay_session):
    data = timeline(replay_session, max_points=2)  # 1.8 s / 2 points -> width just over 0.9 s
    width = data["bucket_width"]
    assert 0.9 < width < 0.91
    alice = data["people"][0]["points"]
    assert len(alice) == 2
    # frames 0..4 (t = 0 .. 0.8) then 5..9 (t = 1.0 .. 1.8)
    assert [p["n"] for p in alice] == [5, 5]
    assert alice[0]["t"] == 0 and alice[1]["t"] == pytest.approx(width)
    assert alice[0]["probabilities"][HAPPY] == pytest.approx(0.6)  # mean of 0.50 .. 0.70
    assert alice[1]["probabilities"][HAPPY] == pytest.approx(0.85)
    assert alice[0]["attention"] == pytest.approx(0.2)
    assert alice[1]["attention"] == pytest.approx(0.7)
    evil = data["people"][1]["points"]
    assert [p["n"] for p in evil] == [3, 2]  # frames 0, 2, 4 | 6, 8
    assert evil[0]["probabilities"][SAD] == pytest.approx(0.9)
    everyone = data["everyone"]
    assert [p["n"] for p in everyone] == [8, 7]
    assert everyone[0]["attention"] == pytest.approx((0.0 + 0.1 + 0.2 + 0.3 + 0.4 + 3 * 1.0) / 8)


def test_summary_per_person(replay_session):
    summary = {s["name"]: s for s in timeline(replay_session)["summary"]}
    alice = summary["Alice"]
    assert alice["frames"] == 10
    assert alice["time_on_screen"] == pytest.approx(2.0)
    assert alice["dominant"] == "happy"
    assert alice["probabilities"]["happy"] == pytest.approx(0.725)
    assert alice["attention"] == pytest.approx(0.45)
    assert summary["=cmd()"]["frames"] == 5 and summary["=cmd()"]["dominant"] == "sad"


@pytest.mark.parametrize("max_points", [1, 7, 50, 600])
def test_max_points_respected_on_a_long_session(user, max_points):
    session = Session.objects.create(owner=user, title="Long", duration=600.0, sample_fps=5.0)
    add_observations(session, None, [(f, "neutral", 0.8, 0.5) for f in range(0, 3000)], 0, "0:1")
    data = timeline(session, max_points=max_points)
    points = data["people"][0]["points"]
    assert len(points) <= max_points
    assert len(data["everyone"]) <= max_points
    assert sum(p["n"] for p in points) == 3000
    assert data["people"][0]["name"] == "Unidentified face" and data["people"][0]["id"] is None
    assert all(p["probabilities"][EMOTIONS.index("neutral")] == pytest.approx(0.8) for p in points)


def test_empty_session(user):
    session = Session.objects.create(owner=user, title="Empty")
    data = timeline(session)
    assert data["people"] == [] and data["everyone"] == [] and data["summary"] == []
