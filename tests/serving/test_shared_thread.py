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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from bench.live import FRAME, jpeg_frames
from bench.media import long_recording
from bench.wsclient import WebSocket
from bench.wsupload import upload_file
from conftest import ROOT
from live.consumers import SEQ_CHUNK_HEADER, SEQ_CHUNK_PREFIX
from sessions_app.models import Session
from tests.runstack import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

CLIP = (
    Path(os.environ.get("EMOTION_DATA_DIR") or ROOT.parent / "shared" / "data")
    / "media"
    / "talking_face_retalking_2.mp4"
)
FPS = 5.0
CHUNK = 1024 * 1024  # under EMOTION_WS_MAX_MESSAGE_MB; eight sent ahead of their acks (a quick upload)
HOURS = 3.5  # a long recording (the limit is 4 h): its probe reads each of its 315,000 packets, seconds of work
RECORDING_CHUNK = bytes(4096)  # what the recording's MediaRecorder would send with each frame (not a video)
MAX_GAP = 1.0  # seconds between two answers to the live frames while the other user's file is ingested


def _cookie(stack, username: str) -> str:
    """A new user signed in through the stack's own log-in page: its session cookie, as a browser sends it."""
    get_user_model().objects.create_user(username=username, password=PASSWORD)
    with httpx.Client() as client:
        answer = log_in(client, stack.http, username)
        assert answer.status_code == 302, answer.text[:500]
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME]}"


@dataclass
class LiveSocket:
    """What a recording page's socket sent and got back: each frame is followed by a numbered recording
    chunk (as live.js sends them), so every 1/FPS s the server owes it answers that need no worker: a
    ``chunk.ack``, and for the frame a ``live.result`` from the live worker or a ``skipped``."""

    sent: dict[tuple[str, int], float] = field(default_factory=dict)  # ("frame" | "chunk", seq) -> when
    answers: list[tuple[float, str, int | None]] = field(default_factory=list)  # (arrival, type, seq)
    errors: list[dict] = field(default_factory=list)

    def read(self, message: dict) -> None:
        kind, now = message["type"], time.monotonic()
        if kind == "live.result":
            self.answers.append((now, kind, message.get("seq")))
        elif kind == "chunk.ack":
            self.answers.append((now, kind, message["received"] - 1))
        elif kind == "skipped":
            self.answers.append((now, kind, None))
        elif kind == "error":
            self.errors.append(message)

    def steady(self) -> bool:
        """The last three results came within 0.5 s of their frames: the live worker has its models loaded
        and no backlog left from loading them."""
        results = [(t, seq) for t, kind, seq in self.answers if kind == "live.result"][-3:]
        return len(results) == 3 and all(t - self.sent["frame", seq] < 0.5 for t, seq in results)

    def gap(self, start: float, end: float) -> float:
        """The longest wait for any answer between ``start`` and ``end``."""
        times = [start] + [t for t, _, _ in self.answers if start < t < end] + [end]
        return max(b - a for a, b in zip(times, times[1:], strict=False))

    def latency(self, kind: str, start: float, end: float) -> float:
        """The slowest answer of ``kind`` to what was sent between ``start`` and ``end``."""
        sent_as = "frame" if kind == "live.result" else "chunk"
        waits = [
            t - self.sent[sent_as, seq]
            for t, k, seq in self.answers
            if k == kind and seq is not None and start <= self.sent[sent_as, seq] <= end
        ]
        return max(waits, default=0.0)


async def _live_during_upload(ws_base: str, live_cookie: str, upload_cookie: str, video: Path):
    frames = [jpeg for _, jpeg in jpeg_frames(CLIP, FPS, 25)]
    ws = await WebSocket.connect(ws_base + "/ws/live/", cookie=live_cookie)
    await ws.send_json({"type": "start", "title": "live next to an ingest", "fps": FPS})
    started = await ws.recv_json(timeout=30)
    assert started["type"] == "started", started
    live, stopped = LiveSocket(), asyncio.Event()

    async def read() -> None:
        while True:
            message = json.loads(await ws.recv())
            live.read(message)
            if message["type"] == "stopped":
                stopped.set()
                return

    async def send() -> None:
        t0, seq = time.monotonic(), 0
        while True:
            await asyncio.sleep(max(0.0, t0 + seq / FPS - time.monotonic()))
            live.sent["frame", seq] = time.monotonic()
            await ws.send_bytes(FRAME.pack(1, seq / FPS, seq) + frames[seq % len(frames)])
            live.sent["chunk", seq] = time.monotonic()
            await ws.send_bytes(SEQ_CHUNK_HEADER.pack(SEQ_CHUNK_PREFIX, seq) + RECORDING_CHUNK)
            seq += 1

    reader, sender = asyncio.create_task(read()), asyncio.create_task(send())
    try:
        deadline = time.monotonic() + 90
        while not live.steady():
            assert time.monotonic() < deadline, f"the live worker did not keep up within 90 s: {live.answers[-5:]}"
            assert not reader.done(), reader
            await asyncio.sleep(0.1)
        upload = await upload_file(ws_base, upload_cookie, video, chunk=CHUNK, ahead=8)
        await asyncio.sleep(1.0)  # the answers to what was sent last
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        await ws.send_json({"type": "stop"})
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopped.wait(), 60)
        reader.cancel()
        await ws.close()
    assert not live.errors, live.errors
    return upload, live


def test_live_frames_keep_their_answers_while_another_user_ingests(web_stack, tmp_path):
    if not CLIP.is_file():
        pytest.skip(f"shared test media not found: {CLIP} (set EMOTION_DATA_DIR)")
    video = long_recording(tmp_path / "long.mp4", HOURS * 3600)
    ws_base = web_stack.http.replace("http://", "ws://")
    live_cookie, upload_cookie = _cookie(web_stack, "live-user"), _cookie(web_stack, "upload-user")

    upload, live = asyncio.run(_live_during_upload(ws_base, live_cookie, upload_cookie, video))
    video.unlink()
    assert upload.verdict["type"] == "accepted", upload.verdict
    Session.objects.filter(pk=upload.verdict["session_id"]).delete()  # its 6,300 segments need not be analysed

    received, answered, ingest = upload.complete, upload.answered, upload.ingest_seconds
    assert ingest > 1.5 * MAX_GAP, f"the ingest took {ingest:.2f} s: too short to show anything"
    gap, acked = live.gap(received, answered), live.latency("chunk.ack", received, answered)
    results = live.latency("live.result", received, answered)  # the worker's pace too: reported only
    assert gap < MAX_GAP and acked < MAX_GAP, (
        f"during the {ingest:.1f} s ingest the live socket waited {gap:.2f} s for an answer; slowest chunk ack "
        f"{acked:.2f} s, slowest result {results:.2f} s after what it answers"
    )
