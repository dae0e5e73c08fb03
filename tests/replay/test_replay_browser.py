"""The replay page in headless Chromium: charts drawn from the API, seeking from the timeline, a marker
added with the "m" key and stored, and person names shown as text."""

from __future__ import annotations

import pytest

from conftest import ROOT, chromium_page, log_in
from sessions_app.models import AuditEntry, Marker
from tests.replay.conftest import EVIL, clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Saved by every run, for a person to look at (git-ignored).
SCREENSHOT = ROOT / "var" / "test-artifacts" / "replay.png"
media_dir = sessions_conftest.media_dir  # the shared-media fixture: skips with its reason when missing


@pytest.fixture
def played_session(user, media_dir):
    """A done 5 s session whose original and playable video is the shared clip; two people seen:
    Alice happy in the first half and sad in the second, the other only in the first second."""
    people = [
        ("Alice", [(f, "happy" if f < 12 else "sad", 0.8, 0.6) for f in range(25)]),
        (EVIL, [(f, "angry", 0.7, 0.9) for f in range(5)]),
    ]
    with clip_session(user, media_dir / CLIP, title="Replay in the browser", duration=5.0, people=people) as session:
        yield session


def test_replay_page(user, password, played_session, daphne_server):
    errors: list[str] = []
    with chromium_page(errors=errors) as page:  # the ORM must not run beside its event loop: checks come after
        log_in(page, daphne_server, user.username, password)
        page.goto(f"{daphne_server}/sessions/{played_session.pk}/")
        page.wait_for_selector("#replay[data-ready='1']")

        emotion_lines = page.locator("#replay-timeline path.emotion-line")
        assert emotion_lines.count() == 7
        assert all((emotion_lines.nth(i).get_attribute("d") or "").startswith("M") for i in range(7))
        assert page.locator("#replay-attention path.attention-line").count() == 1
        lane_names = page.locator("#replay-lanes g.lane text.lane-name").all_text_contents()
        assert lane_names == ["Alice", EVIL]
        options = page.locator("#replay-person option").all_inner_texts()
        assert options == ["everyone (average)", "Alice", EVIL]
        assert page.locator("img[src='x']").count() == 0
        everyone_happy = float(page.get_attribute("#replay-bars rect.bar-happy", "data-value"))
        assert everyone_happy == pytest.approx((0.8 + 0.05) / 2, abs=0.01)  # Alice and the other, averaged
        page.select_option("#replay-person", label="Alice")
        happy_before = float(page.get_attribute("#replay-bars rect.bar-happy", "data-value"))

        page.wait_for_function("() => document.getElementById('replay-video').readyState >= 1")
        duration = page.evaluate("document.getElementById('replay-video').duration")
        assert duration == pytest.approx(5.0, abs=0.3)
        page.locator("#replay-timeline rect.seek-overlay").click()  # the centre: half of the duration
        half = duration / 2
        page.wait_for_function(f"() => Math.abs(document.getElementById('replay-video').currentTime - {half}) < 0.3")
        sad_after = float(page.get_attribute("#replay-bars rect.bar-sad", "data-value"))
        assert happy_before > 0.5 and sad_after > 0.5  # the bars followed the seek
        cursor_x = float(page.get_attribute("#replay-timeline line.cursor", "x1"))
        assert cursor_x > 100

        page.click("h1")
        page.keyboard.press("m")
        page.wait_for_function("() => document.activeElement && document.activeElement.name === 'note'")
        page.keyboard.type("look <b>here</b> 00:01")
        page.keyboard.press("Enter")
        item = page.locator("#marker-list li.marker")
        item.wait_for()
        assert "look <b>here</b> 00:01" in item.inner_text()
        assert page.locator("#marker-list b").count() == 0
        links = item.locator("a.seek-link")
        assert links.count() == 2  # the marker's own time and the time inside the note
        assert links.first.inner_text() == "00:02"
        assert page.locator("#replay-timeline line.marker-line").count() == 1
        links.nth(1).click()  # the 00:01 in the note jumps the video
        page.wait_for_function("() => Math.abs(document.getElementById('replay-video').currentTime - 1) < 0.2")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert not errors, errors
    assert SCREENSHOT.stat().st_size > 10_000  # the replay page, kept for review
    marker = Marker.objects.get(session=played_session)
    assert marker.note == "look <b>here</b> 00:01"
    assert marker.author_id == user.pk
    # the owner's own page and its chart requests (people, timeline, markers) write no audit entry
    assert not AuditEntry.objects.filter(object_type="session", object_id=str(played_session.pk)).exists()
    assert marker.time == pytest.approx(duration / 2, abs=0.3)
