"""The audit log in projects: every entry carries its object's project and the actor's role there; a
project's owners read its log (analysts and viewers 403, non-members 404), never another project's
entries; members' reads in a shared project are audited once a window, reads of one's own personal
project are not; audit 0002 gives old entries their project."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from api_tokens.services import create_token
from audit.models import AuditEntry
from people.models import Person, PersonThumbnail
from projects import services
from sessions_app.models import Session
from sessions_app.services import manage
from tests.streamed import read_body
from tests.test_rooms_migration import latest, migrate

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(200))


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def team(db, settings, tmp_path):
    """A shared project of ``owner`` with an ``analyst`` and a ``viewer``, a session with media and a person
    with a face in it; ``stranger`` and ``staff`` are in no project but their own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    users = get_user_model().objects
    p = {name: users.create_user(username=f"log-{name}", password=None) for name in ("owner", "analyst", "viewer")}
    p["stranger"] = users.create_user(username="log-stranger", password=None)
    p["staff"] = users.create_user(username="log-staff", password=None, is_staff=True)
    project = services.create_project(p["owner"], "Lab")
    for name in ("analyst", "viewer"):
        services.add_member(p["owner"], project, f"log-{name}", name)
    session = Session.objects.create(owner=p["owner"], project=project, title="Lab session", status="done")
    session.original.save("lab.mp4", ContentFile(VIDEO), save=True)
    person = Person.objects.create(owner=p["owner"], project=project, number=1, name="Lab person")
    thumb = PersonThumbnail(person=person)
    thumb.image.save("lab.jpg", ContentFile(b"\xff\xd8\xff\xe0labface"), save=True)
    return {"project": project, "session": session, "person": person, "thumb": thumb, **p}


def _scope(entry: AuditEntry) -> tuple:
    return entry.action, entry.project_id, entry.actor_role


def test_entries_carry_the_project_and_the_actors_role(team):
    project, session = team["project"], team["session"]
    made = AuditEntry.objects.get(detail="project created")
    assert _scope(made) == ("changed", project.pk, "owner")
    manage.rename_session(session, "By owner", actor=team["owner"])
    manage.rename_session(session, "By analyst", actor=team["analyst"])
    manage.rename_session(session, "By staff", actor=team["staff"])  # staff in no project: their powers, audited
    renames = AuditEntry.objects.filter(action="renamed").order_by("pk")
    assert [(e.actor_id, *_scope(e)) for e in renames] == [
        (team["owner"].pk, "renamed", project.pk, "owner"),
        (team["analyst"].pk, "renamed", project.pk, "analyst"),
        (team["staff"].pk, "renamed", project.pk, "staff"),
    ]
    # outside projects (a token is its user's): no project, no role; the system acts with no role
    create_token(team["viewer"], "script")
    assert _scope(AuditEntry.objects.get(actor=team["viewer"], action="settings")) == ("settings", None, "")
    manage.delete_session(session, detail="retention")
    assert _scope(AuditEntry.objects.get(action="deleted", object_type="session")) == ("deleted", project.pk, "")


def test_owners_read_the_project_log_others_do_not(team):
    project, owner = team["project"], team["owner"]
    manage.rename_session(team["session"], "Renamed in Lab", actor=team["analyst"])
    mine = Session.objects.create(owner=owner, title="Personal secret")  # the owner's personal project
    manage.rename_session(mine, "Still personal", actor=owner)
    other = services.create_project(team["stranger"], "Elsewhere")
    url = f"/projects/{project.pk}/log/"

    page = _client(owner).get(url).content.decode()
    assert "Renamed in Lab" in page and "log-analyst" in page and "<td>analyst</td>" in page
    assert "Still personal" not in page and "Elsewhere" not in page  # other projects' entries never appear
    assert f'href="{url}"' in _client(owner).get(f"/projects/{project.pk}/").content.decode()
    assert _client(team["analyst"]).get(url).status_code == 403
    assert _client(team["viewer"]).get(f"/projects/{project.pk}/log.csv").status_code == 403
    assert _client(team["analyst"]).get(f"/projects/{project.pk}/").content.decode().count(url) == 0
    assert _client(team["stranger"]).get(url).status_code == 404
    assert _client(owner).get(f"/projects/{other.pk}/log/").status_code == 404

    # filtered by action; an unknown action is said and shows all
    only = _client(owner).get(url, {"action": "renamed"}).content.decode()
    assert "Renamed in Lab" in only and "project created" not in only
    wrong = _client(owner).get(url, {"action": "nonsense"})
    assert wrong.status_code == 200 and "no such action" in wrong.content.decode()
    assert "project created" in wrong.content.decode()


def test_the_log_pages_by_fifty_and_exports_csv(team):
    project, owner = team["project"], team["owner"]
    AuditEntry.objects.bulk_create(
        AuditEntry(actor=team["analyst"], project=project, actor_role="analyst", action="viewed", detail=f"n{i}")
        for i in range(51)
    )
    AuditEntry.objects.create(project=project, action="renamed", object_repr="=HYPERLINK(1)", actor_role="owner")
    total = AuditEntry.objects.filter(project=project).count()  # 51 + the renaming + creation and members
    client = _client(owner)
    first = client.get(f"/projects/{project.pk}/log/").content.decode()
    assert first.count("<tr><td>") == 50 and f"Page 1 of {-(-total // 50)}" in first
    last = client.get(f"/projects/{project.pk}/log/", {"page": "999"}).content.decode()  # past the end: the last
    assert last.count("<tr><td>") == total - 50 * (-(-total // 50) - 1)

    response = client.get(f"/projects/{project.pk}/log.csv")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(read_body(response).decode())))
    assert rows[0][:4] == ["created", "actor", "role", "action"] and len(rows) == total + 1
    assert ["log-analyst", "analyst", "viewed"] in [r[1:4] for r in rows]
    assert "'=HYPERLINK(1)" in [r[6] for r in rows]  # no formula reaches a spreadsheet
    renamed = list(
        csv.reader(io.StringIO(read_body(client.get(f"/projects/{project.pk}/log.csv?action=renamed")).decode()))
    )
    assert [r[3] for r in renamed[1:]] == ["renamed"]


def test_members_reads_in_a_shared_project_are_audited_once_a_window(team):
    project, session = team["project"], team["session"]
    viewer = _client(team["viewer"])
    for _ in range(2):  # a repeated read within the window does not flood the log
        r = viewer.get(f"/sessions/{session.pk}/media/original/")
        assert r.status_code == 200 and read_body(r) == VIDEO
        assert viewer.get(f"/people/thumbnails/{team['thumb'].pk}/").status_code == 200
    reads = AuditEntry.objects.filter(actor=team["viewer"], action="viewed").order_by("detail")
    assert [(e.detail, e.object_type, e.object_id, e.project_id, e.actor_role, e.owner_id) for e in reads] == [
        ("faces", "person", str(team["person"].pk), project.pk, "viewer", team["owner"].pk),
        ("media", "session", str(session.pk), project.pk, "viewer", team["owner"].pk),
    ]
    # in a shared project even the maker's own reads are the project's record
    assert _client(team["owner"]).get(f"/sessions/{session.pk}/media/original/").status_code == 200
    assert _scope(AuditEntry.objects.get(actor=team["owner"], action="viewed")) == ("viewed", project.pk, "owner")
    # reads of one's own personal project are not audited
    mine = Session.objects.create(owner=team["viewer"], title="Mine", status="done")
    mine.original.save("mine.mp4", ContentFile(VIDEO), save=True)
    assert _client(team["viewer"]).get(f"/sessions/{mine.pk}/media/original/").status_code == 200
    assert not AuditEntry.objects.filter(action="viewed", object_id=str(mine.pk), object_type="session").exists()
    # the viewer sees their reads in their own log, the owner in the project's
    assert "<td>Lab</td><td>viewer</td>" in _client(team["viewer"]).get("/privacy/audit/").content.decode()
    log = _client(team["owner"]).get(f"/projects/{project.pk}/log/", {"action": "viewed"}).content.decode()
    assert log.count("log-viewer") == 2


@pytest.mark.django_db(transaction=True)
def test_migration_gives_old_entries_their_project(django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = django_user_model.objects.create_user("log-old", password=None)
    lab = services.create_project(user, "Old lab")
    session = Session.objects.create(owner=user, project=lab, title="old")
    person = Person.objects.create(owner=user, number=1)  # the personal project
    head = latest()
    try:
        old = migrate([("audit", "0001_moved_from_sessions_app")])
        model = old.get_model("audit", "AuditEntry")
        rows = {
            "session": ("session", str(session.pk)),
            "person": ("person", str(person.pk)),
            "project": ("project", str(lab.pk)),
            "gone": ("session", "999999999"),
            "text": ("session", "not-a-number"),
            "user": ("user", str(user.pk)),
        }
        ids = {
            key: model.objects.create(actor_id=user.pk, action="viewed", object_type=t, object_id=i, detail=key).pk
            for key, (t, i) in rows.items()
        }
        migrate(head)
        found = {
            e.detail: (e.project_id, e.actor_role, e.actor_id) for e in AuditEntry.objects.filter(pk__in=ids.values())
        }
        assert found == {
            "session": (lab.pk, "", user.pk),
            "person": (person.project_id, "", user.pk),
            "project": (lab.pk, "", user.pk),
            "gone": (None, "", user.pk),
            "text": (None, "", user.pk),
            "user": (None, "", user.pk),
        }
        migrate([("audit", "0001_moved_from_sessions_app")])  # back: the rows stay
        assert old.get_model("audit", "AuditEntry").objects.filter(pk__in=ids.values()).count() == len(ids)
    finally:
        migrate(head)
