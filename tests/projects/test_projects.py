"""Projects and roles beyond the route audit (tests/hardening/test_access_audit.py): identity stays within a
project, the last-owner rules, what stays when a member leaves or deletes their account, and new uploads
and recordings going to the chosen project."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from live import services as live
from people import privacy
from people.models import Person
from projects import access, services
from projects.access import Action
from projects.models import Project
from sessions_app.models import Session
from tests.sessions.test_identity_finalize import around, person_of, session_with

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def team(settings, tmp_path):
    """A shared project: ``owner``, ``analyst`` and ``viewer``."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    users = get_user_model().objects
    people = {
        name: users.create_user(username=f"t-{name}", password=PASSWORD) for name in ("owner", "analyst", "viewer")
    }
    project = services.create_project(people["owner"], "Lab")
    for name in ("analyst", "viewer"):
        services.add_member(people["owner"], project, f"t-{name}", name)
    return project, people


def test_every_user_has_a_personal_project_only_they_are_in(team):
    project, p = team
    mine = services.personal_project(p["analyst"])
    assert mine.personal and list(mine.memberships.values_list("user_id", "role")) == [(p["analyst"].pk, "owner")]
    assert services.personal_project(p["analyst"]).pk == mine.pk  # one, not a new one per call
    with pytest.raises(services.ProjectError, match="yours alone"):
        services.add_member(p["analyst"], mine, "t-viewer", "viewer")
    # what a user makes without choosing a project goes there
    assert Session.objects.create(owner=p["analyst"], title="x").project_id == mine.pk


def test_role_table():
    assert access.ALLOWED["viewer"] == {Action.VIEW}
    assert access.ALLOWED["analyst"] == {
        Action.VIEW,
        Action.RECORD,
        Action.ANNOTATE,
        Action.SUMMARIZE,
        Action.PEOPLE,
        Action.CONSENT,
    }
    assert access.ALLOWED["owner"] == set(Action)


def test_a_face_is_matched_within_its_project_never_across(team):
    """The same face in the owner's personal project and in the shared one: one person per project, never
    linked across; a second session of the shared project (another member's) links to that project's person."""
    project, p = team
    rng = np.random.default_rng(3)
    face = 0.09 * rng.standard_normal(128)
    own = person_of(session_with(p["owner"], around(rng, face)))
    assert own.project_id == services.personal_project(p["owner"]).pk
    again = person_of(session_with(p["owner"], around(rng, face)))
    assert again.pk == own.pk  # the face is recognisable: SAME within the personal project
    in_lab = person_of(session_with(p["owner"], around(rng, face), project))
    assert in_lab.project_id == project.pk and in_lab.pk != own.pk  # never linked to the personal person
    by_analyst = person_of(session_with(p["analyst"], around(rng, face), project))
    assert by_analyst.pk == in_lab.pk  # SAME within the project, whoever recorded it
    assert Person.objects.filter(project=project).count() == 1
    assert not Person.objects.filter(project=services.personal_project(p["analyst"])).exists()


def test_last_owner_rules(team):
    project, p = team
    with pytest.raises(services.ProjectError, match="last owner"):
        services.remove_member(p["owner"], project, p["owner"].pk)  # cannot leave
    with pytest.raises(services.ProjectError, match="needs an owner"):
        services.add_member(p["owner"], project, "t-owner", "viewer")  # cannot demote themselves
    with pytest.raises(privacy.PrivacyError, match="last owner"):
        privacy.delete_account(p["owner"], PASSWORD)  # nor delete the account
    assert get_user_model().objects.filter(pk=p["owner"].pk).exists()
    # an analyst cannot manage members; a viewer can leave
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.remove_member(p["analyst"], project, p["viewer"].pk)
    services.remove_member(p["viewer"], project, p["viewer"].pk)
    assert access.role_of(p["viewer"], project) is None
    # with a second owner the first may go
    services.add_member(p["owner"], project, "t-analyst", "owner")
    services.remove_member(p["owner"], project, p["owner"].pk)
    assert list(project.memberships.values_list("user__username", "role")) == [("t-analyst", "owner")]


def test_what_a_member_recorded_stays_when_they_leave_or_delete_their_account(team):
    project, p = team
    kept = Session.objects.create(owner=p["analyst"], project=project, title="Analyst's take")
    person = Person.objects.create(owner=p["analyst"], project=project, number=1, name="Seen")
    own = Session.objects.create(owner=p["analyst"], title="Private take")  # their personal project
    services.add_member(p["owner"], project, "t-analyst", "analyst")
    privacy.delete_account(p["analyst"], PASSWORD)
    assert not Session.objects.filter(pk=own.pk).exists()  # their own project's data went
    assert not Project.objects.filter(personal=True, name="t-analyst").exists()
    kept.refresh_from_db()
    person.refresh_from_db()
    assert (kept.project_id, kept.owner_id, person.owner_id) == (project.pk, p["owner"].pk, p["owner"].pk)
    assert access.can(p["viewer"], kept, Action.VIEW) and not access.can(p["viewer"], kept, Action.RECORD)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "PNG")
    return buf.getvalue()


def test_uploads_and_recordings_go_to_the_chosen_project(team, django_capture_on_commit_callbacks):
    project, p = team
    url = "/api/sessions/"

    def upload(who: str, project_id):
        c = Client()
        c.force_login(p[who])
        data = {"file": SimpleUploadedFile("still.png", _png(), "image/png"), "title": who}
        if project_id is not None:
            data["project"] = project_id
        return c.post(url, data)

    with django_capture_on_commit_callbacks(execute=False):
        assert upload("viewer", project.pk).status_code == 403  # a viewer records nothing
        stranger = get_user_model().objects.create_user(username="t-stranger", password=PASSWORD)
        p["stranger"] = stranger
        assert upload("stranger", project.pk).status_code == 404  # not a member: no such project
        r = upload("analyst", project.pk)
        assert r.status_code == 201, r.content
        assert Session.objects.get(pk=r.json()["id"]).project_id == project.pk
        r = upload("analyst", None)
        assert Session.objects.get(pk=r.json()["id"]).project_id == services.personal_project(p["analyst"]).pk
    assert not Session.objects.filter(owner__in=[p["viewer"], stranger]).exists()
    with pytest.raises(live.LiveError, match="cannot add sessions"):
        live.start_session(p["viewer"], "rec", 2, project.pk)
    assert not Session.objects.filter(owner=p["viewer"]).exists()
