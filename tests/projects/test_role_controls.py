"""Pages show only the controls the user's role allows (the server refuses the rest with 403: the route
audit's role rows). In the hardening world's shared project: the owner sees every control, the analyst all
but the deletions, the viewer none (replay, people and summaries stay readable)."""

from __future__ import annotations

import pytest

from tests.hardening import conftest as hardening

pytestmark = pytest.mark.django_db
world = hardening.world  # the route audit's world of a shared project, reused

SESSION_CONTROLS = {
    "rename": b'id="session-rename"',
    "delete": b'id="session-delete"',
    "marker form": b'id="marker-form"',
    "summarize": b'class="summary-form"',
    "cancel a summary": b'class="summary-cancel-form"',
}
PERSON_CONTROLS = {
    "rename": b'class="rename-form"',
    "consent": b'id="consent-form"',
    "split": b'id="split-form"',
    "undo a merge": b'class="inline undo-merge"',
    "answer a suggestion": b'class="suggestion-form"',
    "merge with": b'id="merge-with"',
    "delete": b'id="person-delete"',
}
PEOPLE_CONTROLS = {"answer a suggestion": b'class="suggestion-form"', "merge": b'id="merge-picked"'}
OWNER_ONLY = {"delete"}


def _seen(body: bytes, controls: dict[str, bytes]) -> set[str]:
    return {name for name, marker in controls.items() if marker in body}


@pytest.mark.parametrize("role", ["owner", "analyst", "viewer"])
def test_controls_follow_the_role(world, role):
    client = world.client(role)
    team, session, person = world.extra["team"], world.extra["t_session"], world.extra["t_person"]
    pages = [
        (f"/sessions/{session.pk}/", SESSION_CONTROLS, b"Team Session"),
        (f"/people/{person.pk}/", PERSON_CONTROLS, b"Team Person"),
        (f"/people/?project={team.pk}", PEOPLE_CONTROLS, b"Team Second"),
    ]
    for url, controls, content in pages:
        r = client.get(url)
        assert r.status_code == 200 and content in r.content, url
        wanted = {"owner": set(controls), "analyst": set(controls) - OWNER_ONLY, "viewer": set()}[role]
        assert _seen(r.content, controls) == wanted, f"{role} on {url}"
    if role == "viewer":  # what a viewer may do stays: the replay, its markers (read-only) and summaries
        page = client.get(f"/sessions/{session.pk}/").content
        for kept in (b'id="replay"', b'id="marker-list"', b'id="summary-list"', b"teamwork"):
            assert kept in page, kept
        consent = client.get(f"/people/{person.pk}/").content
        assert b'id="consent-state"' in consent and b"not recorded" in consent
    project_page = client.get(f"/projects/{team.pk}/").content
    assert (b'id="invite-form"' in project_page) is (role == "owner")
    assert (b"Delete project" in project_page) is (role == "owner")
