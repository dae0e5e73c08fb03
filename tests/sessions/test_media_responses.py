"""Media responses never run a user's file as a page: probed content type, attachment/inline, CSP sandbox."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from people.models import Person, PersonThumbnail
from sessions_app.models import Session
from tests.sessions.conftest import cookie_for, ws_upload
from tests.streamed import read_body

SCRIPT = b"<script>alert(document.domain)</script>"


def _gif_with_script() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 40, 40)).save(buf, format="GIF")
    return buf.getvalue() + SCRIPT


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def no_enqueue(monkeypatch):
    """Keep these tests off the worker: sessions are created but not analysed."""
    queued: list[int] = []
    monkeypatch.setattr("sessions_app.services.analysis.enqueue_analysis", queued.append)
    return queued


def _assert_sandboxed(r) -> None:
    assert r["Content-Security-Policy"] == "sandbox"
    assert r["X-Content-Type-Options"] == "nosniff"


def _assert_served_safely(client, session: Session, data: bytes) -> None:
    """The GIF is stored under a server-chosen .gif name and served as image/gif, never as HTML."""
    name = session.original.name
    assert Path(name).name == "original.gif", name
    assert "html" not in name and "x." not in Path(name).name
    assert session.playable.name == name  # an image session shows its original
    with default_storage.open(name, "rb") as fh:
        assert fh.read() == data  # the original is kept byte for byte

    r = client.get(f"/sessions/{session.pk}/media/original/")
    assert r.status_code == 200 and read_body(r) == data
    assert r["Content-Type"] == "image/gif"
    assert r["Content-Disposition"] == f'attachment; filename="session-{session.pk}.gif"'
    _assert_sandboxed(r)

    r = client.get(f"/sessions/{session.pk}/media/playable/")
    assert r.status_code == 200 and read_body(r) == data
    assert r["Content-Type"] == "image/gif"
    assert r["Content-Disposition"].startswith("inline")
    _assert_sandboxed(r)

    # byte ranges (206) and a range past the end (416) carry the same headers
    r = client.get(f"/sessions/{session.pk}/media/playable/", HTTP_RANGE="bytes=0-5")
    assert r.status_code == 206 and read_body(r) == data[:6]
    assert r["Content-Type"] == "image/gif"
    _assert_sandboxed(r)
    r = client.get(f"/sessions/{session.pk}/media/original/", HTTP_RANGE=f"bytes={len(data)}-")
    assert r.status_code == 416
    _assert_sandboxed(r)

    # the session page still shows the image, from the playable URL
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'<img class="media" src="/sessions/{session.pk}/media/playable/"' in page


@pytest.mark.django_db
def test_rest_upload_of_html_named_gif_is_served_as_gif(auth_client, media_root, no_enqueue):
    data = _gif_with_script()
    upload = SimpleUploadedFile("x.html", data, content_type="text/html")
    r = auth_client.post("/api/sessions/", {"file": upload})
    assert r.status_code == 201, r.content
    session = Session.objects.get(pk=r.json()["id"])
    assert session.source == Session.Source.IMAGE
    _assert_served_safely(auth_client, session, data)


@pytest.mark.django_db(transaction=True)
def test_ws_upload_of_html_named_gif_is_served_as_gif(client, user, media_root, no_enqueue):
    data = _gif_with_script()
    out = async_to_sync(ws_upload)(cookie_for(client, user), data, "x.html")
    assert out["final"]["type"] == "accepted", out
    session = Session.objects.get(pk=out["final"]["session_id"])
    _assert_served_safely(client, session, data)


@pytest.mark.django_db
def test_thumbnail_is_inline_jpeg_in_a_sandbox(auth_client, user, media_root):
    person = Person.objects.create(owner=user, number=1)
    thumb = PersonThumbnail(person=person)
    thumb.image.save("face.jpg", ContentFile(b"\xff\xd8\xff\xe0not-really-a-jpeg"), save=True)
    r = auth_client.get(f"/people/thumbnails/{thumb.pk}/")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert r["Content-Disposition"].startswith("inline")
    _assert_sandboxed(r)


@pytest.mark.django_db
def test_existing_file_named_html_is_sniffed_then_renamed(
    auth_client, user, media_root, django_capture_on_commit_callbacks
):
    """A row from before the fix: sniffed by its bytes, then renamed copy-first by the management command."""
    data = _gif_with_script()
    old = default_storage.save(f"sessions/{user.pk}/legacy/x.html", ContentFile(data))
    session = Session.objects.create(owner=user, title="old", source=Session.Source.IMAGE, status="done")
    Session.objects.filter(pk=session.pk).update(original=old, playable=old)

    r = auth_client.get(f"/sessions/{session.pk}/media/original/")
    assert r["Content-Type"] == "image/gif" and r["Content-Disposition"].startswith("attachment")
    _assert_sandboxed(r)

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("secure_media_names", stdout=out)
    assert "1 sessions secured" in out.getvalue()
    session.refresh_from_db()
    assert (session.original_format, session.playable_format) == ("gif", "gif")
    assert not default_storage.exists(old)  # the old copy goes once the row points at the new one
    _assert_served_safely(auth_client, session, data)
    call_command("secure_media_names", stdout=out)  # a second run has nothing to do
    assert Session.objects.get(pk=session.pk).original.name == session.original.name


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "mkv"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"<!doctype html><script>", "other"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>", "other"),
    ],
)
def test_formats_come_from_bytes_through_an_allow_list(head, fmt):
    from sessions_app import mediatypes

    assert mediatypes.sniff(head) == fmt
    assert (
        mediatypes.content_type(fmt)
        == {
            "mp4": "video/mp4",
            "mov": "video/quicktime",
            "webm": "video/webm",
            "mkv": "video/x-matroska",
            "avi": "video/x-msvideo",
            "webp": "image/webp",
            "other": "application/octet-stream",
        }[fmt]
    )
    assert mediatypes.storage_name("original", fmt) == f"original.{'bin' if fmt == 'other' else fmt}"


def test_stored_names_are_the_servers():
    from sessions_app.mediatypes import safe_name

    assert safe_name("original.gif") == "original.gif" and safe_name("playable.mp4") == "playable.mp4"
    for name in ("x.html", "original.html", "../../x.gif", "original.svg", "clip.mp4", "a b.gif"):
        assert safe_name(name) == "media.bin", name
