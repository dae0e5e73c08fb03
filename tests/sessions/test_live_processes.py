"""Live recordings with several live processes, and the adaptive capture rate.

Two real Celery workers take a recording's frames (the shared ``celery_worker_proc`` and one on ``live``
only): the results arrive in the frames' order, the recording keeps one track throughout (its engine
state follows it from process to process) and equals ``Analyzer`` on the frames analysed. The rate test
needs no worker: frames pile up, and the page is told the rate the server holds.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from asgiref.sync import async_to_sync

from inference.classes import EMOTIONS
from tests.sessions.conftest import CLIP, communicator, cookie_for
from tests.sessions.test_live import FRAME
from tests.sessions.test_live_engine import FPS, _jpegs

ROOT = Path(__file__).resolve().parents[2]
WARM_UP = 3


def _start_live_worker(env: dict, log_path: Path) -> tuple[subprocess.Popen, str]:
    from emotionsite.celery import app

    name = f"live2-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    cmd = [
        str(Path(sys.executable).parent / "celery"), "-A", "emotionsite", "worker", "-Q", "live",
        "--pool=prefork", "-c", "1", "-n", name, "--without-gossip", "--without-mingle", "-l", "info",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[name], timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"second live worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
    return proc, name


def _served(log: str, session_id: int) -> list[int]:
    """The frames a worker's log says it served for the session."""
    out: list[int] = []
    for match in re.finditer(rf"live session {session_id}: served frames \[([\d, ]*)\]", log):
        out += [int(v) for v in match.group(1).split(",") if v.strip()]
    return out


@pytest.mark.django_db(transaction=True)
def test_two_live_processes_keep_a_recordings_order_and_state(
    client, user, media_dir, celery_worker_proc, service_env, tmp_path
):
    from inference.pipeline import Analyzer, auto_detect_every
    from live import services as live

    frames = _jpegs(media_dir / CLIP, limit=20)
    cookie = cookie_for(client, user)
    log_path = tmp_path / "live2.log"
    proc, _ = _start_live_worker({**service_env, "EMOTION_WORKER_WARMUP": "1"}, log_path)
    try:

        async def run():
            comm = communicator("/ws/live/", cookie)
            assert (await comm.connect(timeout=10))[0]
            await comm.send_json_to({"type": "start", "title": "Two processes", "fps": FPS})
            started = await comm.receive_json_from(timeout=10)
            messages = []
            for seq, (t, jpeg) in enumerate(frames):
                await comm.send_to(bytes_data=FRAME.pack(1, t, seq) + jpeg)
                # the first frames one by one: each process loads its models on its first frame
                while seq < WARM_UP and not any(m.get("seq") == seq for m in messages):
                    messages.append(await comm.receive_json_from(timeout=60))
                await asyncio.sleep(0.12)  # then faster than 5 frames/s: frames overlap between processes
                while not await comm.receive_nothing(timeout=0.01):
                    messages.append(await comm.receive_json_from(timeout=10))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answered = {m["seq"] for m in messages if m["type"] in ("live.result", "live.stale", "live.error")}
                skipped = max([m["count"] for m in messages if m["type"] == "skipped"], default=0)
                if len(answered) + skipped >= len(frames):
                    break
                messages.append(await comm.receive_json_from(timeout=30))
            await comm.send_json_to({"type": "stop"})
            while not any(m["type"] == "stopped" for m in messages):
                messages.append(await comm.receive_json_from(timeout=30))
            await comm.disconnect()
            return started, messages

        started, messages = async_to_sync(run)()
    finally:
        proc.terminate()
        proc.wait(15)
    session_id = started["session_id"]
    results = [m for m in messages if m["type"] == "live.result"]
    skipped = max([m["count"] for m in messages if m["type"] == "skipped"], default=0)
    stale = [m for m in messages if m["type"] == "live.stale"]
    assert not [m for m in messages if m["type"] in ("error", "live.error")], messages
    seqs = [r["seq"] for r in results]
    assert seqs == sorted(set(seqs)), seqs  # in the frames' order, each once
    assert len(results) + skipped + len(stale) == len(frames)
    assert len(results) >= len(frames) // 2, (len(results), skipped, len(stale))  # a shared machine is slow

    # both processes served the recording, each frame exactly once
    first, second = _served(celery_worker_proc.log(), session_id), _served(log_path.read_text(), session_id)
    assert first and second, (first, second)
    assert sorted(first + second) == seqs

    # the engine's state followed the frames: one track throughout, and the results of one Analyzer
    assert {f["track"] for r in results for f in r["faces"]} == {1}
    reference = Analyzer(detect_every=auto_detect_every(FPS))
    for r in results:
        t, jpeg = frames[r["seq"]]
        expected = reference.process(live.decode_jpeg(jpeg), index=live.slot_index(t, FPS), time=t)
        assert len(expected.faces) == len(r["faces"])
        for face, got in zip(expected.faces, r["faces"], strict=True):
            want = np.array([face.probabilities[e] for e in EMOTIONS])
            assert np.abs(want - np.array(got["probabilities"])).max() <= 1e-4


@pytest.mark.django_db(transaction=True)
def test_page_is_told_the_rate_the_server_holds(client, user, settings):
    """While the process serving the recording is busy (its lease held here), frames pile up: the page is
    asked for the rate delivered, never less than 1 frame/s."""
    import io

    from asgiref.sync import sync_to_async
    from PIL import Image

    from live import state as live_state

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    settings.EMOTION_LIVE_RESUME_GRACE_SECONDS = 12
    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/live/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_json_to({"type": "start", "title": "Rate", "fps": 5})
        started = await comm.receive_json_from(timeout=10)
        busy = live_state.lease(started["session_id"])
        assert await sync_to_async(busy.acquire)()
        messages = []
        for seq in range(live_state.MAX_PENDING + 3):
            await comm.send_to(bytes_data=FRAME.pack(1, seq / 5, seq) + jpeg)
            while not await comm.receive_nothing(timeout=0.02):
                messages.append(await comm.receive_json_from(timeout=10))
        await comm.disconnect()
        await sync_to_async(busy.release)()
        return started, messages

    started, messages = async_to_sync(run)()
    assert started["resume_grace_s"] == 12  # the page reconnects within the server's grace period
    rates = [m for m in messages if m["type"] == "live.rate"]
    assert rates == [{"type": "live.rate", "fps": 1.0, "requested": 5.0, "reduced": True}], messages
    skipped = [m["count"] for m in messages if m["type"] == "skipped"]
    assert skipped == [1, 2, 3], messages
    live_state.cleanup(started["session_id"])


def test_rate_goes_down_to_what_is_delivered_and_back_up_when_calm():
    from live.rate import CALM_SECONDS, RateGovernor

    gov = RateGovernor(5.0, now=0.0)
    for i in range(9):  # 3 results per second over 3 s
        gov.on_result(i / 3)
    assert gov.on_skip(3.0) and gov.rate == 3.0 and gov.reduced
    assert not gov.on_skip(3.5)  # one lowering per hold time
    t = 3.0
    raised = []
    while t < 3.0 + 2.5 * CALM_SECONDS:
        t += 1 / 3
        if gov.on_result(t):
            raised.append((round(t), gov.rate))
    assert [r for _, r in raised] == [4.0, 5.0] and not gov.reduced
    assert gov.message() == {"type": "live.rate", "fps": 5.0, "requested": 5.0, "reduced": False}
