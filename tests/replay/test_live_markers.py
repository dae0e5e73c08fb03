"""Markers on a live session while it records (no duration yet): accepted up to the session's age,
refused beyond it and for another user; once finished, the recording's duration is the limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Marker, Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(user):
    """A live session that started recording 30 s ago."""
    session = Session.objects.create(
        owner=user, title="Live", source=Session.Source.LIVE, status=Session.Status.RECEIVING, sample_fps=5.0
    )
    Session.objects.filter(pk=session.pk).update(created=timezone.now() - timedelta(seconds=30))
    session.refresh_from_db()
    return session


def test_marker_while_recording(api, other_api, user, recording):
    url = f"/api/sessions/{recording.pk}/markers/"
    r = api.post(url, {"time": 12.5, "note": "laughs"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["time"] == 12.5
    too_late = api.post(url, {"time": 45.0, "note": "future"}, format="json")
    assert too_late.status_code == 400
    assert "between 0 and 30" in too_late.json()["detail"]
    assert other_api.post(url, {"time": 1.0, "note": "not mine"}, format="json").status_code == 404
    assert other_api.get(url).status_code == 404
    assert list(Marker.objects.filter(session=recording).values_list("time", "note", "author")) == [
        (12.5, "laughs", user.pk)
    ]
    # finished: the recording's own duration bounds the markers again
    Session.objects.filter(pk=recording.pk).update(status=Session.Status.DONE, duration=20.0)
    assert api.post(url, {"time": 25.0}, format="json").status_code == 400
    assert api.post(url, {"time": 19.0}, format="json").status_code == 201
