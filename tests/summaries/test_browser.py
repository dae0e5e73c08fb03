"""In headless Chromium: open a finished session, generate a heuristic summary (made by the real worker),
see it appear with its times as links, click one and see the video jump there. Names stay text."""

from __future__ import annotations

import pytest
from django.core.files import File

from conftest import CHROMIUM, CHROMIUM_ARGS
from sessions_app.models import Person, Session
from summaries.models import Summary
from tests.replay.conftest import add_observations
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = "<img src=x onerror=alert(1)>"
media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing


@pytest.fixture
def played_session(user, media_dir):
    """A done 5 s session on the shared clip: Alice happy until 2.4 s, then sad; another person angry at first."""
    session = Session.objects.create(
        owner=user, title="Summaries in the browser", status=Session.Status.DONE, progress=1.0, duration=5.0,
        sample_fps=5.0,
    )  # fmt: skip
    with open(media_dir / CLIP, "rb") as fh:
        session.original.save(CLIP, File(fh), save=False)
        fh.seek(0)
        session.playable.save(CLIP, File(fh), save=True)
    alice = Person.objects.create(owner=user, number=1, name="Alice")
    evil = Person.objects.create(owner=user, number=2, name=EVIL)
    add_observations(session, alice, [(f, "happy" if f < 12 else "sad", 0.8, 0.6) for f in range(25)], 0, "0:1")
    add_observations(session, evil, [(f, "angry", 0.7, 0.9) for f in range(5)], 1, "0:2")
    yield session
    for field in (session.original, session.playable):
        field.storage.delete(field.name)


def test_generate_summary_and_seek(user, password, played_session, daphne_server, celery_worker_proc):
    if not CHROMIUM.exists():
        pytest.skip("system Chromium not found at /usr/bin/chromium (install Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:  # the ORM must not run beside its event loop: database checks come after
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(30000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
            page.goto(f"{daphne_server}/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", password)
            page.click("main button[type=submit]")
            page.wait_for_selector("#session-list")
            page.goto(f"{daphne_server}/sessions/{played_session.pk}/")
            page.wait_for_selector("#summaries[data-ready='1']")
            assert page.locator("#summary-empty").is_visible()
            assert page.locator("#summary-backend option[value=heuristic]").is_enabled()

            page.select_option("#summary-backend", "heuristic")
            page.click("#summary-generate")
            item = page.locator("#summary-list li.summary").first
            item.locator("a.seek-link").first.wait_for()  # done, pushed over the websocket, times linked
            assert item.get_attribute("data-status") == "done"
            assert item.locator(".summary-status").inner_text() == "Done"
            assert item.locator(".summary-backend").inner_text() == "Heuristic"
            text = item.locator(".summary-text").inner_text()
            assert "Alice: on screen 5.0 s, 00:00–00:05." in text and EVIL in text  # the name as text
            assert page.locator("img[src='x']").count() == 0
            links = item.locator(".summary-text a.seek-link")
            assert "00:02" in links.all_inner_texts()

            page.wait_for_function("document.getElementById('replay-video').readyState >= 1")
            links.filter(has_text="00:02").first.click()
            page.wait_for_function("Math.abs(document.getElementById('replay-video').currentTime - 2) < 0.01")
            # the replay's charts follow the seek once the video reports it ("seeked")
            page.wait_for_function("document.getElementById('replay-clock').textContent === '00:02'")
        finally:
            browser.close()
    assert not errors, errors
    summary = Summary.objects.get(session=played_session)
    assert summary.status == "done" and summary.requested_by == user and "00:02 happy → sad" in summary.text
