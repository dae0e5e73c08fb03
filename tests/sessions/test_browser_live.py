"""The Record button in headless Chromium with a fake camera fed from the shared clip: live.js
samples frames and streams the MediaRecorder recording; the session ends done, with stored
observations and a seekable H.264 recording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = 640


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

    from sessions_app.models import Session

    if not CHROMIUM.exists():
        pytest.skip("system Chromium not found at /usr/bin/chromium (install Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    y4m = _y4m(media_dir / CLIP, tmp_path / "camera.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
    ]
    with sync_playwright() as pw:  # the ORM must not run beside its event loop: checks come after
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(15000)
            page.goto(f"{daphne_server}/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", password)
            page.click("main button[type=submit]")
            page.wait_for_selector("#session-list")
            page.goto(f"{daphne_server}/sessions/new/")
            page.fill("#record-title", "Recorded in the browser")
            page.click("#record-start")
            page.wait_for_function(
                "document.querySelector('#record-readout').textContent.includes(' s')", timeout=60_000
            )
            page.wait_for_timeout(4000)
            readout = page.inner_text("#record-readout")
            page.click("#record-stop")
            page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=180_000)
        finally:
            browser.close()

    session = Session.objects.get(owner=user, source=Session.Source.LIVE)
    assert session.status == Session.Status.DONE, session.error
    assert session.title == "Recorded in the browser"
    assert " s" in readout
    assert session.observations.exists()
    assert session.duration > 2.0
    with session.playable.open("rb") as fh, av.open(fh) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        container.seek(int(1.0 / stream.time_base), stream=stream)
        assert next(container.decode(stream)) is not None
