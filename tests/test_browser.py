"""Sign up, log out, log in and see the empty session list, in headless Chromium against Daphne."""

from __future__ import annotations

import pytest

from conftest import log_in

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
    page.wait_for_selector("#ws-status[data-state=ok]")
