"""The projects API: the user's projects with roles, making, renaming and deleting one, members and roles.

Access (404 for a non-member, 403 for a role lacking the action) is also audited route by route in
tests/hardening/test_access_audit.py; here are the answers and the rules of projects.services.
"""

from __future__ import annotations

from projects.models import Membership, Project
from sessions_app.models import Session


def _roles(project) -> dict[str, str]:
    return dict(Membership.objects.filter(project=project).values_list("user__username", "role"))


def test_list_shows_own_projects_with_roles(team):
    rows = team.api("viewer").get("/api/projects/").json()
    assert [(r["name"], r["personal"], r["role"], r["members"]) for r in rows] == [
        ("vic", True, "owner", 1),  # the personal project, made at sign-up, first
        ("Lab", False, "viewer", 3),
    ]
    assert [r["name"] for r in team.api("stranger").get("/api/projects/").json()] == ["stranger"]
    assert team.api(None).get("/api/projects/").status_code == 401


def test_create_tidies_and_validates_the_name(team):
    api = team.api("analyst")
    made = api.post("/api/projects/", {"name": "  New   study "}, format="json")
    assert made.status_code == 201, made.content
    assert (made.json()["name"], made.json()["role"], made.json()["personal"]) == ("New study", "owner", False)
    assert _roles(Project.objects.get(pk=made.json()["id"])) == {"ana": "owner"}
    for body, field in (({"name": "   "}, "name"), ({"name": "x" * 101}, "name"), ({}, "name")):
        refused = api.post("/api/projects/", body, format="json")
        assert refused.status_code == 400 and refused["Content-Type"] == "application/json", body
        assert refused.json()["detail"] and field in refused.json(), refused.json()
    assert api.post("/api/projects/", {"name": "x" * 100}, format="json").status_code == 201  # the schema's max


def test_rename_is_the_owners(team):
    url = f"/api/projects/{team.project.pk}/"
    assert team.api("viewer").get(url).json()["role"] == "viewer"
    assert team.api("analyst").patch(url, {"name": "Mine"}, format="json").status_code == 403
    assert team.api("stranger").patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert Project.objects.get(pk=team.project.pk).name == "Lab"
    renamed = team.api("owner").patch(url, {"name": "Lab two"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Lab two"
    assert team.api("owner").patch(url, {}, format="json").json()["name"] == "Lab two"  # nothing to change
    form = team.api("owner").patch(url, "name=Other", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and "detail" in form.json()  # bodies are JSON
    assert Project.objects.get(pk=team.project.pk).name == "Lab two"


def test_delete_follows_the_services_rules(team):
    url = f"/api/projects/{team.project.pk}/"
    Session.objects.create(owner=team.owner, project=team.project, title="Kept", status=Session.Status.DONE)
    assert team.api("analyst").delete(url).status_code == 403
    held = team.api("owner").delete(url)
    assert held.status_code == 409 and "sessions" in held.json()["detail"]
    personal = Project.objects.get(personal=True, memberships__user=team.owner)
    assert team.api("owner").delete(f"/api/projects/{personal.pk}/").status_code == 409
    Session.objects.filter(project=team.project).delete()
    assert team.api("owner").delete(url).status_code == 204
    assert not Project.objects.filter(pk=team.project.pk).exists()
    assert Project.objects.filter(pk=personal.pk).exists()


def test_members_change_role_remove_and_leave(team):
    base = f"/api/projects/{team.project.pk}/members/"
    listed = team.api("viewer").get(base).json()
    assert [(m["user"], m["role"], m["user_id"]) for m in listed] == [
        ("ana", "analyst", team.analyst.pk),
        ("boss", "owner", team.owner.pk),
        ("vic", "viewer", team.viewer.pk),
    ]
    owner = team.api("owner")
    changed = owner.patch(f"{base}{team.viewer.pk}/", {"role": "analyst"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "analyst"
    assert owner.patch(f"{base}{team.viewer.pk}/", {"role": "boss"}, format="json").status_code == 400
    # the last owner is neither demoted nor removed, and cannot leave
    assert owner.patch(f"{base}{team.owner.pk}/", {"role": "viewer"}, format="json").status_code == 409
    assert owner.delete(f"{base}{team.owner.pk}/").status_code == 409
    assert owner.delete(f"{base}{team.stranger.pk}/").status_code == 404  # not a member
    assert team.api("analyst").delete(f"{base}{team.viewer.pk}/").status_code == 403  # another member: owners'
    assert team.api("analyst").delete(f"{base}{team.analyst.pk}/").status_code == 204  # leaving is anyone's
    assert owner.delete(f"{base}{team.viewer.pk}/").status_code == 204
    assert _roles(team.project) == {"boss": "owner"}
    assert team.api("viewer").get(base).status_code == 404  # no longer a member


def test_members_added_by_username(team):
    base = f"/api/projects/{team.project.pk}/members/"
    added = team.api("owner").post(base, {"username": "stranger", "role": "viewer"}, format="json")
    assert added.status_code == 201 and added.json() == {
        "user_id": team.stranger.pk,
        "user": "stranger",
        "role": "viewer",
    }
    nobody = team.api("owner").post(base, {"username": "nobody", "role": "viewer"}, format="json")
    assert nobody.status_code == 400 and nobody.json()["detail"] == "There is no user by that name."
