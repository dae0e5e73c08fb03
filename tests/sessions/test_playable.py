"""Uploads browsers cannot play get an H.264 MP4 copy (the original is kept); playable ones are their own."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files import File

from inference.media import iter_video, probe
from sessions_app.models import Session
from sessions_app.services.playable import is_browser_playable
from tests.sessions.conftest import CLIP, wait_for_session
from tests.streamed import read_body


def _container(media_dir: Path, path: Path, codec: str, size: int = 422) -> Path:
    """The whole shared clip (5 s, 25 fps) re-encoded with ``codec`` into ``path``'s container."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for frame in iter_video(media_dir / CLIP):
            img = np.ascontiguousarray(frame.image[::2, ::2][:size, :size])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _check_playable_copy(session: Session, source: Path) -> bytes:
    from django.core.files.storage import default_storage

    assert session.playable.name and session.playable.name != session.original.name
    assert session.playable.name.endswith(".mp4")
    with default_storage.open(session.original.name, "rb") as fh:
        assert fh.read() == source.read_bytes()  # the original is kept as sent
    with default_storage.open(session.playable.name, "rb") as fh:
        data = fh.read()
    local = source.with_name("playable-copy.mp4")
    local.write_bytes(data)
    with av.open(str(local)) as container:
        assert "mp4" in container.format.name.split(",")
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert len(container.streams.audio) == 0
    assert is_browser_playable(local)
    want, got = probe(source), probe(local)
    assert abs(sum(1 for _ in iter_video(local)) - sum(1 for _ in iter_video(source))) <= 1
    assert abs(got.duration - want.duration) <= 0.1
    return data


def test_browser_playability_rules(media_dir, tmp_path):
    assert is_browser_playable(media_dir / CLIP)
    # H.264 and AAC, but its picture starts 0.85 s into the file: played as is, the face boxes would be off
    assert not is_browser_playable(media_dir / "short_hamilton_clip.mp4")
    part = tmp_path / "upload.part"
    part.write_bytes((media_dir / CLIP).read_bytes())
    assert is_browser_playable(part, "clip.mp4") and not is_browser_playable(part)
    assert is_browser_playable(_container(media_dir, tmp_path / "c.webm", "libvpx", size=210))
    assert not is_browser_playable(_container(media_dir, tmp_path / "c.mkv", "libx264", size=210))
    assert not is_browser_playable(_container(media_dir, tmp_path / "c.avi", "mpeg4", size=210))
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all")
    assert not is_browser_playable(tmp_path / "junk.mp4")


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "codec"), [("clip.mkv", "libx264"), ("clip.avi", "mpeg4")])
def test_unplayable_upload_gets_h264_mp4(name, codec, auth_client, user, media_dir, tmp_path):
    from sessions_app.tasks import prepare_playable

    source = _container(media_dir, tmp_path / name, codec)
    info = probe(source)
    session = Session.objects.create(
        owner=user, title="x", source=Session.Source.UPLOAD, status=Session.Status.DONE, duration=info.duration
    )
    with open(source, "rb") as fh:
        session.original.save(name, File(fh), save=True)
    assert prepare_playable(session.pk) == "done"
    session.refresh_from_db()
    data = _check_playable_copy(session, source)
    assert prepare_playable(session.pk) == "skipped"  # idempotent: one copy
    response = auth_client.get(f"/sessions/{session.pk}/media/playable/")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert read_body(response) == data
    from sessions_app.services.manage import delete_session

    delete_session(session)


@pytest.mark.django_db(transaction=True)
def test_uploaded_mkv_is_transcoded_by_the_worker(auth_client, user, media_dir, tmp_path, celery_worker_proc):
    from sessions_app.services.ingest import ingest_file

    source = _container(media_dir, tmp_path / "clip.mkv", "libx264")
    staged = tmp_path / "upload.part"
    staged.write_bytes(source.read_bytes())
    session = ingest_file(user, staged, "clip.mkv", title="mkv")
    assert not session.playable.name  # not playable as it is: the inference queue makes a copy
    session = wait_for_session(session.pk, timeout=180)
    assert session.status == Session.Status.DONE, f"{session.error}\n{celery_worker_proc.log()[-3000:]}"
    for _ in range(120):
        session.refresh_from_db()
        if session.playable.name:
            break
        time.sleep(0.5)
    data = _check_playable_copy(session, source)
    response = auth_client.get(f"/sessions/{session.pk}/media/playable/", HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206 and read_body(response) == data[:100]
    from sessions_app.services.manage import delete_session

    delete_session(session)


@pytest.mark.django_db
def test_playable_upload_is_its_own_copy(user, media_dir, tmp_path):
    from sessions_app.services.ingest import ingest_file

    staged = tmp_path / "upload.part"
    staged.write_bytes((media_dir / CLIP).read_bytes())
    session = ingest_file(user, staged, CLIP, title="mp4")
    assert session.playable.name == session.original.name
    from sessions_app.services.manage import delete_session

    delete_session(session)
