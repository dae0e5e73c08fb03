"""Headless Chromium: a name containing markup is text on the people page (also after an inline rename)
and on the replay page, which shows the new name at once; no element is created from a name."""

from __future__ import annotations

import pytest
from django.core.files import File

from conftest import CHROMIUM, CHROMIUM_ARGS
from sessions_app.models import Person, Session
from tests.people.conftest import EVIL
from tests.replay.conftest import add_observations
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RENAMED = '<b id="bold">Bob & "co"</b>'
media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing


@pytest.fixture
def seen_session(user, media_dir):
    """A done 3 s session of the shared clip; Alice and a person named with markup are seen in it."""
    session = Session.objects.create(
        owner=user, title="People in the browser", status="done", progress=1.0, duration=3.0, sample_fps=5.0
    )
    with open(media_dir / CLIP, "rb") as fh:
        session.original.save(CLIP, File(fh), save=False)
        fh.seek(0)
        session.playable.save(CLIP, File(fh), save=True)
    alice = Person.objects.create(owner=user, number=1, name="Alice")
    evil = Person.objects.create(owner=user, number=2, name=EVIL)
    add_observations(session, alice, [(f, "happy", 0.8, 0.6) for f in range(15)], 0, "0:1")
    add_observations(session, evil, [(f, "angry", 0.7, 0.9) for f in range(10)], 1, "0:2")
    session.evil = evil
    yield session
    for field in (session.original, session.playable):
        field.storage.delete(field.name)


def test_markup_names_render_as_text(user, password, seen_session, daphne_server):
    if not CHROMIUM.exists():
        pytest.skip("system Chromium not found at /usr/bin/chromium (install Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    evil_id = seen_session.evil.pk
    errors: list[str] = []
    with sync_playwright() as pw:  # the ORM must not run beside its event loop: checks come after
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(20000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
            page.goto(f"{daphne_server}/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", password)
            page.click("main button[type=submit]")
            page.wait_for_selector("#session-list")

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
            lanes = page.locator("#replay-lanes g.lane text.lane-name").all_text_contents()
            assert lanes == ["Alice", RENAMED]
            assert page.locator("#replay-person option").all_inner_texts()[1:] == ["Alice", RENAMED]
            heading = page.locator("section.card.person h3", has_text="Bob")  # the people section below
            assert heading.inner_text() == RENAMED and heading.is_visible()
            assert page.locator("#bold").count() == 0 and page.locator("img[src='x']").count() == 0
        finally:
            browser.close()
    assert not errors, errors
    assert Person.objects.get(pk=evil_id).name == RENAMED
