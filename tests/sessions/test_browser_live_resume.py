"""The Record page in headless Chromium when its websocket drops mid-recording: live.js reconnects,
resumes the same session, resends the recording chunks the server had not acknowledged, and Stop
ends one session, done, whose recording covers the whole time (the gap included)."""

from __future__ import annotations

import re
import time

import pytest

from conftest import chromium_page, log_in
from tests.sessions.conftest import CLIP
from tests.sessions.test_browser_live import _y4m

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Keeps every socket the page opens, so the test can drop one as a network failure would, and notes
# the numbered recording chunks (0x03 + uint32 seq) each one sent and the error messages it received.
SOCKETS = """
window.__sockets = [];
window.__chunks = [];
window.__errors = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    window.__sockets.push(this);
    this.addEventListener("message", (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "error") window.__errors.push(msg.message);
    });
  }
  send(data) {
    if (data instanceof Blob) {
      const socket = window.__sockets.indexOf(this);
      data.slice(0, 5).arrayBuffer().then((b) => {
        const view = new DataView(b);
        if (view.getUint8(0) === 3) window.__chunks.push([socket, view.getUint32(1)]);
      });
    }
    super.send(data);
  }
};
"""


def test_dropped_socket_resumes_the_same_session(
    user, password, media_dir, celery_worker_proc, daphne_server, tmp_path
):
    from sessions_app.models import Session

    y4m = _y4m(media_dir / CLIP, tmp_path / "camera.y4m", seconds=2.0)
    fake_camera = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
    )
    errors: list[str] = []
    with chromium_page(*fake_camera, errors=errors) as page:
        log_in(page, daphne_server, user.username, password)
        page.add_init_script(SOCKETS)
        page.goto(f"{daphne_server}/sessions/new/")
        page.click("#record-start")
        page.wait_for_selector("#live[data-recording='1']", timeout=30_000)
        started = time.monotonic()
        page.wait_for_timeout(2500)  # two recorder chunks
        page.evaluate("window.__sockets.find((s) => s.url.endsWith('/ws/live/')).close()")
        page.wait_for_function("() => document.querySelector('#record-status').textContent.includes('reconnecting')")
        page.wait_for_function(
            "() => document.querySelector('#record-status').textContent.includes('Reconnected')", timeout=20_000
        )
        sockets = page.evaluate("window.__sockets.filter((s) => s.url.endsWith('/ws/live/')).length")
        page.wait_for_timeout(2000)
        chunks, page_errors = page.evaluate("[window.__chunks, window.__errors]")  # this page's, before it goes
        page.click("#record-stop")
        recorded = time.monotonic() - started
        page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=180_000)
        page_text = page.inner_text("main")

    assert not errors, errors
    assert sockets == 2
    assert not page_errors, page_errors
    first = [seq for socket, seq in chunks if socket == 0]
    second = [seq for socket, seq in chunks if socket == 1]
    assert first == list(range(len(first))) and len(first) >= 2, chunks
    # after the resume: what the server lacked (kept while disconnected), then the new chunks, in order
    assert second and second == list(range(second[0], second[0] + len(second))) and second[0] <= len(first), chunks
    session = Session.objects.get(owner=user, source=Session.Source.LIVE)  # one session for both sockets
    assert session.status == Session.Status.DONE, (session.error, celery_worker_proc.log()[-3000:])
    assert session.live_generation == 1 and session.connection_lost_at is None
    assert "connection was lost" not in page_text
    # the chunks recorded while disconnected were sent after the resume: the recording has no hole
    assert session.duration == pytest.approx(recorded, abs=1.5), (session.duration, recorded)
    assert session.observations.exists()
