"""Workers on another machine (docs/architecture.md "A worker on another machine"): the inference and live
workers run in a network namespace with their own empty folders; PostgreSQL, Redis and the S3-compatible
store reach them only over a private veth link, with passwords. An upload and a live recording made on the web
host are analysed there, with the same observations as one machine computes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from django.conf import settings as django_settings

from bench.live import jpeg_frames, record
from bench.stack import run
from conftest import ROOT
from inference.classes import EMOTIONS
from tests.multihost import hosts
from tests.sessions.conftest import CLIP

FPS = 2.0
PROBS = ", ".join(f"o.{e}" for e in EMOTIONS)
OBSERVATIONS = f"""
    SELECT o.frame_index, o.slot, o.time, o.box_top, o.box_right, o.box_bottom, o.box_left, t.key, {PROBS}
    FROM sessions_app_observation o JOIN sessions_app_track t ON t.id = o.track_id
    WHERE o.session_id = %s ORDER BY o.frame_index, o.slot"""


def _observations(stack, session_id: int) -> dict[tuple[int, int], tuple]:
    """(frame index, slot) -> (time, box, track key, probabilities) as the second host stored them."""
    return {
        (row[0], row[1]): (row[2], tuple(row[3:7]), row[7], np.array(row[8:], dtype=float))
        for row in stack.sql(OBSERVATIONS, (session_id,))
    }


def _tracks(observations: dict) -> list[list[tuple[int, int]]]:
    """The observations grouped by track, whatever the tracks are called."""
    groups: dict[str, list] = {}
    for key, (_, _, track, _) in sorted(observations.items()):
        groups.setdefault(track, []).append(key)
    return sorted(groups.values())


def _web_files(stack) -> list[str]:
    folders = (stack.web_dir / "media", stack.web_dir / "staging")
    return sorted(str(p) for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file())


def test_second_host_reaches_only_the_link_and_needs_the_passwords(two_hosts):
    from urllib.parse import urlsplit

    test_redis = urlsplit(django_settings.REDIS_URL)  # this test run's own Redis, on this machine's loopback
    web_port = two_hosts.web.port
    link = two_hosts.link
    targets = {
        "redis over the link": [link.host_ip, two_hosts.redis.port],
        "this machine's loopback redis": ["127.0.0.1", test_redis.port],
        "the web host's daphne on loopback": ["127.0.0.1", web_port],
        "daphne through the link address": [link.host_ip, web_port],
        "anywhere else": ["192.0.2.1", 80],
    }
    worker = two_hosts.workers["inference"]
    env = {
        "PATH": "/usr/bin:/bin",
        "PROBE_TCP": json.dumps(targets),
        "PROBE_REDIS": json.dumps([link.host_ip, two_hosts.redis.port, two_hosts.redis.password]),
        "PROBE_PG": two_hosts.postgres.url,
        "PROBE_S3": json.dumps(
            [two_hosts.store.endpoint, two_hosts.store.bucket, two_hosts.store.key_id, two_hosts.store.secret]
        ),
        "PROBE_PATHS": json.dumps([str(two_hosts.web_dir), str(two_hosts.postgres.dir), "/tmp/worker/media"]),
    }
    result = subprocess.run(  # in the inference worker's own network and mount namespaces
        [
            "nsenter",
            "-t",
            str(worker.proc.pid),
            "-n",
            "-m",
            str(hosts.VENV_PYTHON),
            str(Path(__file__).with_name("probe.py")),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["tcp"] == {
        "redis over the link": "open",
        "this machine's loopback redis": "refused",  # the namespace's loopback is its own
        "the web host's daphne on loopback": "refused",
        "daphne through the link address": "refused",  # Daphne listens on loopback only
        "anywhere else": "unreachable",  # no route but the link's /30
    }
    assert seen["redis"] == {"no password": "-NOAUTH", "password": "+PONG"}
    assert seen["postgres"] == {"wrong password": "refused: password", "password": "ok 1"}
    assert seen["s3"] == {"wrong secret": "SignatureDoesNotMatch", "key": "ok"}
    # nothing of the web host's disk is visible there; its own folders are
    hidden = {str(two_hosts.web_dir): False, str(two_hosts.postgres.dir): False}
    assert seen["paths"] == {**hidden, "/tmp/worker/media": True}
    assert link.routes() == [f"{link.network} dev {link.ns_dev} proto kernel scope link src {link.ns_ip}"]

    health = httpx.get(f"{two_hosts.web.base}/healthz", timeout=10).json()  # the web host sees them over Redis
    assert (health["database"], health["redis"]) == ("up", "up"), health
    queues = health["workers"]["queues"]
    assert (queues["inference"], queues["live"], queues["default"], queues["summaries"]) == ("up", "up", "up", "down")


def test_upload_is_analysed_on_the_second_host_as_on_one_machine(two_hosts, media_dir):
    from inference.pipeline import Analyzer, analyze_video, auto_detect_every

    clip = media_dir / CLIP
    session_id = two_hosts.web.upload(two_hosts.user["token"], clip)
    status, error = two_hosts.wait_session(session_id)
    assert status == "done", (error, two_hosts.logs())
    stored = _observations(two_hosts, session_id)

    # one machine: the same file, the same segments, rate and engine settings, in this process
    segments = two_hosts.sql(
        'SELECT index, start, "end" FROM sessions_app_segment WHERE session_id = %s ORDER BY index', (session_id,)
    )
    assert len(segments) == 1  # a 5 s clip, 20 s segments
    expected = {}
    for n, (index, start, end) in enumerate(segments):
        analyzer = Analyzer(detect_every=auto_detect_every(FPS))
        last = n == len(segments) - 1
        analysis = analyze_video(clip, fps=FPS, start=start, end=None if last else end, analyzer=analyzer)
        for frame in analysis.frames:
            for face in frame.faces:
                probs = np.array([face.probabilities[e] for e in EMOTIONS])
                expected[(frame.index, face.slot)] = (frame.time, tuple(face.box), f"{index}:{face.track_id}", probs)
    assert len(expected) >= 9  # the clip's one face in (nearly) every sampled frame
    assert stored.keys() == expected.keys()
    for key, (time, box, _, probs) in expected.items():
        got_time, got_box, _, got_probs = stored[key]
        assert got_time == pytest.approx(time, abs=1e-6) and got_box == box, key
        assert np.abs(got_probs - probs).max() <= 1e-4, (key, got_probs, probs)
    assert _tracks(stored) == _tracks(expected)  # the same faces grouped into the same tracks

    # the media went to the bucket, not to either host's disk; the worker's temporary copy is gone
    (original,) = two_hosts.sql("SELECT original FROM sessions_app_session WHERE id = %s", (session_id,))[0]
    assert two_hosts.store.read(original) == clip.read_bytes()
    assert _web_files(two_hosts) == []
    assert {name: w.files() for name, w in two_hosts.workers.items()} == {"inference": [], "live": []}


def test_live_recording_is_analysed_on_the_second_host(two_hosts, media_dir):
    from inference.pipeline import Analyzer, auto_detect_every
    from live.services import decode_jpeg, slot_index

    clip = media_dir / CLIP
    frames = jpeg_frames(clip, FPS, n=6)  # 3 s of frames for the live charts
    rec = run(record(two_hosts.web.ws_base, two_hosts.user["cookie"], frames, fps=FPS, recording=clip.read_bytes()))
    assert rec.session_id and rec.closed is None and not rec.of_type("error"), rec.messages
    status, error = two_hosts.wait_session(rec.session_id)
    assert status == "done", (error, two_hosts.logs())

    # the frames came back from the second host's live worker (a busy one may skip a frame for a later one,
    # as for any recording), equal to the engine run here on the same JPEGs in the same order
    results = {m["seq"]: m for m in rec.of_type("live.result")}
    assert len(results) + rec.skipped == len(frames) and len(results) >= len(frames) - 2, (rec.skipped, list(results))
    reference = Analyzer(detect_every=auto_detect_every(FPS))
    stored = _observations(two_hosts, rec.session_id)
    faces = 0
    for seq in sorted(results):
        t, jpeg = frames[seq]
        want = reference.process(decode_jpeg(jpeg), index=slot_index(t, FPS), time=t)
        got = results[seq]["faces"]
        assert len(got) == len(want.faces), (seq, got)
        faces += len(got)
        for face, payload in zip(want.faces, got, strict=True):
            probs = np.array([face.probabilities[e] for e in EMOTIONS])
            assert np.abs(np.array(payload["probabilities"]) - probs).max() <= 1e-4
            assert payload["box"] == list(face.box)
            assert np.abs(stored[(want.index, face.slot)][3] - probs).max() <= 1e-4  # and stored so
    assert faces >= len(results) - 1  # the clip's one face in (nearly) every frame
    assert "sessions_app.serve_live_frames" in two_hosts.workers["live"].log()

    # after Stop the second host's inference worker filled the slots the live frames did not cover
    assert {index for index, _ in stored} == set(range(10))  # 5 s at 2 fps
    playable, original = two_hosts.sql(
        "SELECT playable, original FROM sessions_app_session WHERE id = %s", (rec.session_id,)
    )[0]
    assert playable.endswith(".mp4") and original == playable
    assert two_hosts.store.keys(playable)[playable] > 0
    assert _web_files(two_hosts) == []
    assert {name: w.files() for name, w in two_hosts.workers.items()} == {"inference": [], "live": []}


def test_dropped_recording_is_finished_on_the_second_host(two_hosts, media_dir):
    """A live socket that closes without Stop: the web host copies what arrived to the bucket, and once the
    grace period passes the second host (which never saw the web host's staging disk) finishes it from there."""
    clip = media_dir / CLIP
    frames = jpeg_frames(clip, FPS, n=4)
    rec = run(
        record(
            two_hosts.web.ws_base, two_hosts.user["cookie"], frames, fps=FPS, recording=clip.read_bytes(), stop=False
        )
    )
    assert rec.session_id and not rec.of_type("error") and not rec.of_type("stopped"), rec.messages
    status, error = two_hosts.wait_session(rec.session_id)
    assert status == "done", (error, two_hosts.logs())
    indexes = {index for index, _ in _observations(two_hosts, rec.session_id)}
    assert indexes == set(range(10)), sorted(indexes)  # the whole 5 s recording at 2 fps, not only the live frames
    playable = two_hosts.sql("SELECT playable FROM sessions_app_session WHERE id = %s", (rec.session_id,))[0][0]
    assert playable.endswith(".mp4") and two_hosts.store.keys(playable)[playable] > 0
    assert {name: w.files() for name, w in two_hosts.workers.items()} == {"inference": [], "live": []}
    # only the web machine can remove what it staged: its hourly clean_staging (deploy/systemd) does
    staged = _web_files(two_hosts)
    assert [Path(p).name for p in staged] == [f"live-{rec.session_id}.rec"], staged
    out = two_hosts.web.manage("clean_staging")
    assert "1 finished recording(s)" in out and _web_files(two_hosts) == []
