"""Fixtures for the sessions tests: shared media, settings for quick analyses, websocket helpers."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

REPO = Path(__file__).resolve().parents[2]
ORIGIN = (b"origin", b"http://localhost")
CLIP = "talking_face_retalking_2.mp4"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """The shared test media: $EMOTION_DATA_DIR/media, default <repo>/../shared/data/media."""
    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data")
    media = base / "media"
    if not (media / CLIP).is_file() or not (media / "obama.jpg").is_file():
        pytest.skip(f"shared test media not found in {media} (set EMOTION_DATA_DIR to the data folder)")
    return media


@pytest.fixture(autouse=True)
def quick_sessions(settings, tmp_path):
    """Sample at 2 fps (the worker reads the rate stored on each session) and stage uploads in tmp."""
    settings.EMOTION_DEFAULT_SAMPLE_FPS = 2.0
    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    return settings


def cookie_for(client, user) -> bytes:
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


def communicator(path: str, cookie: bytes | None) -> WebsocketCommunicator:
    from emotionsite.asgi import application

    headers = [ORIGIN] + ([(b"cookie", cookie)] if cookie else [])
    return WebsocketCommunicator(application, path, headers=headers)


SEQ_CHUNK = struct.Struct(">BI")  # a numbered recording chunk's header: 0x03 + uint32 sequence number


async def record_two_chunks(comm: WebsocketCommunicator) -> tuple[dict, dict, list[dict]]:
    """On a connected /ws/live/ socket: start a recording and send two 600-byte numbered chunks; the
    "started" message, the first chunk's answer and the three messages after the second chunk."""
    await comm.send_json_to({"type": "start", "fps": 2})
    started = await comm.receive_json_from(timeout=10)
    await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, 0) + b"a" * 600)
    first = await comm.receive_json_from(timeout=5)
    await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, 1) + b"b" * 600)
    replies = [await comm.receive_json_from(timeout=10) for _ in range(3)]
    return started, first, replies


async def ws_upload(
    cookie: bytes,
    data: bytes,
    name: str,
    *,
    title: str = "",
    chunk: int = 64 * 1024,
    upload_id: str | None = None,
    stop_after_chunks: int | None = None,
) -> dict:
    """Send ``data`` over /ws/upload/; returns {"ready", "offset", "final"} (final: accepted/error or None)."""
    comm = communicator("/ws/upload/", cookie)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    await comm.send_json_to({"type": "start", "name": name, "size": len(data), "title": title, "upload_id": upload_id})
    ready = await comm.receive_json_from(timeout=10)
    if ready["type"] != "ready":
        await comm.disconnect()
        return {"ready": None, "offset": 0, "final": ready}
    offset, sent = ready["offset"], 0
    while offset < len(data):
        if stop_after_chunks is not None and sent >= stop_after_chunks:
            await comm.disconnect()
            return {"ready": ready, "offset": offset, "final": None}
        await comm.send_to(bytes_data=data[offset : offset + chunk])
        msg = await comm.receive_json_from(timeout=10)
        if msg["type"] != "ack":
            await comm.disconnect()
            return {"ready": ready, "offset": offset, "final": msg}
        assert msg["offset"] == min(offset + chunk, len(data))
        offset, sent = msg["offset"], sent + 1
    final = await comm.receive_json_from(timeout=60)
    await comm.disconnect()
    return {"ready": ready, "offset": offset, "final": final}


def wait_for_session(session_id: int, timeout: float = 300):
    """Poll the database until the session is done or failed."""
    from sessions_app.models import Session

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = Session.objects.get(pk=session_id)
        if session.status in (Session.Status.DONE, Session.Status.FAILED):
            return session
        time.sleep(0.5)
    raise AssertionError(f"session {session_id} still {session.status} after {timeout} s")
