"""One user's ingest holds no other user's websocket: through run.sh's Daphne and its live worker, a live
recording's frames keep being answered while another user's finished upload is probed and stored.

Channels runs every consumer's ``sync_to_async`` call of a process on one shared thread; ingest used to
run there too, so a long probe stopped every socket's frames, chunks and log-ins until it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from bench.live import FRAME, jpeg_frames
from bench.media import long_recording
from bench.wsclient import WebSocket
from conftest import ROOT
from sessions_app.models import Session
from tests.runstack import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

CLIP = (
    Path(os.environ.get("EMOTION_DATA_DIR") or ROOT.parent / "shared" / "data")
    / "media"
    / "talking_face_retalking_2.mp4"
)
FPS = 5.0
CHUNK = 1024 * 1024  # under EMOTION_WS_MAX_MESSAGE_MB; sent without waiting for each ack
HOURS = 2  # a long recording: its probe reads every one of its 180,000 packets (seconds of work)
MAX_GAP = 1.0  # seconds between two answers to the live frames while the other user's file is ingested


def _cookie(stack, username: str) -> str:
    """A new user signed in through the stack's own log-in page: its session cookie, as a browser sends it."""
    get_user_model().objects.create_user(username=username, password=PASSWORD)
    with httpx.Client() as client:
        answer = log_in(client, stack.http, username)
        assert answer.status_code == 302, answer.text[:500]
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME]}"


async def _upload(ws_base: str, cookie: str, path: Path) -> tuple[float, float, dict]:
    """Send ``path`` over /ws/upload/; (last ack, verdict) times and the verdict (accepted or error)."""
    size = path.stat().st_size
    ws = await WebSocket.connect(ws_base + "/ws/upload/", cookie=cookie)
    try:
        await ws.send_json({"type": "start", "name": "long.mp4", "size": size, "title": "long upload"})
        ready = await ws.recv_json(timeout=30)
        assert ready["type"] == "ready", ready
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                await ws.send_bytes(chunk)
        offset = 0
        while offset < size:
            ack = await ws.recv_json(timeout=60)
            assert ack["type"] == "ack", ack
            offset = ack["offset"]
        received = time.monotonic()  # the file is complete: the server ingests it now
        verdict = await ws.recv_json(timeout=120)
        return received, time.monotonic(), verdict
    finally:
        await ws.close()


async def _live_during_upload(ws_base: str, live_cookie: str, upload_cookie: str, video: Path):
    frames = jpeg_frames(CLIP, FPS, 25)
    ws = await WebSocket.connect(ws_base + "/ws/live/", cookie=live_cookie)
    await ws.send_json({"type": "start", "title": "live next to an ingest", "fps": FPS})
    started = await ws.recv_json(timeout=30)
    assert started["type"] == "started", started
    sent: dict[int, float] = {}
    answers: list[tuple[float, int | None]] = []  # (arrival, seq): a result, or a skipped frame (None)
    errors: list[dict] = []
    stopped = asyncio.Event()

    async def read() -> None:
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "live.result":
                answers.append((time.monotonic(), message.get("seq")))
            elif message["type"] == "skipped":
                answers.append((time.monotonic(), None))
            elif message["type"] == "error":
                errors.append(message)
            elif message["type"] == "stopped":
                stopped.set()
                return

    async def send() -> None:
        t0, seq = time.monotonic(), 0
        while not stopped.is_set():
            await asyncio.sleep(max(0.0, t0 + seq / FPS - time.monotonic()))
            sent[seq] = time.monotonic()
            await ws.send_bytes(FRAME.pack(1, seq / FPS, seq) + frames[seq % len(frames)][1])
            seq += 1

    reader, sender = asyncio.create_task(read()), asyncio.create_task(send())
    try:
        deadline = time.monotonic() + 90
        while len([a for a in answers if a[1] is not None]) < 3:  # the live worker has its models loaded
            assert time.monotonic() < deadline, "the live worker answered no frame within 90 s"
            assert not reader.done(), reader
            await asyncio.sleep(0.1)
        window = await _upload(ws_base, upload_cookie, video)
        await asyncio.sleep(1.0)  # the answers to the frames sent last
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        await ws.send_json({"type": "stop"})
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopped.wait(), 60)
        reader.cancel()
        await ws.close()
    assert not errors, errors
    return window, sent, answers


def test_live_frames_keep_their_answers_while_another_user_ingests(web_stack, tmp_path):
    if not CLIP.is_file():
        pytest.skip(f"shared test media not found: {CLIP} (set EMOTION_DATA_DIR)")
    video = long_recording(tmp_path / "long.mp4", HOURS * 3600)
    ws_base = web_stack.http.replace("http://", "ws://")
    live_cookie, upload_cookie = _cookie(web_stack, "live-user"), _cookie(web_stack, "upload-user")

    (received, answered, verdict), sent, answers = asyncio.run(
        _live_during_upload(ws_base, live_cookie, upload_cookie, video)
    )
    video.unlink()
    assert verdict["type"] == "accepted", verdict
    Session.objects.filter(pk=verdict["session_id"]).delete()  # its 3,600 segments need not be analysed

    ingest = answered - received
    assert ingest > 2 * MAX_GAP, f"the ingest took {ingest:.2f} s: too short to show anything"
    times = [received] + [t for t, _ in answers if received < t < answered] + [answered]
    gap = max(b - a for a, b in zip(times, times[1:], strict=False))
    latency = max(
        (t - sent[seq] for t, seq in answers if seq is not None and received <= sent[seq] <= answered), default=0.0
    )
    assert gap < MAX_GAP and latency < MAX_GAP, (
        f"during the {ingest:.1f} s ingest the live frames' answers stopped for {gap:.2f} s "
        f"(slowest result {latency:.2f} s after its frame)"
    )
