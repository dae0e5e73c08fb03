"""The replay page in headless Chromium: charts drawn from the API (one person's by default), face boxes
over the video that follow playback, seeking from the timeline, frame step, speed, zoom by brushing,
mm:ss.s times, a marker added with the "m" key and stored, and person names shown as text."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from conftest import ROOT, chromium_page, log_in
from sessions_app.models import Marker
from tests.replay.conftest import EVIL, clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Saved by every run, for a person to look at (git-ignored).
SCREENSHOT = ROOT / "var" / "test-artifacts" / "replay.png"
media_dir = sessions_conftest.media_dir  # the shared-media fixture: skips with its reason when missing


@pytest.fixture
def played_session(user, media_dir):
    """A done 5 s session whose original and playable video is the shared clip (844 x 844); two people
    seen: Alice happy in the first half and sad in the second, her box moving 20 px right each sampled
    frame; the other only in the first second."""
    people = [
        (
            "Alice",
            [(f, "happy" if f < 12 else "sad", 0.8, 0.6) for f in range(25)],
            lambda f: (200, 300 + 20 * f, 420, 100 + 20 * f),
        ),
        (EVIL, [(f, "angry", 0.7, 0.9) for f in range(5)]),
    ]
    with clip_session(
        user, media_dir / CLIP, title="Replay in the browser", duration=5.0, people=people, size=(844, 844)
    ) as session:
        yield session


def box_x(page) -> list[float]:
    """The left edges (CSS px) of the face boxes drawn over the video now."""
    drawn = page.get_attribute("#replay-overlay", "data-boxes") or ""
    return [float(b.split(",")[0]) for b in drawn.split()]


# Plays the video at ``rate`` for 0.8 s of wall time: the video seconds per wall second, and the
# overlay's first box before and after (it must follow playback, not only seeks).
PLAY = """async (rate) => {
  const v = document.getElementById('replay-video'), o = document.getElementById('replay-overlay');
  const sel = document.getElementById('replay-speed');
  sel.value = String(rate); sel.dispatchEvent(new Event('change'));
  v.muted = true;
  await v.play();
  const t0 = v.currentTime, w0 = performance.now(), b0 = o.dataset.boxes;
  await new Promise((r) => setTimeout(r, 800));
  const t1 = v.currentTime, w1 = performance.now(), b1 = o.dataset.boxes;
  v.pause();
  return { speed: (t1 - t0) / ((w1 - w0) / 1000), rate: v.playbackRate, b0, b1 };
}"""


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
        # names beside the lanes (in the margin, left of the plot), cut to fit; the full name in the title
        assert page.locator("#replay-lanes g.lane title").all_text_contents() == ["Alice", EVIL]
        lane_names = page.locator("#replay-lanes g.lane text.lane-name")
        assert lane_names.nth(0).text_content() == "Alice"
        assert lane_names.nth(1).text_content().startswith("<img src=")
        assert all(float(lane_names.nth(i).get_attribute("x")) < 0 for i in range(2))
        options = page.locator("#replay-person option").all_inner_texts()
        assert options == ["Alice", EVIL, "everyone (average)"]
        assert page.locator("img[src='x']").count() == 0
        # per person by default (Alice: longest on screen), the average only when chosen
        assert page.eval_on_selector("#replay-person", "s => s.selectedOptions[0].text") == "Alice"
        happy_before = float(page.get_attribute("#replay-bars rect.bar-happy", "data-value"))
        assert happy_before == pytest.approx(0.8, abs=0.01)
        page.select_option("#replay-person", label="everyone (average)")
        everyone_happy = float(page.get_attribute("#replay-bars rect.bar-happy", "data-value"))
        assert everyone_happy == pytest.approx((0.8 + 0.05) / 2, abs=0.01)  # Alice and the other, averaged
        lane_names.nth(1).click()  # a lane's name shows that person's charts
        assert page.eval_on_selector("#replay-person", "s => s.selectedOptions[0].text") == EVIL
        page.select_option("#replay-person", label="Alice")
        assert "00:01.0" in page.locator("#replay-timeline .axis.x text").all_text_contents()
        # the one time format (tenths cut, hours past an hour) and the sampled-frame grid, as the page uses them
        formats = page.evaluate("""async () => {
          const { clock } = await import('/static/js/replay/common.js');
          const { stepTime } = await import('/static/js/replay/playback.js');
          return [clock(2.977), clock(0.3), clock(59.96), clock(3725.96), stepTime(2.977, 5, 1), stepTime(3.0, 5, -1)];
        }""")
        assert formats == ["00:02.9", "00:00.3", "00:59.9", "1:02:05.9", 3.0, 2.8]

        page.wait_for_function("() => document.getElementById('replay-video').readyState >= 1")
        duration = page.evaluate("document.getElementById('replay-video').duration")
        assert duration == pytest.approx(5.0, abs=0.3)
        # the face boxes at 0 s: both people, named; Alice's box at x 100 of 844
        assert page.get_attribute("#replay-overlay", "data-names") == f"Alice|{EVIL}"
        shown_w = page.evaluate("document.getElementById('replay-video').clientWidth")
        assert box_x(page)[0] == pytest.approx(100 * shown_w / 844, abs=1.5)
        page.locator("#replay-timeline rect.seek-overlay").click()  # the centre: half of the duration
        half = duration / 2
        page.wait_for_function(f"() => Math.abs(document.getElementById('replay-video').currentTime - {half}) < 0.3")
        sad_after = float(page.get_attribute("#replay-bars rect.bar-sad", "data-value"))
        assert happy_before > 0.5 and sad_after > 0.5  # the bars followed the seek
        cursor_x = float(page.get_attribute("#replay-timeline line.cursor", "x1"))
        assert cursor_x > 100
        assert page.get_attribute("#replay-overlay", "data-names") == "Alice"  # the other left after 1 s
        now = page.evaluate("document.getElementById('replay-video').currentTime")
        frame = int(now * 5 + 1e-6)
        assert box_x(page)[0] == pytest.approx((100 + 20 * frame) * shown_w / 844, abs=1.5)
        tenths = f"00:0{int(now)}.{int(now * 10 + 1e-6) % 10}"  # mm:ss.s, cut to the tenth
        assert page.text_content("#replay-clock") == tenths

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
        assert links.first.inner_text() == tenths
        assert page.locator("#replay-timeline line.marker-line").count() == 1
        links.nth(1).click()  # the 00:01 in the note jumps the video
        page.wait_for_function("() => Math.abs(document.getElementById('replay-video').currentTime - 1) < 0.2")

        # frame step: "." and the buttons move one sampled frame (0.2 s at 5 fps), the boxes with it
        page.click("h1")
        page.keyboard.press(".")
        page.wait_for_function("() => Math.abs(document.getElementById('replay-video').currentTime - 1.2) < 0.01")
        at_frame_6 = box_x(page)[0]
        page.click("#replay-prev-frame")
        page.wait_for_function("() => Math.abs(document.getElementById('replay-video').currentTime - 1.0) < 0.01")
        assert at_frame_6 - box_x(page)[0] == pytest.approx(20 * shown_w / 844, abs=1)
        page.click("#replay-next-frame")
        page.wait_for_function("() => Math.abs(document.getElementById('replay-video').currentTime - 1.2) < 0.01")
        assert page.text_content("#replay-clock") == "00:01.2"
        # speed: at 2x the video runs about twice as fast as the wall clock; boxes follow playback
        played = page.evaluate(PLAY, 2)
        assert played["rate"] == 2
        assert 1.3 < played["speed"] < 2.6, played
        assert played["b0"] != played["b1"]
        page.click("#replay-boxes")  # the toggle hides them
        assert page.get_attribute("#replay-overlay", "data-boxes") == ""
        page.click("#replay-boxes")  # and shows them again
        assert len(box_x(page)) == 1

        # zoom: brushing 40%..60% of the strip narrows every chart's axis; a double-click shows it all
        page.locator("#replay-timeline svg.zoom-strip").scroll_into_view_if_needed()
        strip = page.locator("#replay-timeline svg.zoom-strip").bounding_box()
        y = strip["y"] + strip["height"] / 2
        page.mouse.move(strip["x"] + strip["width"] * 0.4, y)
        page.mouse.down()
        page.mouse.move(strip["x"] + strip["width"] * 0.6, y, steps=5)
        page.mouse.up()
        view = [float(v) for v in page.get_attribute("#replay-timeline svg[data-view]", "data-view").split("-")]
        width = float(page.get_attribute("#replay-timeline svg.zoom-strip", "viewBox").split()[2])
        plot = lambda f: (f * width - 120) / (width - 144) * duration  # noqa: E731  (strip fraction -> seconds)
        assert view == pytest.approx([plot(0.4), plot(0.6)], abs=0.1)
        assert page.get_attribute("#replay-lanes svg", "data-view") == page.get_attribute(
            "#replay-timeline svg[data-view]", "data-view"
        )
        page.dblclick("#replay-attention svg")
        assert float(page.get_attribute("#replay-timeline svg[data-view]", "data-view").split("-")[0]) == 0
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # at 390 px the replay (video, controls, charts) fits the width and the boxes follow the smaller video
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_function(
            "() => { const v = document.getElementById('replay-video'), o = document.getElementById('replay-overlay');"
            " return Math.abs(o.getBoundingClientRect().width - v.clientWidth) < 1 && v.clientWidth < 390; }"
        )
        fits = page.evaluate(
            "(() => { const r = document.getElementById('replay'); return r.scrollWidth <= r.clientWidth; })()"
        )
        assert fits
        narrow_w = page.evaluate("document.getElementById('replay-video').clientWidth")
        now = page.evaluate("document.getElementById('replay-video').currentTime")
        page.wait_for_function(
            f"() => Math.abs((document.getElementById('replay-overlay').dataset.boxes || 'x').split(',')[0]"
            f" - {(100 + 20 * int(now * 5 + 1e-6)) * narrow_w / 844}) < 1.5"
        )
        page.screenshot(path=str(SCREENSHOT.with_name("replay-390.png")), full_page=True)

    assert not errors, errors
    assert SCREENSHOT.stat().st_size > 10_000  # the replay page, kept for review
    marker = Marker.objects.get(session=played_session)
    assert marker.note == "look <b>here</b> 00:01"
    assert marker.author_id == user.pk
    # the owner's own page and its chart requests (people, timeline, markers) write no audit entry
    assert not AuditEntry.objects.filter(object_type="session", object_id=str(played_session.pk)).exists()
    assert marker.time == pytest.approx(duration / 2, abs=0.3)
