"""Markers API: create, list, delete; validation 400s; another user's session 404; anonymous refused."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sessions_app.models import Marker
from tests.streamed import read_body

pytestmark = pytest.mark.django_db


def url(session, marker=None) -> str:
    base = f"/api/sessions/{session.pk}/markers/"
    return f"{base}{marker.pk}/" if marker is not None else base


def test_create_list_delete(api, user, replay_session):
    r = api.post(url(replay_session), {"time": 1.5, "note": "  smiles here "}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["time"] == 1.5 and body["note"] == "smiles here" and body["author"] == user.username
    api.post(url(replay_session), {"time": 0.25}, format="json")
    listed = api.get(url(replay_session)).json()
    assert [(m["time"], m["note"]) for m in listed] == [(0.25, ""), (1.5, "smiles here")]
    marker = Marker.objects.get(pk=body["id"])
    assert marker.session_id == replay_session.pk and marker.author_id == user.pk
    assert api.delete(url(replay_session, marker)).status_code == 204
    assert not Marker.objects.filter(pk=marker.pk).exists()
    assert [m["time"] for m in api.get(url(replay_session)).json()] == [0.25]
    assert api.delete(url(replay_session, marker)).status_code == 404


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"time": -0.1, "note": "x"}, "between 0 and 2.0"),
        ({"time": 2.5, "note": "x"}, "between 0 and 2.0"),
        ({"time": "soon"}, "time in seconds"),
        ({"note": "no time"}, "time in seconds"),
        ({"time": 1.0, "note": "x" * 201}, "at most 200"),
    ],
)
def test_validation(api, replay_session, payload, message):
    r = api.post(url(replay_session), payload, format="json")
    assert r.status_code == 400
    assert message in r.json()["detail"]
    assert not Marker.objects.exists()


def test_bounds_and_note_limit_accepted(api, replay_session):
    assert api.post(url(replay_session), {"time": 0, "note": "x" * 200}, format="json").status_code == 201
    assert api.post(url(replay_session), {"time": 2.0}, format="json").status_code == 201


def test_other_users_session_is_404(api, other_api, user, replay_session):
    marker = Marker.objects.create(session=replay_session, author=user, time=1.0, note="mine")
    assert other_api.get(url(replay_session)).status_code == 404
    assert other_api.post(url(replay_session), {"time": 1.0}, format="json").status_code == 404
    assert other_api.delete(url(replay_session, marker)).status_code == 404
    assert Marker.objects.filter(pk=marker.pk).exists()
    assert Marker.objects.count() == 1


def test_anonymous_refused(user, replay_session):
    marker = Marker.objects.create(session=replay_session, author=user, time=1.0)
    c = APIClient()
    assert c.get(url(replay_session)).status_code in (401, 403)
    assert c.post(url(replay_session), {"time": 1.0}, format="json").status_code in (401, 403)
    assert c.delete(url(replay_session, marker)).status_code in (401, 403)
    assert Marker.objects.count() == 1


def test_marker_of_another_session_is_404(api, user, replay_session):
    from sessions_app.models import Session

    other_session = Session.objects.create(owner=user, title="Other", status="done", duration=5.0)
    marker = Marker.objects.create(session=other_session, author=user, time=1.0)
    r = api.delete(f"/api/sessions/{replay_session.pk}/markers/{marker.pk}/")
    assert r.status_code == 404
    assert Marker.objects.filter(pk=marker.pk).exists()


def test_markers_export_csv(api, other_api, user, replay_session):
    import csv
    import io

    for time, note in ((1.25, "=HYPERLINK(evil)"), (0.5, "start")):
        assert api.post(url(replay_session), {"time": time, "note": note}, format="json").status_code == 201
    r = api.get(f"/sessions/{replay_session.pk}/export/markers.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(read_body(r).decode())))
    assert [(float(x["time"]), x["time_mmss"], x["note"], x["author"]) for x in rows] == [
        (0.5, "00:00.5", "start", user.username),
        (1.25, "00:01.2", "'=HYPERLINK(evil)", user.username),
    ]
    assert other_api.get(f"/sessions/{replay_session.pk}/export/markers.csv").status_code == 404
