"""Issue 22's review flows walked in headless Chromium as a user goes through them, on the real stack (Daphne,
a Celery worker analysing with the real models, PostgreSQL, Redis): sign up, upload the shared Hamilton clip
through the page and wait for the analysis; on the replay the face boxes follow the singer while the video
plays, the charts show one person by default and times read mm:ss.s; on the people pages checkboxes sit beside
their labels, a merge is confirmed and then undone from the audit log; at 390 px no page scrolls sideways.
The upload and its analysis are made once for the module (the tests run in file order: the last one merges
for good); the account and its files are deleted at the end."""

from __future__ import annotations

import io
import re
import time
import uuid
from dataclasses import dataclass

import av
import pytest

from conftest import PASSWORD, chromium_page, log_in
from tests.sessions import conftest as sessions_conftest
from tests.test_browser import CHECKBOX_BESIDE_TEXT, PHONE

# Not transactional: that empties every table after each test, and these share one analysed upload. Its rows
# are written by Daphne and the worker (committed, outside the tests' rolled-back transaction); the module
# fixture deletes them. The mark also makes pytest-django create the test database.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

HAMILTON = "short_hamilton_clip.mp4"  # one singer across camera cuts, another face near the end
DESKTOP = {"width": 1366, "height": 900}
CLOCK = re.compile(r"^\d\d:\d\d\.\d$")  # mm:ss.s
media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing


@dataclass
class Walk:
    base: str
    username: str
    session_url: str


@pytest.fixture(scope="module")
def walk(media_dir, celery_worker_proc, daphne_server, django_db_blocker):
    """A new account signed up through the page, with the Hamilton clip uploaded through the page and
    analysed; deleted (rows and files) when the module is done."""
    from django.contrib.auth import get_user_model

    from emotionsite import ratelimit
    from people import privacy

    ratelimit.reset()  # sign-ups are counted per address, and every test signs up from 127.0.0.1
    username = f"walker-{uuid.uuid4().hex[:6]}"
    try:
        with chromium_page() as page:
            page.goto(f"{daphne_server}/accounts/signup/")
            page.fill("#id_username", username)
            page.fill("#id_password1", PASSWORD)
            page.fill("#id_password2", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_selector("text=No sessions yet")
            page.click("text=New session")
            page.fill("input[name=title]", "Hamilton")
            page.set_input_files("input[name=file]", str(media_dir / HAMILTON))
            page.click("#upload-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=180_000)  # the page follows the analysis
            wait_for_replay(page)
            session_url = page.url
        yield Walk(daphne_server, username, session_url)
    finally:
        with django_db_blocker.unblock():  # after the browser: the ORM refuses to run beside its event loop
            for user in get_user_model().objects.filter(username=username):
                privacy.delete_account(user, PASSWORD)


def wait_for_replay(page, timeout: float = 120) -> None:
    """Reload the session page until its replay is ready: the clip gets a playable copy (its picture starts
    late), made by the one test worker after the analysis, and the page has no replay until then."""
    deadline = time.monotonic() + timeout
    while page.locator("#replay").count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        page.reload()
    page.wait_for_selector("#replay[data-ready='1']")


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways at {widths[1]} px: {widths}"


def checkboxes_beside_labels(page) -> int:
    """Each visible checkbox or radio inside a label has its label's text on the same line, just after it."""
    seen = 0
    for box in page.locator("main label > input[type=checkbox], main label > input[type=radio]").all():
        if box.is_visible():
            where = box.evaluate(CHECKBOX_BESIDE_TEXT)
            assert where["overlap"] > 0 and 0 <= where["gap"] < 20, f"{page.url}: not beside its label {where}"
            seen += 1
    return seen


# Plays the video muted from ``start`` for ``ms`` of wall time, reading the video's time and the boxes the
# overlay drew every 40 ms; also the stored boxes (the timeline API) and where the picture sits in the element.
PLAY_AND_SAMPLE = """async ([start, ms]) => {
  const v = document.getElementById('replay-video'), o = document.getElementById('replay-overlay');
  const root = document.getElementById('replay');
  const api = await (await fetch(`/api/sessions/${root.dataset.session}/timeline/?max_points=1000&boxes=1`)).json();
  v.muted = true;
  v.currentTime = start;
  await new Promise((r) => v.addEventListener('seeked', r, { once: true }));
  await v.play();
  const samples = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    samples.push([v.currentTime, o.dataset.boxes || '']);
    await new Promise((r) => setTimeout(r, 40));
  }
  v.pause();
  const w = v.clientWidth, h = v.clientHeight, k = Math.min(w / v.videoWidth, h / v.videoHeight);
  const [fw, fh] = [api.boxes.frame[0] || v.videoWidth, api.boxes.frame[1] || v.videoHeight];
  return { samples, rows: api.boxes.rows, step: api.boxes.step, fps: Number(root.dataset.fps),
           summary: api.summary, people: api.people.map((p) => p.name),
           geo: { ox: (w - v.videoWidth * k) / 2, oy: (h - v.videoHeight * k) / 2,
                  sx: (v.videoWidth * k) / fw, sy: (v.videoHeight * k) / fh } };
}"""


def expected_boxes(played: dict) -> tuple[list[float], dict[float, str]]:
    """The sampled frames' times and, for each, the boxes the overlay should draw ("x,y,w,h" in CSS px)."""
    g = played["geo"]
    frames: dict[float, list[str]] = {}
    for t, _person, top, right, bottom, left in played["rows"]:
        x, y = g["ox"] + left * g["sx"], g["oy"] + top * g["sy"]
        frames.setdefault(t, []).append(
            ",".join(f"{v:.1f}" for v in (x, y, (right - left) * g["sx"], (bottom - top) * g["sy"]))
        )
    return sorted(frames), {t: " ".join(b) for t, b in frames.items()}


def drawn_at(times: list[float], boxes: dict[float, str], t: float, hold: float) -> str:
    """What the overlay draws at video time ``t``: the last sampled frame at or before it, for one interval."""
    before = [f for f in times if f <= t + 1e-3]
    return boxes[before[-1]] if before and t - before[-1] < hold else ""


def test_replay_of_the_upload(walk):
    errors: list[str] = []
    with chromium_page(errors=errors) as page:
        page.set_viewport_size(DESKTOP)
        log_in(page, walk.base, walk.username, PASSWORD)
        page.goto(walk.session_url)
        page.wait_for_selector("#replay[data-ready='1']")
        page.wait_for_function("() => document.getElementById('replay-video').readyState >= 2")
        duration = page.locator("main p.muted").first.inner_text().split(" · ")[2]
        assert duration == "00:09.1", duration  # 9.18 s, cut to the tenth

        # the file the page plays starts its picture at its zero, where the analysis counts from (the clip
        # itself starts its sound 0.85 s earlier: played as is, every box would be that far ahead of the face)
        played_file = page.request.get(walk.base + page.get_attribute("#replay-video", "src")).body()
        with av.open(io.BytesIO(played_file)) as container:
            picture = container.streams.video[0]
            assert float((picture.start_time or 0) * picture.time_base) < 0.05

        # the charts open on one person, the one longest on screen, not on everyone's average
        chosen = page.eval_on_selector("#replay-person", "s => s.selectedOptions[0].text")
        played = page.evaluate(PLAY_AND_SAMPLE, [0, 3000])
        longest = max(played["summary"], key=lambda p: p["frames"])
        assert chosen == longest["name"] and chosen != "everyone (average)"
        assert len(played["people"]) >= 2  # the singer and the face near the end (issue 22: never one)

        # the face boxes follow playback: what is drawn is the stored boxes of the frame at the video's time
        # (give or take one sampled frame: the page draws on animation frames, the test reads between them)
        hold = played["step"] / played["fps"]
        times, boxes = expected_boxes(played)
        samples = played["samples"]
        assert samples[-1][0] - samples[0][0] > 2.0, samples[-1]  # the video played
        for t, drawn in samples:
            near = {drawn_at(times, boxes, t + d, hold + 1e-3) for d in (-hold, 0, hold)}
            assert drawn in near, (t, drawn, near)
        moved = {drawn for _, drawn in samples if drawn}
        assert len(moved) >= 5, moved  # the boxes moved with the face, not drawn once

        # times as mm:ss.s: the clock beside the video, the time axis, the seek links
        now = page.evaluate("document.getElementById('replay-video').currentTime")
        tenths = int(now * 10 + 1e-6)
        assert page.text_content("#replay-clock") == f"00:{tenths // 10:02d}.{tenths % 10}"
        ticks = page.locator("#replay-timeline .axis.x text").all_text_contents()
        assert ticks and all(CLOCK.match(t) for t in ticks), ticks

        page.set_viewport_size(PHONE)
        page.wait_for_function(
            "() => { const v = document.getElementById('replay-video'), o = document.getElementById('replay-overlay');"
            " return v.clientWidth < 390 && Math.abs(o.getBoundingClientRect().width - v.clientWidth) < 1; }"
        )
        no_sideways_scroll(page)
        checkboxes_beside_labels(page)
    assert not errors, errors


def test_people_merge_and_undo(walk):
    errors: list[str] = []
    with chromium_page(errors=errors) as page:
        page.set_viewport_size(DESKTOP)
        log_in(page, walk.base, walk.username, PASSWORD)
        page.goto(f"{walk.base}/people/")
        tiles = page.locator("#people-list li.person")
        before = sorted(tiles.locator(".person-name").all_inner_texts())
        assert len(before) >= 2, before
        assert checkboxes_beside_labels(page) == len(before)  # "Pick to merge" on each tile
        page.goto(f"{walk.base}/people/{tiles.nth(0).get_attribute('data-person')}/")
        assert checkboxes_beside_labels(page) >= 3  # consent, and the two choices of the delete form

        # merge two through the page: pick both, see them side by side, confirm
        page.goto(f"{walk.base}/people/")
        keep, other = (tiles.nth(i).get_attribute("data-person") for i in range(2))
        for pk in (keep, other):
            page.locator(f"li.person[data-person='{pk}'] input[name=pick]").check()
        page.locator("#merge-picked").click()
        page.wait_for_selector("#merge-form")
        confirm_url = page.url
        kept = page.locator("#merge-keep .person-name").inner_text()
        gone = page.locator("#merge-other .person-name").inner_text()
        assert {kept, gone} <= set(before) and kept != gone
        assert f"“{kept}” stays" in page.locator("#merge-summary").inner_text()
        assert page.locator("#merge-keep .faces img").count() >= 1
        assert page.locator("#merge-other .faces img").count() >= 1
        page.locator("#merge-form button[type=submit]").click()
        page.wait_for_selector("#merges")
        assert page.locator("h1.person-name").inner_text() == kept
        page.goto(f"{walk.base}/people/")
        assert sorted(tiles.locator(".person-name").all_inner_texts()) == sorted(set(before) - {gone})

        # undo from the audit log: its link leads to the kept person's merges, where Undo splits them again
        page.goto(f"{walk.base}/privacy/audit/")
        page.locator("#audit-log a.undo-link").first.click()
        page.wait_for_selector("#merges")
        page.locator("#merges form.undo-merge button").click()
        page.wait_for_selector("text=Merge undone")
        assert page.locator("h1.person-name").inner_text() == gone
        page.goto(f"{walk.base}/people/")
        assert sorted(tiles.locator(".person-name").all_inner_texts()) == before
        assert page.locator("#audit-log a.undo-link").count() == 0

        # at 390 px: no page of the walk scrolls sideways, and checkboxes stay beside their labels
        page.set_viewport_size(PHONE)
        pages = ["/", "/sessions/new/", "/people/", f"/people/{keep}/", "/privacy/audit/"]
        for url in [*(walk.base + p for p in pages), confirm_url, walk.session_url]:
            page.goto(url)
            no_sideways_scroll(page)
            checkboxes_beside_labels(page)
    assert not errors, errors


SINGER_UNTIL = 7.1  # the Hamilton clip: the singer until 7.0 s, then one shot of the audience (7.2-8.2 s)


def people_by_time(username: str) -> dict[int, set[bool]]:
    """Each of the user's people: whether they are seen before the audience shot, after it, or both."""
    from sessions_app.models import Observation

    seen: dict[int, set[bool]] = {}
    rows = Observation.objects.filter(session__owner__username=username, person__isnull=False)
    for person_id, t in rows.values_list("person_id", "time"):
        seen.setdefault(person_id, set()).add(t < SINGER_UNTIL)
    return seen


def test_singer_suggestion_confirmed_in_the_page(walk, django_db_blocker):
    """The singer's pieces across the clip's cuts are offered as one person: the page's suggestion is
    confirmed there; the face near the end stays someone else (never one person with the singer).
    Known gap (docs/benchmarks.md, identity within a session): the singer's first close-up is too far from
    his other shots for the fitted limit, so the clip ends as three people (the singer twice), not two."""
    with chromium_page() as page:
        asked: list[str] = []
        page.on("dialog", lambda d: (asked.append(d.message), d.accept()))  # "Confirm (merge)" asks first
        log_in(page, walk.base, walk.username, PASSWORD)
        page.goto(f"{walk.base}/people/")
        tiles = page.locator("#people-list li.person")
        suggestions = page.locator("section.suggestion")
        before = tiles.count()
        assert suggestions.count() >= 1, "the singer's shots were offered as one person by no suggestion"
        confirmed = 0
        while suggestions.count():
            with page.expect_navigation():
                suggestions.first.locator("button[value=confirm]").click()
            confirmed += 1
        assert tiles.count() == before - confirmed >= 2, tiles.locator(".person-name").all_inner_texts()
        assert len(asked) == confirmed and all(q.startswith("Merge ") for q in asked), asked  # one question each
    with django_db_blocker.unblock():
        seen = people_by_time(walk.username)
    assert all(len(sides) == 1 for sides in seen.values()), "the singer and the other face became one person"
    assert sum(sides == {True} for sides in seen.values()) == before - confirmed - 1  # the singer's people
