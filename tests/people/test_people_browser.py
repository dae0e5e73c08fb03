"""Headless Chromium: a name containing markup is text on the people grid, on the person page (also after an
inline rename) and on the replay page, which shows the new name at once; no element is created from a name.
Then two people are merged by picking their faces, confirmed beside each other, and the merge is undone."""

from __future__ import annotations

import pytest

from conftest import chromium_page, log_in
from people.models import Person
from tests.people.conftest import EVIL
from tests.replay.conftest import clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RENAMED = '<b id="bold">Bob & "co"</b>'
media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing


@pytest.fixture
def seen_session(user, media_dir):
    """A done 3 s session of the shared clip; Alice and a person named with markup are seen in it."""
    people = [
        ("Alice", [(f, "happy", 0.8, 0.6) for f in range(15)]),
        (EVIL, [(f, "angry", 0.7, 0.9) for f in range(10)]),
    ]
    with clip_session(user, media_dir / CLIP, title="People in the browser", duration=3.0, people=people) as session:
        session.evil = session.people[1]
        yield session


def test_markup_names_render_as_text(user, password, seen_session, daphne_server):
    evil_id = seen_session.evil.pk
    errors: list[str] = []
    with chromium_page(errors=errors) as page:  # the ORM must not run beside its event loop: checks come after
        page.set_default_timeout(20000)
        log_in(page, daphne_server, user.username, password)
        page.goto(f"{daphne_server}/people/")
        card = page.locator(f"li.person[data-person='{evil_id}']")
        name = card.locator(".person-name")
        assert name.inner_text() == EVIL and name.is_visible()
        assert page.locator("#people-list .person-name").all_inner_texts() == ["Alice", EVIL]
        assert page.locator("img[src='x']").count() == 0

        name.click()  # rename, consent and delete are on the person's page
        page.locator("form.rename-form input[name=name]").fill(RENAMED)
        page.locator("form.rename-form button[type=submit]").click()
        page.locator(".rename-status", has_text="Saved.").wait_for()
        assert page.url.endswith(f"/people/{evil_id}/")  # renamed in place, no reload
        heading = page.locator("h1.person-name")
        assert heading.inner_text() == RENAMED and heading.is_visible()
        faces = page.locator(".track-faces img")  # the track's faces, cropped from the clip
        faces.scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelector('.track-faces img').naturalWidth > 0")
        assert faces.evaluate("i => i.naturalWidth") == 3 * 64
        assert page.locator("#bold").count() == 0 and page.locator("img[src='x']").count() == 0

        page.goto(f"{daphne_server}/sessions/{seen_session.pk}/")
        page.wait_for_selector("#replay[data-ready='1']")
        lanes = page.locator("#replay-lanes g.lane title").all_text_contents()  # the full names (cut beside the lane)
        assert lanes == ["Alice", RENAMED]
        assert page.locator("#replay-person option").all_inner_texts()[:-1] == ["Alice", RENAMED]
        heading = page.locator("section.card.person h3", has_text="Bob")  # the people section below
        assert heading.inner_text() == RENAMED and heading.is_visible()
        assert page.locator("#bold").count() == 0 and page.locator("img[src='x']").count() == 0

        # merge by faces: pick both tiles, see both sides and which name stays, confirm; then undo
        page.goto(f"{daphne_server}/people/")
        for tile in page.locator("#people-list li.person").all():
            tile.locator("input[name=pick]").check()
        page.locator("#merge-picked").click()
        page.wait_for_selector("#merge-form")
        assert page.locator("#merge-keep .person-name").inner_text() == "Alice"
        assert page.locator("#merge-other .person-name").inner_text() == RENAMED
        assert (
            page.locator("#merge-keep .faces > *").count() >= 1 and page.locator("#merge-other .faces > *").count() >= 1
        )
        assert "“Alice” stays" in page.locator("#merge-summary").inner_text()
        page.locator("#merge-form button[type=submit]").click()
        page.wait_for_selector("#merges")
        assert page.locator("h1.person-name").inner_text() == "Alice"
        assert "Merged “" in page.locator("main").inner_text()
        page.locator("#merges form.undo-merge button").click()
        page.wait_for_selector("text=Merge undone")
        assert page.locator("h1.person-name").inner_text() == RENAMED and page.locator("#bold").count() == 0
        assert page.url.endswith(f"/people/{evil_id}/")
    assert not errors, errors
    evil = Person.objects.get(pk=evil_id)
    assert evil.name == RENAMED and evil.observations.count() == 10
    assert Person.objects.filter(owner=user).count() == 2
