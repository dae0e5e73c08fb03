"""Bulk upload in headless Chromium at phone width: a lying file dropped and two files chosen join one queue;
each row shows its own state, the server's refusal of the lying file marks it failed with the message,
and the other two are analysed to done while the page stays with the queue (waiting for done also leaves
the worker nothing to do after the test)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# a text file named .mp4, dropped on the upload form as a user would drag it from their files
DROP_LIAR = """
() => {
  const dt = new DataTransfer();
  dt.items.add(new File(["only words, not a video\\n".repeat(40)], "liar.mp4", { type: "video/mp4" }));
  const form = document.getElementById("upload-form");
  for (const type of ["dragenter", "dragover", "drop"]) {
    form.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }
}
"""

ROWS = """
() => [...document.querySelectorAll('#upload-queue li')].map((li) => ({
  name: li.querySelector('.file-name').textContent,
  state: li.dataset.state,
  message: li.querySelector('.file-message').textContent,
  link: li.querySelector('.file-message a')?.getAttribute('href') || null,
}))
"""

SETTLED = """
() => {
  const rows = [...document.querySelectorAll('#upload-queue li')];
  return rows.length === 3 && rows.every((li) => ['done', 'failed'].includes(li.dataset.state));
}
"""


def test_bulk_upload_queue(media_dir, celery_worker_proc, daphne_server, logged_in_page):
    page = logged_in_page  # requested last: the ORM must not run beside its event loop
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{daphne_server}/sessions/new/")
    page.evaluate(DROP_LIAR)  # first in the queue: its failure must not stop the files behind it
    page.set_input_files("input[name=file]", [str(media_dir / "obama_small.jpg"), str(media_dir / "biden.jpg")])
    page.focus("#upload-form button[type=submit]")
    page.keyboard.press("Enter")  # by keyboard
    page.wait_for_function(SETTLED, timeout=60_000)
    rows = {row["name"]: row for row in page.evaluate(ROWS)}
    assert list(rows) == ["liar.mp4", "obama_small.jpg", "biden.jpg"]
    assert rows["liar.mp4"]["state"] == "failed"
    assert rows["liar.mp4"]["message"].startswith("This file could not be read as a video or image")
    for name in ("obama_small.jpg", "biden.jpg"):
        assert rows[name]["state"] == "done", rows[name]
        assert rows[name]["link"].startswith("/sessions/") and rows[name]["message"] == "Open the session"
    assert rows["obama_small.jpg"]["link"] != rows["biden.jpg"]["link"]
    assert page.url == f"{daphne_server}/sessions/new/"  # several files: no jump to one session's page
    assert page.inner_text("#upload-status").startswith("3 files:")
    assert "1 failed" in page.inner_text("#upload-status")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing wider than a phone
