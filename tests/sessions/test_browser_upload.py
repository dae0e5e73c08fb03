"""The upload page in headless Chromium: upload.js sends the file in chunks, follows the analysis,
and lands on the session page once the worker is done."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from emotionsite.env import env_str

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_page_reaches_session(media_dir, celery_worker_proc, daphne_server, logged_in_page):
    page = logged_in_page  # requested last: the ORM must not run beside its event loop
    page.goto(f"{daphne_server}/sessions/new/")
    page.fill("input[name=title]", "From the browser")
    page.set_input_files("input[name=file]", str(media_dir / "obama.jpg"))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=120_000)
    page.wait_for_selector("text=Person 1")
    assert "From the browser" in page.inner_text("h1")
    # the image is served as a sandboxed inline image/jpeg (finding 3) and still shows on the page
    page.wait_for_function("() => { const i = document.querySelector('img.media'); return i && i.naturalWidth > 0 }")


# The page's sockets are counted, the upload's id kept, and its chunks held back (the upload stays open).
HOLD_CHUNKS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = 0;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (!String(args[0]).endsWith("/ws/upload/")) return;
      window.__sockets += 1;
      this.addEventListener("message", (ev) => {
        const msg = JSON.parse(ev.data);
        if (msg.type === "ready") window.__uploadId = msg.upload_id;
      });
    }
    send(data) {
      if (typeof data === "string") super.send(data);
    }
  };
})();
"""

RESUME = """
([uploadId, size]) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/ws/upload/`);
  ws.onopen = () => ws.send(JSON.stringify({ type: "start", name: "obama.jpg", size, upload_id: uploadId }));
  ws.onmessage = (ev) => resolve(JSON.parse(ev.data));
})
"""


def test_a_page_whose_upload_was_taken_over_stops(media_dir, daphne_server, logged_in_page, user):
    """issue 20, finding 1: a resume elsewhere closes the older socket (4409); its page must stop, not resume
    again (two pages would take the upload from each other forever)."""
    page = logged_in_page
    image = media_dir / "obama.jpg"
    page.add_init_script(HOLD_CHUNKS)
    page.goto(f"{daphne_server}/sessions/new/")
    page.set_input_files("input[name=file]", str(image))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function("() => Boolean(window.__uploadId)")
    upload_id = page.evaluate("() => window.__uploadId")
    try:
        other = page.context.new_page()  # the same user in another tab
        other.goto(f"{daphne_server}/sessions/new/")
        ready = other.evaluate(RESUME, [upload_id, image.stat().st_size])
        assert ready == {"type": "ready", "upload_id": upload_id, "offset": 0}
        page.wait_for_function("() => document.getElementById('upload-status').textContent.includes('another')")
        page.wait_for_timeout(2500)  # the page would have reconnected within 1 s
        assert page.evaluate("() => window.__sockets") == 1
        assert "another connection" in page.inner_text("#upload-status")
        assert page.is_enabled("#upload-form button[type=submit]")
    finally:  # the server stages under its own EMOTION_STAGING_DIR (default var/staging), not this test's
        staging = Path(env_str("EMOTION_STAGING_DIR", str(django_settings.VAR_DIR / "staging")))
        for path in (staging / str(user.pk)).glob(f"{upload_id}.*"):
            path.unlink()
