"""An invitation in headless Chromium, against the real server: the owner makes a viewer link on the
project page and copies it; a second browser (no account) opens it, signs up, lands in the project, replays
its session (video and charts), sees no Delete, Rename or marker controls, and a forged delete (with a
valid CSRF token) is refused 403: the session stays."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from conftest import chromium_page, log_in
from projects import services
from projects.models import Invitation, Membership
from sessions_app.models import Session
from tests.replay.conftest import clip_session
from tests.sessions import conftest as sessions_conftest
from tests.sessions.conftest import CLIP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
media_dir = sessions_conftest.media_dir  # the shared-media fixture: skips with its reason when missing
PASSWORD = "a-long-enough-password-1"

FORGED_DELETE = """async (url) => {
  const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")).split("=")[1];
  const r = await fetch(url, { method: "POST", headers: { "X-CSRFToken": token }, redirect: "manual" });
  return r.status;
}"""

VIDEO_DURATION = """() => new Promise((ok) => {
  const v = document.getElementById("replay-video");
  if (v.readyState >= 1) ok(v.duration);
  else v.addEventListener("loadedmetadata", () => ok(v.duration));
})"""


@pytest.fixture
def shared_session(media_dir):
    """An owner's project "Field study" holding one done 2 s session of the shared clip, one person seen."""
    owner = get_user_model().objects.create_user(username="inv-owner", password=PASSWORD)
    project = services.create_project(owner, "Field study")
    people = [("Alice", [(f, "happy", 0.8, 0.6) for f in range(10)])]
    with clip_session(owner, media_dir / CLIP, title="Shared replay", duration=2.0, people=people) as session:
        Session.objects.filter(pk=session.pk).update(project=project)
        for person in session.people:
            type(person).objects.filter(pk=person.pk).update(project=project)
        yield owner, project, session


def test_owner_invites_a_viewer_who_replays_and_cannot_delete(shared_session, daphne_server):
    owner, project, session = shared_session
    errors: list[str] = []
    result: dict = {}
    with chromium_page(errors=errors) as page:  # the ORM must not run beside its event loop: checks come after
        log_in(page, daphne_server, owner.username, PASSWORD)
        page.goto(f"{daphne_server}/projects/{project.pk}/")
        page.select_option("#invite-form select[name=role]", "viewer")
        page.click("#invite-form button[type=submit]")
        link = page.input_value("#invite-link")
        assert link.startswith(f"{daphne_server}/invite/")
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=daphne_server)
        page.click("#invite-copy")
        page.wait_for_function("() => document.querySelector('[data-copied-for=invite-link]').textContent !== ''")
        result["copied"] = page.evaluate("() => navigator.clipboard.readText()")
        assert page.locator("#invitation-list tbody tr").count() == 1

        guest = page.context.browser.new_context().new_page()  # another person, in another browser
        guest.set_default_timeout(15000)
        guest.on("pageerror", lambda exc: errors.append(str(exc)))
        guest.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
        guest.goto(link)
        assert "as viewer" in guest.text_content("#invitation-offer")
        guest.fill("#id_username", "inv-guest")
        guest.fill("#id_password1", PASSWORD)
        guest.fill("#id_password2", PASSWORD)
        guest.click("#invitation-signup button[type=submit]")
        guest.wait_for_url(f"{daphne_server}/projects/{project.pk}/")
        assert "Your role: viewer" in guest.text_content("main")

        guest.goto(f"{daphne_server}/sessions/{session.pk}/")
        guest.wait_for_selector("#replay[data-ready='1']")
        result["lines"] = guest.locator("#replay-timeline path.emotion-line").count()
        result["video"] = guest.evaluate(VIDEO_DURATION)
        result["controls"] = {
            "delete": guest.get_by_role("button", name="Delete session").count(),
            "rename": guest.get_by_role("button", name="Rename").count(),
            "marker": guest.locator("#marker-form").count(),
            "summarize": guest.locator(".summary-form").count(),
        }
        result["forged"] = guest.evaluate(FORGED_DELETE, f"/sessions/{session.pk}/delete/")
        # the link is spent: opening it again says so
        used = guest.context.browser.new_context().new_page()
        result["again"] = used.goto(link).status
    assert errors == []
    assert result["copied"] == link
    assert result["lines"] == 7 and result["video"] > 1.5
    assert result["controls"] == {"delete": 0, "rename": 0, "marker": 0, "summarize": 0}
    assert result["forged"] == 403
    assert Session.objects.filter(pk=session.pk).exists()
    guest_user = get_user_model().objects.get(username="inv-guest")
    assert Membership.objects.get(project=project, user=guest_user).role == "viewer"
    assert Invitation.objects.get(project=project).used_by == guest_user
    assert result["again"] == 410
