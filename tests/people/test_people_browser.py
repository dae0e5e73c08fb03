"""Headless Chromium: a name containing markup is text on the people page (also after an inline rename)
and on the replay page, which shows the new name at once; no element is created from a name."""

from __future__ import annotations

import pytest

from conftest import chromium_page, log_in
from sessions_app.models import Person
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
        card = page.locator(f"section.person[data-person='{evil_id}']")
        name = card.locator(".person-name")
        assert name.inner_text() == EVIL and name.is_visible()
        assert page.locator("#people-list .person-name").all_inner_texts() == ["Alice", EVIL]
        assert page.locator("img[src='x']").count() == 0

        card.locator("input[name=name]").fill(RENAMED)
        card.locator("button[type=submit]", has_text="Rename").click()
        card.locator(".rename-status", has_text="Saved.").wait_for()
        assert page.url.endswith("/people/")  # renamed in place, no reload
        assert name.inner_text() == RENAMED and name.is_visible()
        assert page.locator("#bold").count() == 0 and page.locator("img[src='x']").count() == 0

        page.goto(f"{daphne_server}/sessions/{seen_session.pk}/")
        page.wait_for_selector("#replay[data-ready='1']")
        lanes = page.locator("#replay-lanes g.lane title").all_text_contents()  # the full names (cut beside the lane)
        assert lanes == ["Alice", RENAMED]
        assert page.locator("#replay-person option").all_inner_texts()[:-1] == ["Alice", RENAMED]
        heading = page.locator("section.card.person h3", has_text="Bob")  # the people section below
        assert heading.inner_text() == RENAMED and heading.is_visible()
        assert page.locator("#bold").count() == 0 and page.locator("img[src='x']").count() == 0
    assert not errors, errors
    assert Person.objects.get(pk=evil_id).name == RENAMED
