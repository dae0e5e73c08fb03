"""Media answers stream through run.sh's own Daphne with bounded memory (issue 21).

A ``<video>`` asks for the whole file (``Range: bytes=0-``) and viewers leave mid-way: the web process must
stay the same size whatever the video's length and however many watch at once. The video is a sparse file
(zeros, no disk used) with a marked block, so a range read can be checked byte for byte.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.db import connection

from sessions_app.models import Observation, Session
from tests.replay.conftest import add_observations
from tests.runstack import daphne_process, log_in

MB = 1024 * 1024
VIDEO_MB = 500
MARK_AT = 321 * MB + 12345  # a block of known bytes inside the zeros
MARK = bytes(range(256)) * 64
VIEWERS = 10
DROP_AFTER = 64 * MB  # half the viewers leave after this much
GROWTH_LIMIT = 100 * MB

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def long_video(web_stack, user) -> Session:
    session = Session.objects.create(
        owner=user, title="Long", status=Session.Status.DONE, progress=1.0, original_format="mp4"
    )
    name = f"sessions/{user.pk}/{session.pk}/original.mp4"
    path = Path(web_stack.env["MEDIA_ROOT"]) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(VIDEO_MB * MB)
        fh.seek(MARK_AT)
        fh.write(MARK)
    Session.objects.filter(pk=session.pk).update(original=name, playable=name, playable_format="mp4")
    session.refresh_from_db()
    yield session
    path.unlink()


@pytest.fixture
def viewer(web_stack, user) -> httpx.Client:
    with httpx.Client(timeout=60) as client:
        assert log_in(client, web_stack.http, user.username).status_code == 302
        yield client


class PeakRss:
    """Samples a process's resident memory every 20 ms in a thread, keeping the highest."""

    def __init__(self, proc) -> None:
        self.proc, self.peak, self._stop = proc, proc.memory_info().rss, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _watch(client: httpx.Client, url: str, stop_after: int | None) -> int:
    """GET ``url`` as a ``<video>`` does; read it all, or leave after ``stop_after`` bytes."""
    received = 0
    with client.stream("GET", url, headers={"Range": "bytes=0-"}) as r:
        assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes 0-{VIDEO_MB * MB - 1}/{VIDEO_MB * MB}"
        for chunk in r.iter_raw(MB):
            received += len(chunk)
            if stop_after is not None and received >= stop_after:
                break  # leaving the block closes the connection mid-body
    return received


def test_parallel_viewers_leave_daphne_flat(web_stack, long_video, viewer):
    url = f"{web_stack.http}/sessions/{long_video.pk}/media/playable/"
    daphne = daphne_process(web_stack)
    assert viewer.get(url, headers={"Range": "bytes=0-1023"}).status_code == 206  # imports warmed up
    baseline = daphne.memory_info().rss
    started = time.monotonic()
    with PeakRss(daphne) as rss, ThreadPoolExecutor(VIEWERS) as pool:
        jobs = []
        for i in range(VIEWERS):
            client = httpx.Client(timeout=60, cookies=viewer.cookies)
            jobs.append(pool.submit(_watch, client, url, DROP_AFTER if i % 2 else None))
        received = [job.result() for job in jobs]
    growth = rss.peak - baseline
    took = time.monotonic() - started
    print(f"{VIEWERS} viewers in {took:.1f} s: RSS {baseline / MB:.0f} MB, peak +{growth / MB:.0f} MB")
    assert received[0::2] == [VIDEO_MB * MB] * (VIEWERS // 2)
    assert all(DROP_AFTER <= n < VIDEO_MB * MB for n in received[1::2])
    assert growth < GROWTH_LIMIT, f"Daphne grew {growth / MB:.0f} MB serving {VIEWERS} viewers"


def test_range_read_returns_exactly_its_range(web_stack, long_video, viewer):
    first, last = MARK_AT - 10, MARK_AT + len(MARK) + 9
    r = viewer.get(
        f"{web_stack.http}/sessions/{long_video.pk}/media/original/", headers={"Range": f"bytes={first}-{last}"}
    )
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes {first}-{last}/{VIDEO_MB * MB}"
    assert r.headers["Content-Length"] == str(last - first + 1)
    assert r.content == bytes(10) + MARK + bytes(10)
    assert r.headers["Content-Disposition"] == f'attachment; filename="session-{long_video.pk}.mp4"'
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Content-Security-Policy"] == "sandbox"


def _video_position(daphne, path: str) -> int | None:
    """Where Daphne's open handle on the video is (bytes read so far); None when it has none open."""
    positions = [f.position for f in daphne.open_files() if f.path == path]
    return positions[0] if positions else None


def _wait_closed(daphne, path: str, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _video_position(daphne, path) is None:
            return True
        time.sleep(0.05)
    return False


def test_a_stalled_viewer_is_not_read_ahead_and_a_gone_one_is_closed(web_stack, long_video, viewer):
    daphne = daphne_process(web_stack)
    path = str(Path(web_stack.env["MEDIA_ROOT"]) / long_video.playable.name)
    url = f"{web_stack.http}/sessions/{long_video.pk}/media/playable/"
    with viewer.stream("GET", url, headers={"Range": "bytes=0-"}) as r:
        chunks = r.iter_raw(MB)  # kept: a dropped iterator closes the connection
        next(chunks)
        time.sleep(1.5)  # the viewer pauses: Daphne reads only what the sockets' buffers hold
        position = _video_position(daphne, path)
        assert position is not None and position < 32 * MB, f"read {position / MB:.0f} MB ahead of a paused viewer"
    assert _wait_closed(daphne, path), "the video stayed open after its viewer left"
    print(f"a paused viewer: Daphne had read {position / MB:.1f} MB of the video")


EXPORT_ROWS = 100_000


@pytest.fixture
def long_results(web_stack, user) -> Session:
    """A session with ``EXPORT_ROWS`` observations, copied from one in the database (seconds, not minutes)."""
    session = Session.objects.create(owner=user, title="Results", status=Session.Status.DONE, progress=1.0)
    add_observations(session, None, [(0, "happy", 0.7, 0.5)], slot=0, key="t0")
    fields = [f.column for f in Observation._meta.concrete_fields if f.column not in ("id", "frame_index", "time")]
    columns = ", ".join(fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Observation._meta.db_table} ({columns}, frame_index, time) "
            f"SELECT {columns}, g, g / 5.0 FROM {Observation._meta.db_table}, generate_series(1, %s) g "
            "WHERE session_id = %s",
            [EXPORT_ROWS - 1, session.pk],
        )
    return session


def test_a_long_export_streams_in_batches(web_stack, long_results, viewer):
    url = f"{web_stack.http}/sessions/{long_results.pk}/export/observations.json"
    daphne = daphne_process(web_stack)
    assert viewer.get(url).status_code == 200  # imports and the first query warmed up (the file is small so far)
    baseline = daphne.memory_info().rss
    with PeakRss(daphne) as rss:
        r = viewer.get(url)
    growth = rss.peak - baseline
    rows = json.loads(r.content)
    print(f"an export of {len(r.content) / MB:.0f} MB: Daphne peak +{growth / MB:.0f} MB")
    assert r.headers["Content-Disposition"] == f'attachment; filename="session-{long_results.pk}-observations.json"'
    assert len(rows) == EXPORT_ROWS and [row["frame_index"] for row in rows[:3]] == [0, 1, 2]
    assert growth < 20 * MB, f"Daphne grew {growth / MB:.0f} MB sending a {len(r.content) / MB:.0f} MB export"
