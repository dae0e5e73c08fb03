"""Faults: Redis restarted during a live recording, PostgreSQL restarted during a segment analysis.

A worker killed with SIGKILL during an analysis (its pool process, and the whole worker) is covered by
tests/sessions/test_crash_recovery.py, whose equality these tests reuse: the same (frame index, slot)
keys, the same partition of keys by person, values within 1e-4. What the user sees there: the progress
bar pauses (at once for a pool process, which Celery replaces; up to the lease time when the whole
worker died and another one starts), then fills; the session page shows the complete analysis.

Restarting the machine's shared servers would break everyone else: these tests start a private stack
(bench/stack.py: embedded PostgreSQL and Redis under the supervisor that restarts them, migrations,
Daphne, a live worker and an inference worker) and restart *its* servers. Heavy (marked slow): about
a minute and a half on two cores, most of it the recordings themselves and starting the stack.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.live import jpeg_frames, record
from bench.media import loop_clip
from bench.stack import Stack
from tests.sessions.conftest import CLIP
from tests.sessions.test_crash_recovery import VALUE_FIELDS, _assert_equal

pytestmark = pytest.mark.slow
FPS = 5.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory, media_dir) -> Stack:
    workdir = tmp_path_factory.mktemp("fault-stack")
    st = Stack(
        workdir,
        workers=[("live", "live", 1), ("inference", "inference,default", 1)],
        extra_env={
            "EMOTION_DEFAULT_SAMPLE_FPS": "2",
            "EMOTION_SEGMENT_SECONDS": "2",
            "EMOTION_WORKER_DEVICE": "cpu",
        },
    )
    st.start()
    yield st
    st.stop()


def _wait_done(stack: Stack, session_id: int, timeout: float = 240) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, error = stack.sql("SELECT status, error FROM sessions_app_session WHERE id = %s", (session_id,))[0]
        if status in ("done", "failed"):
            return status, error
        time.sleep(0.5)
    raise AssertionError(f"session {session_id} still {status} after {timeout} s")


def _snapshot(stack: Stack, session_id: int) -> dict:
    """The same snapshot as test_crash_recovery's, read from the private database."""
    cols = ", ".join(VALUE_FIELDS)
    rows = stack.sql(
        f"SELECT frame_index, slot, person_id, {cols} FROM sessions_app_observation WHERE session_id = %s",
        (session_id,),
    )
    by_person: dict[int | None, set] = {}
    for frame, slot, person, *_ in rows:
        by_person.setdefault(person, set()).add((frame, slot))
    return {
        "values": {(r[0], r[1]): tuple(float(v) for v in r[3:]) for r in rows},
        "partition": sorted(sorted(keys) for keys in by_person.values()),
        "unassigned": None in by_person,
    }


def test_redis_restart_during_live_recording(stack, media_dir, tmp_path):
    """What the user sees: the readout keeps coming until Redis goes away, the page's "Skipped frames"
    line counts the frames sent while it was away (the socket stays open: no reconnect is needed),
    results come again once it is back (a frame that was being analysed at that moment gets no
    result), Stop saves the recording and the session page opens as usual.
    Stored: every slot of the recording's sampling grid has its one face, from a live frame or, for
    the skipped ones, from the recording, all of one person."""
    user = stack.user("live-fault")
    recording = loop_clip(media_dir / CLIP, tmp_path / "recording.mp4", 15.0)
    frames = jpeg_frames(recording, FPS)
    restart_at = 15
    rec = asyncio.run(
        record(
            stack.ws_base,
            user["cookie"],
            frames,
            fps=FPS,
            recording=recording.read_bytes(),
            during=(restart_at, lambda: stack.restart_redis(down_seconds=1.0)),
        )
    )
    assert rec.closed is None, f"the server closed the socket ({rec.closed}) during the Redis restart"
    assert rec.of_type("stopped") and not rec.of_type("error"), rec.messages[-5:]
    results = sorted(m["seq"] for m in rec.of_type("live.result"))
    assert results and results[0] < restart_at, "no result before the restart"
    assert results[-1] > restart_at + 10, f"results did not resume after the restart: {results}"
    assert rec.skipped > 0, "frames sent while Redis was away must be reported as skipped"
    # frames in flight when Redis went away (at most MAX_PENDING) get no result; the recording fills them
    # (frames not sent because the server lowered the rate are not lost: the page samples fewer)
    lost = len(frames) - len(results) - rec.skipped - rec.unsent
    assert 0 <= lost <= 3, (len(results), rec.skipped, len(frames))

    status, error = _wait_done(stack, rec.session_id)
    assert status == "done", error
    (duration,) = stack.sql("SELECT duration FROM sessions_app_session WHERE id = %s", (rec.session_id,))[0]
    snap = _snapshot(stack, rec.session_id)
    grid = {(f, 0) for f in range(int(round(duration * FPS)))}
    assert set(snap["values"]) == grid, sorted(set(snap["values"]) ^ grid)
    assert len(snap["partition"]) == 1 and not snap["unassigned"]


def test_postgres_restart_during_segment_analysis(stack, media_dir, tmp_path):
    """A PostgreSQL restart in the middle of a segment: the segment task fails on its lost connection,
    retries with backoff and claims its own lease again; the session completes and its observations
    equal an undisturbed run's. The user sees the progress bar pause, then finish."""
    user = stack.user("db-fault")
    video = loop_clip(media_dir / CLIP, tmp_path / "eight.mp4", 8.0)
    reference_id = stack.upload(user["token"], video)
    assert _wait_done(stack, reference_id) == ("done", "")
    reference = _snapshot(stack, reference_id)
    assert reference["values"] and not reference["unassigned"]

    session_id = stack.upload(user["token"], video)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # mid-analysis: a segment running and some already stored
        running = stack.sql(
            "SELECT count(*) FROM sessions_app_segment WHERE session_id = %s AND status = 'running'", (session_id,)
        )[0][0]
        stored = stack.sql("SELECT count(*) FROM sessions_app_observation WHERE session_id = %s", (session_id,))[0][0]
        if running and stored:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the analysis never reached the middle")
    stack.restart_postgres("fast")

    status, error = _wait_done(stack, session_id)
    assert status == "done", error
    retried = stack.sql(
        "SELECT count(*) FROM sessions_app_segment WHERE session_id = %s AND attempts > 1", (session_id,)
    )[0][0]
    log = (stack.dir / "worker-inference.log").read_text(errors="replace")
    assert "database unavailable" in log, f"the restart did not reach the analysis (retried segments: {retried})"
    _assert_equal(_snapshot(stack, session_id), reference)


@pytest.mark.browser
def test_record_page_carries_on_through_a_redis_restart(stack, media_dir, tmp_path):
    """The Record page in Chromium with a fake camera while Redis restarts: the live readout stops for
    the outage, the "Skipped frames" line counts what was dropped, the readout moves again, Stop takes
    the user to the finished session page; the recording is complete and analysed."""
    import re
    import threading

    from conftest import chromium_page
    from tests.sessions.test_browser_live import _y4m

    user = stack.user("browser-fault")
    camera = _y4m(media_dir / CLIP, tmp_path / "camera.y4m")
    errors: list[str] = []
    readout = "document.querySelector('#record-readout').textContent"
    with chromium_page(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
        errors=errors,
    ) as page:
        key = user["cookie"].split("=", 1)[1]
        page.context.add_cookies([{"name": "sessionid", "value": key, "url": stack.base}])
        page.goto(f"{stack.base}/sessions/new/")
        page.fill("#record-title", "Through a Redis restart")
        page.click("#record-start")
        page.wait_for_function(f"() => {readout}.includes(' s')", timeout=60_000)
        page.wait_for_timeout(1500)
        restart = threading.Thread(target=stack.restart_redis, kwargs={"down_seconds": 2.0})
        restart.start()
        restart.join()
        page.wait_for_function("() => document.querySelector('#record-skipped').textContent.includes('Skipped')")
        after_restart = page.evaluate(readout)
        page.wait_for_function(f"() => {readout} !== {after_restart!r}", timeout=30_000)  # results again
        skipped_line = page.inner_text("#record-skipped")
        page.wait_for_timeout(1000)
        page.click("#record-stop")
        page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=180_000)
        session_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
        status_text = page.inner_text("main")

    assert not errors, errors
    assert re.search(r"Skipped frames: [1-9]", skipped_line), skipped_line
    assert "interrupted" not in status_text.lower()
    status, error = _wait_done(stack, session_id)
    assert status == "done", error
    stored = stack.sql("SELECT count(*) FROM sessions_app_observation WHERE session_id = %s", (session_id,))[0][0]
    assert stored > 0
