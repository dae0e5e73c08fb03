"""Numbers that agree: one switch for counting faces below the quality bar, attention as a percentage
with its definition, exports at a fixed precision with empty cells where nothing was counted, photos
described as photos."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from inference.classes import EMOTIONS
from people.models import Person
from sessions_app.models import Observation, Session
from tests.replay.conftest import add_observations
from tests.streamed import read_body


@pytest.fixture
def blurred_bob(mixed_session, user):
    """Alice (mixed_session) plus Bob, whose every face is below the quality bar."""
    bob = Person.objects.create(owner=user, number=2, name="Bob")
    add_observations(mixed_session, bob, [(f, "sad", 0.9, 0.2) for f in range(3)], 1, "0:2")
    Observation.objects.filter(person=bob).update(quality=0.05)
    return mixed_session


def _people_csv(client, session, query="") -> dict[str, dict[str, str]]:
    body = read_body(client.get(f"/sessions/{session.pk}/export/people.csv{query}")).decode()
    return {row["person_name"]: row for row in csv.DictReader(io.StringIO(body))}


def _text(html: str) -> str:
    """The page without its tags (the summaries panel marks the part its script changes)."""
    return re.sub(r"<[^>]+>", "", html)


def test_one_switch_for_page_replay_downloads_and_summaries(
    auth_client, blurred_bob, django_capture_on_commit_callbacks
):
    from summaries.models import Summary

    session = blurred_bob
    page = auth_client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Means count reliable faces only" in page and 'id="replay-all" checked' not in page
    assert "A new summary counts reliable faces only" in _text(page)
    assert _people_csv(auth_client, session)["Alice"]["counted"] == "reliable faces"

    page = auth_client.get(f"/sessions/{session.pk}/?all=1").content.decode()  # the user flips the switch
    assert "Means include faces below the quality bar" in page
    assert "A new summary counts all faces" in _text(page)
    # later requests without ``all`` follow the remembered choice: downloads, the charts' API, summaries
    assert "Means include faces below" in auth_client.get(f"/sessions/{session.pk}/").content.decode()
    rows = _people_csv(auth_client, session)
    assert rows["Alice"]["counted"] == "all faces" and float(rows["Bob"]["sad"]) == pytest.approx(0.9)
    assert auth_client.get(f"/api/sessions/{session.pk}/timeline/").json()["include_unreliable"] is True
    with django_capture_on_commit_callbacks(execute=False):
        auth_client.post(f"/sessions/{session.pk}/summaries/", {"backend": "heuristic"})
    assert Summary.objects.get(session=session).include_unreliable is True

    auth_client.get(f"/api/sessions/{session.pk}/timeline/?all=0")  # the replay's checkbox is the same switch
    assert "Means count reliable faces only" in auth_client.get(f"/sessions/{session.pk}/").content.decode()
    assert _people_csv(auth_client, session)["Alice"]["counted"] == "reliable faces"


def test_people_csv_leaves_unmeasured_cells_empty(auth_client, blurred_bob):
    bob = _people_csv(auth_client, blurred_bob, "?all=0")["Bob"]
    assert bob["frames"] == "3" and bob["dominant"] == ""
    assert all(bob[e] == "" for e in EMOTIONS) and bob["attention"] == ""  # not 0.0: nothing was counted
    api = auth_client.get(f"/api/sessions/{blurred_bob.pk}/people/?all=0").json()
    bob_api = next(p for p in api if p["name"] == "Bob")
    assert bob_api["attention"] is None and set(bob_api["probabilities"].values()) == {None}


def test_exports_round_to_a_fixed_precision(auth_client, replay_session):
    Observation.objects.filter(session=replay_session).update(
        happy=0.19136699999999995, attention=0.4500000000000001, yaw=12.345678, time=0.30000000000000004
    )
    base = f"/sessions/{replay_session.pk}/export/"
    body = read_body(auth_client.get(base + "observations.csv")).decode()
    assert "0.19136699999999995" not in body and "0.30000000000000004" not in body
    row = next(csv.DictReader(io.StringIO(body)))
    assert (row["happy"], row["attention"], row["yaw"], row["time"]) == ("0.1914", "0.45", "12.35", "0.3")
    first = json.loads(read_body(auth_client.get(base + "observations.json")))[0]
    assert (first["happy"], first["yaw"], first["quality"]) == (0.1914, 12.35, None)
    alice = _people_csv(auth_client, replay_session)["Alice"]
    assert alice["happy"] == "0.1914" and alice["attention"] == "0.45"


def test_attention_as_a_percentage_with_its_definition(auth_client, replay_session):
    page = auth_client.get(f"/sessions/{replay_session.pk}/").content.decode()
    assert 'attention <span class="attention">45%</span>' in page  # 0.45 on the cards reads 45%
    assert 'id="attention-help"' in page and "how squarely a face looks at the camera" in page
    assert "(10 frames)" in page and " · 00:02.0 · sampled at 5 fps" in page  # the length as mm:ss.s


def test_photo_is_not_described_with_a_frame_rate(auth_client, user):
    session = Session.objects.create(
        owner=user, title="Photo", source=Session.Source.IMAGE, status=Session.Status.DONE, sample_fps=5.0
    )
    add_observations(
        session, Person.objects.create(owner=user, number=1, name="Ann"), [(0, "happy", 0.8, 1.0)], 0, "0:1"
    )
    page = auth_client.get(f"/sessions/{session.pk}/").content.decode()
    assert "fps" not in page and "frames)" not in page and "On screen" not in page
    assert "In the photo" in page and "100% of faces judged reliable" in page and "100%</span>" in page
