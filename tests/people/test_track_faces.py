"""The person page shows a few faces of each track (cropped from the session's media), so a split is not a
guess; only for the owner (or staff), only while the media is there and within the size limit."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from sessions_app.models import Track
from tests.replay.conftest import clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = pytest.mark.django_db
media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing


def test_track_faces_strip_for_owner_only(auth_client, client, user, other_user, staff_user, media_dir, settings):
    from PIL import Image

    people = [("Alice", [(f, "happy", 0.8, 0.6) for f in range(10)]), ("Bea", [(0, "sad", 0.7, 0.5)])]
    with clip_session(user, media_dir / CLIP, title="Faces", duration=2.0, people=people) as session:
        alice, bea = session.people
        track = Track.objects.get(person=alice)
        url = reverse("person_track_faces", args=[alice.pk, track.pk])
        page = auth_client.get(reverse("person_detail", args=[alice.pk])).content.decode()
        assert url in page
        response = auth_client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(response.content)).size == (3 * 64, 64)  # three faces spread over 10 frames
        bea_track = Track.objects.get(person=bea)
        one = auth_client.get(reverse("person_track_faces", args=[bea.pk, bea_track.pk]))
        assert Image.open(io.BytesIO(one.content)).size == (64, 64)
        assert auth_client.get(reverse("person_track_faces", args=[alice.pk, bea_track.pk])).status_code == 404

        client.force_login(other_user)
        assert client.get(url).status_code == 404
        client.force_login(staff_user)
        assert client.get(url).status_code == 200
        assert AuditEntry.objects.filter(actor=staff_user, object_id=str(alice.pk), detail="faces").count() == 1

        settings.EMOTION_TRACK_FACES_MAX_MB = 0
        assert auth_client.get(url).status_code == 404
        assert url not in auth_client.get(reverse("person_detail", args=[alice.pk])).content.decode()
