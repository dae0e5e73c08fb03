"""The upload page in headless Chromium: upload.js sends the file in chunks, follows the analysis,
and lands on the session page once the worker is done."""

from __future__ import annotations

import re

import pytest

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
