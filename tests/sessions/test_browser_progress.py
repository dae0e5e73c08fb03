"""A running session's page in headless Chromium follows its progress socket (session_progress.js): after
an unexpected close it reconnects and reads the stored state; after a close for a revoked log-in (4401)
it stays closed. The socket goes through Playwright's websocket route, so the test can close it."""

from __future__ import annotations

import json
import re
import threading

import pytest
from django.conf import settings
from django.db import connection

from conftest import chromium_page
from sessions_app.models import Session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAR = "() => document.getElementById('analysis-progress').value"


def in_thread(work) -> None:
    """Run ORM ``work`` beside Playwright's event loop (the ORM refuses to run in its thread)."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def test_progress_page_reconnects_after_a_drop_but_not_after_sign_out(client, user, daphne_server):
    session = Session.objects.create(owner=user, title="Running", status=Session.Status.ANALYSING, progress=0.25)
    client.force_login(user)  # quicker than the log-in form
    login = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    routes: list = []
    errors: list[str] = []
    with chromium_page(errors=errors) as page:  # the ORM must not run beside its event loop: checks come after

        def through(ws) -> None:
            ws.connect_to_server()
            routes.append(ws)

        page.route_web_socket(re.compile(r"/ws/sessions/\d+/$"), through)
        page.context.add_cookies([{**login, "url": daphne_server}])
        page.goto(f"{daphne_server}/sessions/{session.pk}/")
        page.wait_for_function("() => document.getElementById('session-status').textContent === 'analysing'")
        # another message type on the same socket (a summary's state) leaves the progress alone
        routes[0].send(json.dumps({"type": "summary.state", "session_id": session.pk, "summary": {"id": 1}}))
        page.wait_for_timeout(200)
        after_summary = (page.evaluate(BAR), page.inner_text("#session-status"))

        in_thread(lambda: Session.objects.filter(pk=session.pk).update(progress=0.75))  # stored, not pushed
        routes[0].close(code=1011, reason="server error")  # unexpected: the page reconnects (after 1 s)
        page.wait_for_function(f"() => ({BAR})() === 0.75", timeout=5000)
        reconnected = len(routes)

        routes[-1].close(code=4401, reason="signed out")  # deliberate: no reconnection
        page.wait_for_timeout(1500)  # a reconnection would come after 1 s
        after_sign_out = len(routes)

    assert not errors, errors
    assert after_summary == (0.25, "analysing")
    assert reconnected == 2  # one new socket, which read the stored progress on connect
    assert after_sign_out == 2
