"""In headless Chromium: open a finished session, generate a heuristic summary (made by the real worker),
see it appear with its times as links, click one and see the video jump there. Names stay text."""

from __future__ import annotations

import pytest

from conftest import chromium_page, log_in
from summaries.models import Summary
from tests.replay.conftest import EVIL, clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing


@pytest.fixture
def played_session(user, media_dir):
    """A done 5 s session on the shared clip: Alice happy until 2.4 s, then sad; another person angry at first."""
    people = [
        ("Alice", [(f, "happy" if f < 12 else "sad", 0.8, 0.6) for f in range(25)]),
        (EVIL, [(f, "angry", 0.7, 0.9) for f in range(5)]),
    ]
    with clip_session(user, media_dir / CLIP, title="Summaries in the browser", duration=5.0, people=people) as session:
        yield session


def test_generate_summary_and_seek(user, password, played_session, daphne_server, celery_worker_proc):
    errors: list[str] = []
    with chromium_page(errors=errors) as page:  # the ORM must not run beside its event loop: checks come after
        page.set_default_timeout(30000)
        log_in(page, daphne_server, user.username, password)
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
        assert "Alice: on screen 5.0 s, 00:00.0–00:05.0." in text and EVIL in text  # the name as text
        assert page.locator("img[src='x']").count() == 0
        links = item.locator(".summary-text a.seek-link")
        assert "00:02.4" in links.all_inner_texts()  # times with tenths are linked too

        page.wait_for_function("() => document.getElementById('replay-video').readyState >= 1")
        links.filter(has_text="00:02.4").first.click()
        page.wait_for_function("() => Math.abs(document.getElementById('replay-video').currentTime - 2.4) < 0.01")
        # the replay's charts follow the seek once the video reports it ("seeked")
        page.wait_for_function("() => document.getElementById('replay-clock').textContent === '00:02.4'")

        assert not item.locator(".summary-stale").is_visible()
        _in_thread(_merge_the_two, played_session)  # as if merged in another tab
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back on this tab
        item.locator(".summary-stale").wait_for(state="visible")  # the summary now says it predates the merge
    assert not errors, errors
    summary = Summary.objects.get(session=played_session)
    assert summary.status == "done" and summary.requested_by == user and "00:02.4 happy → sad" in summary.text


def _merge_the_two(session) -> None:
    from people.models import Person
    from people.services import merge_people

    alice, other = Person.objects.filter(tracks__session=session).distinct().order_by("pk")
    merge_people(alice, other, actor=session.owner)


def _in_thread(fn, *args) -> None:
    """The ORM, away from the thread whose event loop Playwright keeps running."""
    import threading

    failed: list[BaseException] = []

    def run() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failed.append(exc)
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if failed:
        raise failed[0]
