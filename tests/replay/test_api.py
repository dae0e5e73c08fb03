"""REST API: own data, 404 for another user's session, anonymous refused, upload errors, token auth, schema."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from api_tokens.services import create_token
from sessions_app.models import Session


def test_list_and_detail_own_sessions(api, other_api, replay_session):
    r = api.get("/api/sessions/")
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == [replay_session.pk]
    assert other_api.get("/api/sessions/").json() == []
    detail = api.get(f"/api/sessions/{replay_session.pk}/").json()
    assert detail["status"] == "done" and detail["progress"] == 1.0 and detail["duration"] == 2.0
    assert detail["title"] == "Replay" and detail["url"] == f"/sessions/{replay_session.pk}/"


def test_people_and_timeline(api, replay_session):
    people = api.get(f"/api/sessions/{replay_session.pk}/people/").json()
    assert {p["name"] for p in people} == {"Alice", "=cmd()"}
    alice = next(p for p in people if p["name"] == "Alice")
    assert alice["id"] == replay_session.alice.pk and alice["frames"] == 10 and alice["dominant"] == "happy"
    data = api.get(f"/api/sessions/{replay_session.pk}/timeline/").json()
    assert [p["name"] for p in data["people"]] == ["Alice", "=cmd()"]
    assert len(data["people"][0]["points"]) == 10
    small = api.get(f"/api/sessions/{replay_session.pk}/timeline/", {"max_points": 10}).json()
    assert all(len(p["points"]) <= 10 for p in small["people"])
    assert api.get(f"/api/sessions/{replay_session.pk}/timeline/", {"max_points": "x"}).status_code == 400


def test_timeline_boxes_on_request_and_bounded(api, replay_session, settings):
    url = f"/api/sessions/{replay_session.pk}/timeline/"
    assert "boxes" not in api.get(url).json()  # the charts' payload is unchanged unless asked
    Session.objects.filter(pk=replay_session.pk).update(width=640, height=360)
    boxes = api.get(url, {"boxes": "1"}).json()["boxes"]
    assert boxes["frame"] == [640, 360] and boxes["step"] == 1
    assert boxes["fields"] == ["t", "person", "top", "right", "bottom", "left"]
    assert len(boxes["rows"]) == 15  # Alice on frames 0..9, the other on 0, 2, .. 8
    assert boxes["rows"][0] == [0.0, replay_session.alice.pk, 10, 60, 70, 5]
    assert boxes["rows"][-1][0] == pytest.approx(1.8)
    assert [r[0] for r in boxes["rows"]] == sorted(r[0] for r in boxes["rows"])
    settings.EMOTION_REPLAY_MAX_BOXES = 6  # 15 boxes: every 3rd frame (0, 3, 6, 9), at most 6 rows
    few = api.get(url, {"boxes": "1"}).json()["boxes"]
    assert few["step"] == 3
    assert len(few["rows"]) == 6
    assert {round(r[0] / 0.2) % 3 for r in few["rows"]} == {0}


@pytest.mark.parametrize("suffix", ["", "people/", "timeline/"])
def test_other_users_session_is_404(other_api, replay_session, suffix):
    assert other_api.get(f"/api/sessions/{replay_session.pk}/{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ["", "people/", "timeline/"])
def test_missing_session_is_404(api, suffix):
    assert api.get(f"/api/sessions/999999/{suffix}").status_code == 404


@pytest.mark.parametrize("path", ["/api/sessions/", "/api/sessions/{pk}/", "/api/sessions/{pk}/timeline/"])
def test_anonymous_refused(replay_session, path):
    r = APIClient().get(path.format(pk=replay_session.pk))
    assert r.status_code in (401, 403)


def test_anonymous_upload_refused(db):
    r = APIClient().post("/api/sessions/", {"file": SimpleUploadedFile("a.txt", b"hi")}, format="multipart")
    assert r.status_code in (401, 403)
    assert not Session.objects.exists()


def test_token_auth(user, replay_session):
    _, key = create_token(user, "test")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert [s["id"] for s in c.get("/api/sessions/").json()] == [replay_session.pk]
    c.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert c.get("/api/sessions/").status_code == 401


def test_upload_text_file_is_400_with_message(api, settings, tmp_path):
    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    upload = SimpleUploadedFile("notes.txt", b"this is not a video\n" * 50, content_type="text/plain")
    r = api.post("/api/sessions/", {"file": upload, "title": "Notes"}, format="multipart")
    assert r.status_code == 400
    assert "could not be read as a video or image" in r.json()["detail"]
    assert not Session.objects.exists()
    assert list((tmp_path / "staging" / "api").iterdir()) == []  # the staged copy is removed


def test_upload_without_file_is_400(api):
    r = api.post("/api/sessions/", {"title": "Nothing"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()
    assert not Session.objects.exists()


def test_schema_lists_the_endpoints(api):
    r = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in [
        "/api/sessions/",
        "/api/sessions/{session_id}/",
        "/api/sessions/{session_id}/people/",
        "/api/sessions/{session_id}/timeline/",
    ]:
        assert p in paths
    assert "post" in paths["/api/sessions/"]


def test_schema_and_docs_are_public(db):
    assert APIClient().get("/api/schema/").status_code == 200
    assert APIClient().get("/api/docs/").status_code == 200


def test_upload_image_is_201(api, user, settings, tmp_path):
    from PIL import Image

    from sessions_app.services.manage import delete_session

    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, format="PNG")
    upload = SimpleUploadedFile("face.png", buf.getvalue(), content_type="image/png")
    r = api.post("/api/sessions/", {"file": upload, "title": "A picture"}, format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    session = Session.objects.get(pk=body["id"])
    try:
        assert session.owner == user and body["title"] == "A picture"
        assert body["source"] == "image" and body["status"] == "queued"
        assert (body["width"], body["height"]) == (64, 48)
        assert api.get(f"/api/sessions/{session.pk}/").json()["status"] == "queued"
    finally:
        delete_session(session)
