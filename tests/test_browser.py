"""Sign up, log out, log in and see the empty session list, in headless Chromium against Daphne."""

from __future__ import annotations

import pytest

from conftest import ROOT, chromium_page, log_in
from summaries.models import Summary
from tests.replay.conftest import clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signup_login_and_empty_session_list(browser_page, daphne_server):
    page = browser_page
    page.goto(f"{daphne_server}/accounts/signup/")
    page.fill("#id_username", "browser-user")
    page.fill("#id_password1", "Browser-pass-2024")
    page.fill("#id_password2", "Browser-pass-2024")
    page.click("button[type=submit]")
    page.wait_for_selector("text=No sessions yet")

    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")
    log_in(page, daphne_server, "browser-user", "Browser-pass-2024")
    assert "No sessions yet" in page.inner_text("#session-list")
    assert "browser-user" in page.inner_text("header")
    # The page's websocket reaches Daphne, passes the origin and auth checks, and echoes via Redis.
    page.wait_for_selector("#ws-status[data-state=ok]", state="attached")
    assert page.locator("#ws-status").is_hidden()  # a working connection needs no words


# The main pages a researcher opens, each checked at phone width (issue 22's design system).
PHONE = {"width": 390, "height": 844}
ARTIFACTS = ROOT / "var" / "test-artifacts"  # git-ignored screenshots
PAGES = ["/", "/sessions/new/", "/sessions/{session}/", "/people/", "/people/{person}/", "/privacy/", "/settings/llm/"]
media_dir = sessions_conftest.media_dir  # skips with its reason when the shared media is missing

# Where a checkbox stands relative to the first line of its label's own text.
CHECKBOX_BESIDE_TEXT = """(input) => {
  const label = input.closest('label');
  const text = [...label.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
  const range = document.createRange();
  range.selectNodeContents(text);
  const line = range.getClientRects()[0], box = input.getBoundingClientRect();
  return {overlap: Math.min(line.bottom, box.bottom) - Math.max(line.top, box.top), gap: line.left - box.right};
}"""


@pytest.fixture
def phone_session(user, media_dir):
    """A done session of the shared clip with one person and a finished summary (its Cancel must not show)."""
    with clip_session(user, media_dir / CLIP, title="A session on a phone", duration=3.0,
                      people=[("Alice", [(f, "happy", 0.8, 0.6) for f in range(15)])]) as session:  # fmt: skip
        Summary.objects.create(session=session, backend="heuristic", status="done", progress=1.0, text="Done.")
        yield session


def test_phone_layout_controls_and_favicon(user, password, phone_session, daphne_server):
    errors: list[str] = []
    with chromium_page(errors=errors) as page:  # the ORM must not run beside its event loop
        page.set_viewport_size(PHONE)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log_in(page, daphne_server, user.username, password)
        ids = {"session": phone_session.pk, "person": phone_session.people[0].pk}
        beside = 0
        for path in PAGES:
            page.goto(daphne_server + path.format(**ids))
            name = path.strip("/").replace("/", "-").replace("{", "").replace("}", "") or "home"
            page.screenshot(path=ARTIFACTS / f"phone-{name}.png", full_page=True)  # for a person to look at
            widths = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], f"{path} scrolls sideways at 390 px: {widths}"
            assert page.evaluate("() => document.querySelector('header nav').getBoundingClientRect().right") <= 390
            for box in page.locator("main label > input[type=checkbox], main label > input[type=radio]").all():
                if box.is_visible():
                    where = box.evaluate(CHECKBOX_BESIDE_TEXT)
                    assert where["overlap"] > 0 and 0 <= where["gap"] < 20, (
                        f"{path}: checkbox not beside its label {where}"
                    )
                    beside += 1
            if path == "/sessions/{session}/":
                # finished: the Cancel form carries `hidden`, which no display rule may override
                cancel = page.locator("#summary-list .summary-cancel-form")
                assert cancel.count() == 1 and cancel.get_attribute("hidden") is not None
                assert cancel.evaluate("(el) => getComputedStyle(el).display") == "none"
        assert beside >= 5  # summaries, person (consent, track, delete choices), privacy

        page.goto(f"{daphne_server}/sessions/new/")  # "Add marker" waits for a recording: it must look it
        add = page.locator("#marker-form button[type=submit]")
        assert add.is_disabled()
        assert float(add.evaluate("(el) => getComputedStyle(el).opacity")) < 0.6

        icon = page.request.get(f"{daphne_server}/favicon.ico")
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg")
        assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")
    assert errors == []
