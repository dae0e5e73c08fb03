"""Invitation links into a project (projects/invitations.py): made by owners only, stored hashed, shown once,
used once, expiring and withdrawable; an anonymous visitor signs up through one straight into the project,
a signed-in user joins with a button; two simultaneous uses give one membership. The route audit
(tests/hardening/test_access_audit.py) covers who reaches each route; the browser flow is in
test_browser_invite.py."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from emotionsite import logredact
from projects import invitations, services
from projects.models import Invitation, Membership, Project

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-password-1"
LINK = re.compile(rb'id="invite-link" value="http://testserver/invite/([A-Za-z0-9_-]+)/"')


def _users(*names: str) -> dict:
    # no password: force_login needs none, and each hash costs about a second here
    return {n: get_user_model().objects.create_user(username=f"i-{n}", password=None) for n in names}


@pytest.fixture
def lab():
    """A shared project with an owner, an analyst and a viewer; ``newcomer`` is in no project of theirs."""
    people = _users("owner", "analyst", "viewer", "newcomer", "late")
    project = services.create_project(people["owner"], "Lab")
    for name in ("analyst", "viewer"):
        services.add_member(people["owner"], project, f"i-{name}", name)
    return project, people


def _client(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _make(project, owner, role="viewer") -> str:
    return invitations.create_invitation(owner, project, role)[1]


def _memberships() -> list[tuple]:
    return sorted(Membership.objects.values_list("project_id", "user_id", "role"))


def test_owner_makes_a_link_on_the_page_shown_once_and_stored_hashed(lab):
    project, p = lab
    owner = _client(p["owner"])
    r = owner.post(f"/projects/{project.pk}/invitations/", {"role": "analyst"})
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    token = LINK.search(r.content).group(1).decode()
    assert len(token) >= 40
    invitation = Invitation.objects.get(project=project)
    assert (invitation.role, invitation.created_by, invitation.used_at) == ("analyst", p["owner"], None)
    assert invitation.token_hash == invitations.hash_token(token) and token not in invitation.token_hash
    # the default lifetime, from the setting
    assert abs(invitation.expires - timezone.now() - timedelta(days=7)) < timedelta(minutes=1)
    # the raw token is in no row of any table (audit log, sessions, messages included)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema itself
            assert token not in repr(cursor.fetchall()), f"the raw token is stored in {table}"
    entry = AuditEntry.objects.filter(object_type="project", object_id=str(project.pk)).first()
    assert entry.detail == f"invitation {invitation.pk} made (analyst)" and entry.actor == p["owner"]
    # the page lists it as pending, without its link; a later visit never shows the link again
    page = owner.get(f"/projects/{project.pk}/").content
    assert f'data-invitation="{invitation.pk}"'.encode() in page and b"Analyst" in page
    assert token.encode() not in page and b'id="invite-link"' not in page


def test_the_lifetime_comes_from_the_setting(lab, settings):
    project, p = lab
    settings.EMOTION_INVITATION_DAYS = 2
    invitation, _ = invitations.create_invitation(p["owner"], project, "viewer")
    assert abs(invitation.expires - timezone.now() - timedelta(days=2)) < timedelta(minutes=1)


def test_an_existing_user_joins_once_and_a_second_use_is_refused(lab):
    project, p = lab
    token = _make(project, p["owner"], "analyst")
    newcomer = _client(p["newcomer"])
    page = newcomer.get(f"/invite/{token}/")
    assert page.status_code == 200 and b'id="invitation-accept"' in page.content
    assert b"Join Lab as analyst" in page.content
    assert not Membership.objects.filter(project=project, user=p["newcomer"]).exists()  # a GET changes nothing
    r = newcomer.post(f"/invite/{token}/")
    assert r.status_code == 302 and r["Location"] == f"/projects/{project.pk}/"
    assert Membership.objects.get(project=project, user=p["newcomer"]).role == "analyst"
    invitation = Invitation.objects.get(project=project)
    assert invitation.used_by == p["newcomer"] and invitation.used_at is not None
    entry = AuditEntry.objects.filter(actor=p["newcomer"], object_type="project").first()
    assert entry.detail == f"i-newcomer joined as analyst through invitation {invitation.pk}"
    assert token not in entry.detail
    # used: another user (and an anonymous sign-up) is refused with 410, and nothing changes
    before = (_memberships(), get_user_model().objects.count())
    late = _client(p["late"])
    for r in (late.get(f"/invite/{token}/"), late.post(f"/invite/{token}/")):
        assert r.status_code == 410 and b"already been used" in r.content and b"Traceback" not in r.content
    signup = {"username": "via-used-link", "password1": PASSWORD, "password2": PASSWORD}
    r = _client().post(f"/invite/{token}/", signup)
    assert r.status_code == 410 and b"already been used" in r.content
    assert (_memberships(), get_user_model().objects.count()) == before
    with pytest.raises(invitations.InvitationError, match="already been used"):
        invitations.accept_invitation(p["late"], token)


def test_anonymous_signs_up_through_the_link_into_the_project_with_its_role(lab):
    project, p = lab
    token = _make(project, p["owner"], "viewer")
    visitor = Client()
    page = visitor.get(f"/invite/{token}/")
    assert page.status_code == 200 and b'id="invitation-signup"' in page.content
    assert b"as <strong>viewer</strong>" in page.content
    # a refused form makes nothing and keeps the link
    bad = visitor.post(f"/invite/{token}/", {"username": "fresh", "password1": PASSWORD, "password2": "other"})
    assert bad.status_code == 200 and b"errorlist" in bad.content
    assert not get_user_model().objects.filter(username="fresh").exists()
    r = visitor.post(f"/invite/{token}/", {"username": "fresh", "password1": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 302 and r["Location"] == f"/projects/{project.pk}/"
    fresh = get_user_model().objects.get(username="fresh")
    assert Membership.objects.get(project=project, user=fresh).role == "viewer"
    assert services.personal_project(fresh).personal  # and their own personal project, as at any sign-up
    assert Invitation.objects.get(project=project).used_by == fresh
    # signed in: the project's page opens
    assert visitor.get(f"/projects/{project.pk}/").status_code == 200


def test_an_expired_link_is_refused_and_changes_nothing(lab):
    project, p = lab
    token = _make(project, p["owner"])
    Invitation.objects.update(expires=timezone.now() - timedelta(seconds=1))  # time has passed
    before = (_memberships(), get_user_model().objects.count())
    r = _client(p["newcomer"]).post(f"/invite/{token}/")
    assert r.status_code == 410 and b"expired" in r.content
    r = Client().post(f"/invite/{token}/", {"username": "too-late", "password1": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 410 and b"expired" in r.content
    assert (_memberships(), get_user_model().objects.count()) == before
    assert Invitation.objects.get().used_at is None
    assert b"Pending invitations" in _client(p["owner"]).get(f"/projects/{project.pk}/").content
    assert not invitations.pending(project).exists()  # an expired link is no longer pending


def test_a_withdrawn_link_is_refused(lab):
    project, p = lab
    token = _make(project, p["owner"])
    invitation = Invitation.objects.get()
    owner = _client(p["owner"])
    r = owner.post(f"/projects/{project.pk}/invitations/{invitation.pk}/withdraw/")
    assert r.status_code == 302
    invitation.refresh_from_db()
    assert invitation.withdrawn_at is not None
    assert b'id="no-invitations"' in owner.get(f"/projects/{project.pk}/").content
    before = (_memberships(), get_user_model().objects.count())
    for r in (
        Client().get(f"/invite/{token}/"),
        Client().post(f"/invite/{token}/", {"username": "wd", "password1": PASSWORD, "password2": PASSWORD}),
        _client(p["newcomer"]).post(f"/invite/{token}/"),
    ):
        assert r.status_code == 410 and b"withdrawn" in r.content
    assert (_memberships(), get_user_model().objects.count()) == before
    assert AuditEntry.objects.filter(detail=f"invitation {invitation.pk} withdrawn", actor=p["owner"]).exists()


def test_an_unknown_link_is_404_with_a_clear_page(lab):
    _, p = lab
    for token in ("not-a-token", "x" * 500):
        for client in (Client(), _client(p["newcomer"])):
            r = client.get(f"/invite/{token}/")
            assert r.status_code == 404 and b"not valid" in r.content and b"Traceback" not in r.content


def test_a_member_opening_a_link_leaves_it_unused(lab):
    project, p = lab
    token = _make(project, p["owner"], "owner")
    r = _client(p["viewer"]).post(f"/invite/{token}/")
    assert r.status_code == 409 and b"already a member" in r.content
    assert Membership.objects.get(project=project, user=p["viewer"]).role == "viewer"  # no promotion by link
    assert Invitation.objects.get().used_at is None


def test_only_owners_make_and_withdraw_links(lab):
    project, p = lab
    invitation, _ = invitations.create_invitation(p["owner"], project, "viewer")
    for who in ("analyst", "viewer"):
        c = _client(p[who])
        assert c.post(f"/projects/{project.pk}/invitations/", {"role": "owner"}).status_code == 403
        assert c.post(f"/projects/{project.pk}/invitations/{invitation.pk}/withdraw/").status_code == 403
        with pytest.raises(PermissionDenied):
            invitations.create_invitation(p[who], project, "owner")
        assert b'id="invite-form"' not in c.get(f"/projects/{project.pk}/").content
    stranger = _client(p["newcomer"])
    assert stranger.post(f"/projects/{project.pk}/invitations/", {"role": "owner"}).status_code == 404
    assert Invitation.objects.count() == 1 and Invitation.objects.get().withdrawn_at is None
    # a personal project takes no one
    with pytest.raises(services.ProjectError, match="yours alone"):
        invitations.create_invitation(p["owner"], services.personal_project(p["owner"]), "viewer")
    # another project's invitation is not this project's to withdraw
    other = services.create_project(p["owner"], "Other")
    r = _client(p["owner"]).post(f"/projects/{other.pk}/invitations/{invitation.pk}/withdraw/")
    assert r.status_code == 302 and Invitation.objects.get().withdrawn_at is None


def test_rest_invitations(lab):
    project, p = lab
    api = APIClient()
    api.force_login(p["owner"])
    url = f"/api/projects/{project.pk}/invitations/"
    bad = api.post(url, {"role": "boss"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()["detail"]
    made = api.post(url, {"role": "analyst"}, format="json")
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    body = made.json()
    token = body["link"].rsplit("/", 2)[1]
    assert body["role"] == "analyst" and body["created_by"] == "i-owner"
    assert invitations.hash_token(token) == Invitation.objects.get(pk=body["id"]).token_hash
    listed = api.get(url).json()
    assert [(row["id"], row["role"]) for row in listed] == [(body["id"], "analyst")] and "link" not in listed[0]
    # analysts and viewers: 403 in JSON; strangers 404
    for who, code in (("analyst", 403), ("viewer", 403), ("newcomer", 404)):
        other = APIClient()
        other.force_login(p[who])
        assert other.get(url).status_code == code
        r = other.delete(f"{url}{body['id']}/")
        assert r.status_code == code and "detail" in r.json()
    assert api.delete(f"{url}{body['id']}/").status_code == 204
    assert api.get(url).json() == []
    assert _client(p["newcomer"]).get(f"/invite/{token}/").status_code == 410
    assert api.delete(f"{url}999999/").json()["detail"] == "There is no such invitation."
    schema = Client().get("/api/schema/").content
    assert b"/api/projects/{project_id}/invitations/{invitation_id}/" in schema


def test_sign_ups_through_links_are_throttled_like_the_sign_up_page(lab, settings):
    project, p = lab
    settings.EMOTION_LIMITS = {**settings.EMOTION_LIMITS, "signups": "1/hour"}
    token = _make(project, p["owner"])
    visitor = Client()
    assert visitor.post(f"/invite/{token}/", {"username": "a1", "password1": "x", "password2": "y"}).status_code == 200
    r = visitor.post(f"/invite/{token}/", {"username": "a2", "password1": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 429 and not get_user_model().objects.filter(username="a2").exists()


def test_tokens_are_kept_out_of_logs(lab, caplog):
    project, p = lab
    token = _make(project, p["owner"])
    Invitation.objects.update(withdrawn_at=timezone.now())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert Client().get(f"/invite/{token}/").status_code == 410  # Django logs "Gone: <path>"
        assert Client().get("/invite/s3cr3t-guess/").status_code == 404  # and "Not Found: <path>"
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Gone: /invite/[token]/", "Not Found: /invite/[token]/"]
    assert token not in caplog.text and "s3cr3t" not in caplog.text
    # Daphne's access log writes each path through the same function (emotionsite.daphne_server)
    line = '127.0.0.1 - - [x] "GET /accounts/login/?next=/invite/s3cr3t/ HTTP/1.1" 200'
    assert logredact.redact(line) == '127.0.0.1 - - [x] "GET /accounts/login/?next=/invite/[token]/ HTTP/1.1" 200'
    assert logredact.redact("GET /projects/3/invitations/") == "GET /projects/3/invitations/"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uses_give_one_membership():
    """Two users accept the same link at the same moment, each on its own connection: the invitation's row
    lock lets one join; the other is told the link was used."""
    people = _users("owner", "first", "second")
    project = services.create_project(people["owner"], "Race")
    token = _make(project, people["owner"], "analyst")
    start = threading.Barrier(2)
    results: dict[str, str] = {}

    def accept(name: str) -> None:
        try:
            start.wait(timeout=10)
            invitations.accept_invitation(people[name], token)
            results[name] = "joined"
        except invitations.InvitationError as exc:
            results[name] = str(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == sorted(["joined", invitations.USED]), results
    joined = [n for n, r in results.items() if r == "joined"]
    members = Membership.objects.filter(project=project).exclude(user=people["owner"])
    assert list(members.values_list("user__username", "role")) == [(f"i-{joined[0]}", "analyst")]
    assert Invitation.objects.get().used_by.username == f"i-{joined[0]}"
    assert Project.objects.filter(pk=project.pk).exists()
