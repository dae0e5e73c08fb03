"""The replay page shades the buckets whose faces are below the quality bar and leaves them out of
the lines and bars until "count faces below the quality bar" is ticked; that box (and the cards' link)
is the page's one switch: cards and summaries panel follow it in place, as a reload would show them."""

from __future__ import annotations

import pytest

from conftest import chromium_page, log_in
from sessions_app.models import Observation
from tests.replay.conftest import clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
media_dir = sessions_conftest.media_dir


def test_low_quality_shaded_and_toggle(user, password, media_dir, daphne_server):
    people = [("Alice", [(f, "happy" if f < 12 else "sad", 0.8, 0.6) for f in range(25)])]
    with clip_session(user, media_dir / CLIP, title="Shaded", duration=5.0, people=people) as session:
        Observation.objects.filter(session=session, frame_index__lt=12).update(quality=0.9, uncertainty=0.2)
        Observation.objects.filter(session=session, frame_index__gte=12).update(quality=0.05, uncertainty=0.5)
        with chromium_page() as page:
            log_in(page, daphne_server, user.username, password)
            page.goto(f"{daphne_server}/sessions/{session.pk}/")
            page.wait_for_selector("#replay[data-ready='1']")
            assert page.locator("#replay-timeline rect.low-quality").count() == 13  # frames 12..24
            assert page.locator("#replay-attention rect.low-quality").count() == 13
            assert "judged reliable" in page.locator("section.person").inner_text()
            page.evaluate("document.getElementById('replay-video').currentTime = 4.0")
            page.wait_for_function("() => document.querySelector('#replay-bars .bars-status').textContent !== ''")
            assert page.locator("#replay-bars .bars-status").text_content() == "only faces below the quality bar"
            cards = page.inner_text("#session-people")
            assert "mostly happy" in cards and "Include them" in cards
            page.evaluate("window.notReloaded = true")
            page.check("#replay-all")
            page.wait_for_function(
                "() => Number(document.querySelector('#replay-bars rect.bar-sad').dataset.value) > 0.5"
            )
            assert page.locator("#replay-timeline rect.low-quality").count() == 13  # still shaded
            # the one switch: the cards, the summaries panel and the downloads follow it without a reload
            page.wait_for_selector("#replay[data-counted='all']")
            counted = page.inner_text("#session-people")
            assert page.evaluate("window.notReloaded") is True
            assert "mostly sad" in counted and "Count reliable faces only" in counted, counted
            assert "counts all faces" in page.inner_text("#summary-counts")
            people_csv = page.request.get(f"{daphne_server}/sessions/{session.pk}/export/people.csv").text()
            assert "all faces" in people_csv
            page.reload()
            page.wait_for_selector("#replay[data-ready='1']")
            assert page.inner_text("#session-people") == counted and page.is_checked("#replay-all")
            # the cards' link works the same switch, in place
            page.evaluate("window.notReloaded = true")
            page.click("#session-people .quality-toggle a")
            page.wait_for_selector("#replay[data-counted='reliable']")
            assert page.evaluate("window.notReloaded") is True and not page.is_checked("#replay-all")
            assert page.inner_text("#session-people") == cards
            assert "counts reliable faces only" in page.inner_text("#summary-counts")


LOW_FEED = """async ({ emotions }) => {
  const { liveCharts } = await import("/static/js/replay/stream.js");
  const charts = liveCharts(document.getElementById("live"), { emotions, fps: 5 });
  const probs = (k) => emotions.map((_, i) => (i === k ? 0.7 : 0.05));
  for (let i = 0; i < 10; i++) {
    const low = i >= 5;  // the server flags faces below the quality bar
    charts.add({ time: i / 5, faces: [{ track: 1, person: null, person_id: null, probabilities: probs(low ? 4 : 3),
                                         attention: 1.0, low }] });
  }
  charts.draw();
  const pts = charts.buckets.points("everyone");
  return {
    shaded: document.querySelectorAll("#live-timeline rect.low-quality").length,
    counted: pts.reduce((s, p) => s + p.n, 0),
    faces: pts.reduce((s, p) => s + p.faces, 0),
    empty: pts.filter((p) => p.probabilities === null).length,
  };
}"""


def test_live_charts_shade_low_quality(logged_in_page, daphne_server):
    page = logged_in_page
    page.goto(f"{daphne_server}/sessions/new/")
    from inference.classes import EMOTIONS

    r = page.evaluate(LOW_FEED, {"emotions": list(EMOTIONS)})
    assert r == {"shaded": 5, "counted": 5, "faces": 10, "empty": 5}
