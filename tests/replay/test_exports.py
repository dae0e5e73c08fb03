"""Downloads: tidy observations (CSV streamed, JSON), the per-person summary, formula escaping, ownership."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from emotionsite.csvstream import safe_cell
from inference.classes import EMOTIONS
from sessions_app.models import Observation
from tests.streamed import read_body


@pytest.fixture
def other_client(django_user_model):
    other = django_user_model.objects.create_user(username="replay-other", password="another-pass-123")
    c = Client()
    c.force_login(other)
    return c


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    return list(csv.DictReader(io.StringIO(read_body(response).decode())))


def test_observations_csv_matches_stored_rows(auth_client, replay_session):
    r = auth_client.get(f"/sessions/{replay_session.pk}/export/observations.csv")
    assert r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = _csv(r)
    stored = list(Observation.objects.filter(session=replay_session).order_by("frame_index", "slot"))
    assert len(rows) == len(stored) == 15
    for row, obs in zip(rows, stored, strict=True):
        assert int(row["session"]) == replay_session.pk
        assert int(row["person_id"]) == obs.person_id
        assert int(row["frame_index"]) == obs.frame_index and int(row["slot"]) == obs.slot
        assert float(row["time"]) == pytest.approx(obs.time)
        assert (row["box_top"], row["box_right"], row["box_bottom"], row["box_left"]) == ("10", "60", "70", "5")
        for e in EMOTIONS:
            assert float(row[e]) == round(getattr(obs, e), 4)  # a fixed precision: 4 decimals
        assert float(row["attention"]) == round(obs.attention, 4)
        assert float(row["yaw"]) == 1.5 and float(row["pitch"]) == -2.0  # numbers are not escaped
        assert float(row["roll"]) == 0.25 and float(row["eye_openness"]) == 0.3
    names = {row["person_name"] for row in rows}
    assert names == {"Alice", "'=cmd()"}


def test_observations_json(auth_client, replay_session):
    r = auth_client.get(f"/sessions/{replay_session.pk}/export/observations.json")
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    rows = json.loads(read_body(r))
    assert len(rows) == 15
    first = rows[0]
    assert first["frame_index"] == 0 and first["slot"] == 0 and first["person_name"] == "Alice"
    assert first["happy"] == pytest.approx(0.5)
    assert rows[1]["person_name"] == "=cmd()"  # JSON keeps names verbatim
    assert set(first) >= {"session", "person_id", "time", "box_top", "attention", "yaw", "eye_openness", *EMOTIONS}


def test_people_csv(auth_client, replay_session):
    rows = _csv(auth_client.get(f"/sessions/{replay_session.pk}/export/people.csv"))
    by_name = {row["person_name"]: row for row in rows}
    assert set(by_name) == {"Alice", "'=cmd()"}
    alice = by_name["Alice"]
    assert int(alice["frames"]) == 10 and float(alice["time_on_screen"]) == pytest.approx(2.0)
    assert alice["dominant"] == "happy"
    assert float(alice["happy"]) == pytest.approx(0.725)
    assert float(alice["attention"]) == pytest.approx(0.45)
    assert by_name["'=cmd()"]["dominant"] == "sad"


@pytest.mark.parametrize("path", ["observations.csv", "observations.json", "people.csv", "observations.xml"])
def test_exports_refused_for_another_user(other_client, replay_session, path):
    assert other_client.get(f"/sessions/{replay_session.pk}/export/{path}").status_code == 404


def test_exports_need_login(client, replay_session):
    r = client.get(f"/sessions/{replay_session.pk}/export/observations.csv")
    assert r.status_code == 302 and "/accounts/login" in r["Location"]


@pytest.mark.parametrize(
    "value, expected",
    [("=1+1", "'=1+1"), ("+x", "'+x"), ("-x", "'-x"), ("@SUM()", "'@SUM()"), ("Bob", "Bob"), (-1.5, -1.5)],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected
