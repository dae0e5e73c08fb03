"""The Record button in headless Chromium with a fake camera fed from the shared clip: live.js
samples frames and streams the MediaRecorder recording; the replay charts grow in real time from the
`live.result` messages; a marker dropped with "m" is stored at the recording's time, drawn and listed;
the session ends done, with stored observations, a seekable H.264 recording and the marker on its
replay page."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from conftest import ROOT, chromium_page, log_in
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = 640
# Saved by every run, for a person to look at (git-ignored).
SCREENSHOT = ROOT / "var" / "test-artifacts" / "live.png"
NOTE = "smile <i>here</i>"

# What the live charts show right now, read from the DOM.
CHART_STATE = """() => {
  const points = (sel) => ((document.querySelector(sel)?.getAttribute("d") || "").match(/[ML]/g) || []).length;
  const runs = [...document.querySelectorAll("#live-lanes rect.run")];
  return {
    emotionPoints: points("#live-timeline path.emotion-happy"),
    attentionPoints: points("#live-attention path.attention-line"),
    lanes: document.querySelectorAll("#live-lanes g.lane").length,
    laneWidth: runs.reduce((s, r) => s + Number(r.getAttribute("width")), 0),
    bars: [...document.querySelectorAll("#live-bars rect")].map((r) => r.getAttribute("data-value")).join(","),
    options: [...document.querySelectorAll("#live-person option")].map((o) => o.textContent),
    selected: document.getElementById("live-person").value,
    cursor: Number(document.querySelector("#live-timeline line.cursor").getAttribute("x1")),
  };
}"""


def _y4m(clip: Path, out: Path, seconds: float = 3.0) -> Path:
    """The clip's first seconds as a 640x640 25 fps Y4M file (Chromium's fake capture loops it)."""
    import cv2

    from inference.media import iter_video

    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{SIZE} H{SIZE} F25:1 Ip A1:1 C420jpeg\n".encode())
        for frame in iter_video(clip, end=seconds):
            bgr = cv2.resize(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), (SIZE, SIZE))
            fh.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


def test_record_page_reaches_session(user, password, media_dir, celery_worker_proc, daphne_server, tmp_path):
    import av
    import numpy as np

    from sessions_app.models import Marker, Session

    y4m = _y4m(media_dir / CLIP, tmp_path / "camera.y4m")
    fake_camera = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
    )
    errors: list[str] = []
    with chromium_page(*fake_camera, errors=errors) as page:  # the ORM must not run beside its event loop
        log_in(page, daphne_server, user.username, password)
        page.goto(f"{daphne_server}/sessions/new/")
        page.fill("#record-title", "Recorded in the browser")
        assert page.is_disabled("#marker-now")  # no markers before the recording starts
        page.click("#record-start")
        page.wait_for_selector("#live[data-recording='1']", timeout=30_000)
        recording_started = time.monotonic()
        page.wait_for_function(
            "() => document.querySelector('#record-readout').textContent.includes(' s')", timeout=60_000
        )
        page.wait_for_function(f"() => ({CHART_STATE})().emotionPoints >= 2", timeout=60_000)
        first = page.evaluate(CHART_STATE)
        states = [first]
        for _ in range(6):  # about 3 s of recording
            page.wait_for_timeout(500)
            states.append(page.evaluate(CHART_STATE))
        later = states[-1]

        page.click("h1")
        page.keyboard.press("m")
        pressed_at = time.monotonic() - recording_started
        page.wait_for_function("() => document.activeElement && document.activeElement.name === 'note'")
        shown_time = page.inner_text("#marker-time")
        page.keyboard.type(NOTE)
        page.keyboard.press("Enter")
        item = page.locator("#marker-list li.marker")
        item.wait_for()
        live_item = item.inner_text()
        live_marker_lines = [page.locator(f"{c} line.marker-line").count() for c in ("#live-timeline", "#live-lanes")]
        page.wait_for_timeout(1000)
        readout = page.inner_text("#record-readout")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.click("#record-stop")
        page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=180_000)
        page.wait_for_selector("#replay[data-ready='1']")
        replay_item = page.inner_text("#marker-list li.marker")
        replay_marker_lines = page.locator("#replay-timeline line.marker-line").count()

    assert not errors, errors
    # the charts grew while recording
    assert later["emotionPoints"] > first["emotionPoints"] >= 2, states
    assert later["attentionPoints"] > first["attentionPoints"] >= 2, states
    assert later["lanes"] >= 1 and later["laneWidth"] > first["laneWidth"] > 0, states
    assert len({s["bars"] for s in states}) > 1, states  # the current-frame bars follow the frames
    assert later["cursor"] > first["cursor"] > 0, states  # the "now" cursor moves
    # the charts open on a face, not the average (an explicit choice, listed last, as on the replay)
    assert later["options"][-1] == "everyone (average)" and len(later["options"]) >= 2, later
    assert later["selected"] != "everyone" and first["selected"] != "everyone", states
    assert " s" in readout
    # the marker: listed (as text) and drawn while recording, then on the replay page
    assert NOTE in live_item and NOTE in replay_item
    assert shown_time in live_item and shown_time in replay_item
    assert live_marker_lines == [1, 1] and replay_marker_lines == 1
    assert SCREENSHOT.stat().st_size > 10_000  # the live page, kept for review

    session = Session.objects.get(owner=user, source=Session.Source.LIVE)
    assert session.status == Session.Status.DONE, session.error
    assert session.title == "Recorded in the browser"
    marker = Marker.objects.get(session=session)
    assert marker.note == NOTE and marker.author_id == user.pk
    assert marker.time == pytest.approx(pressed_at, abs=1.0)
    assert marker.time <= session.duration + 0.5
    assert session.observations.exists()
    assert session.duration > 2.0
    with session.playable.open("rb") as fh, av.open(fh) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        container.seek(int(1.0 / stream.time_base), stream=stream)
        assert next(container.decode(stream)) is not None
    # the fake microphone's beeps (live.js asks for audio): the recording's Opus became AAC in the copy
    with session.playable.open("rb") as fh, av.open(fh) as container:
        assert [a.codec_context.name for a in container.streams.audio] == ["aac"]
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert float(np.abs(samples).max()) > 0.05, "the recording's audio is silent"
