"""The audit trail cannot be erased or skipped (finding 6 of the security issue).

Deleting an account keeps the entries about other people's data, with the actor pseudonymised; admin
edits write entries naming the changed fields; a summary is audited alike from the page, the API and
the admin, because the service writes the entry.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from projects.models import Project
from projects.services import personal_project
from sessions_app.models import Marker, Session
from summaries.models import AllowedLLMHost

pytestmark = pytest.mark.django_db


class _Inputs(HTMLParser):
    """The named fields of an admin change form, with their current values (what a browser would post)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "checkbox", "file"):
            self.data[name] = a.get("value") or ""
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.data[name] = "on"
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def form_of(client, url: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(client.get(url).content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_deleting_an_account_keeps_entries_about_other_peoples_data(
    client, people_world, staff_user, django_user_model, django_capture_on_commit_callbacks
):
    w = people_world
    client.force_login(staff_user)
    client.get(reverse("session_detail", args=[w.a.pk]))
    client.get(reverse("session_export_observations", args=[w.a.pk, "csv"]))
    client.post(reverse("privacy_settings"), {"retention_days": "5"})  # about the staff member's own data
    assert AuditEntry.objects.filter(actor=staff_user).count() == 4  # page: results and summaries
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_delete"), {"password": "staff-pass-123"})
    assert response.status_code == 302 and not django_user_model.objects.filter(pk=staff_user.pk).exists()

    kept = AuditEntry.objects.filter(owner=w.owner).order_by("pk")
    assert [e.action for e in kept] == ["viewed", "viewed", "exported"]
    assert {e.actor_id for e in kept} == {None}
    pseudonym = kept[0].actor_pseudonym
    assert pseudonym.startswith("deleted-user-") and {e.actor_pseudonym for e in kept} == {pseudonym}
    assert "staff-member" not in pseudonym and str(staff_user.pk) != pseudonym.removeprefix("deleted-user-")
    assert not AuditEntry.objects.filter(action="settings").exists()  # about their own data: gone
    # the owner still reads them in their log
    client.force_login(w.owner)
    assert pseudonym in client.get(reverse("audit_log")).content.decode()

    # deleted another way (the admin's user deletion, a shell): the same
    other_staff = django_user_model.objects.create_user(username="staff-two", password="x-pass-123", is_staff=True)
    client.force_login(other_staff)
    client.get(reverse("session_detail", args=[w.b.pk]))
    other_staff.delete()
    entry = AuditEntry.objects.get(owner=w.owner, object_id=str(w.b.pk), action="viewed", detail="results")
    assert entry.actor_id is None and entry.actor_pseudonym.startswith("deleted-user-")
    assert entry.actor_pseudonym != pseudonym


def test_a_summary_is_audited_from_the_page_the_api_and_the_admin(
    client, people_world, staff_user, django_capture_on_commit_callbacks
):
    w = people_world
    client.force_login(w.owner)
    api = APIClient()
    api.force_login(w.owner)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("summary_create", args=[w.a.pk]), {"backend": "heuristic"})
        created = api.post(f"/api/sessions/{w.a.pk}/summaries/", {"backend": "heuristic"}, format="json")
        assert created.status_code == 201
        client.force_login(staff_user)
        client.post(
            reverse("admin:sessions_app_session_changelist"),
            {"action": "summarize_selected", "_selected_action": [w.b.pk], "backend": "heuristic", "apply": "1"},
        )
    entries = AuditEntry.objects.filter(action="summarized").order_by("pk")
    assert [(e.actor_id, e.owner_id, e.object_id, e.detail) for e in entries] == [
        (w.owner.pk, w.owner.pk, str(w.a.pk), "heuristic"),
        (w.owner.pk, w.owner.pk, str(w.a.pk), "heuristic"),
        (staff_user.pk, w.owner.pk, str(w.b.pk), "heuristic"),
    ]
    assert all(e.ip == "127.0.0.1" for e in entries)


def test_admin_edits_are_audited_with_the_changed_fields(client, people_world, staff_user, other_user):
    w = people_world
    # retention is the project's (issue 25): staff change it in the project admin
    prefs = personal_project(w.owner)
    Project.objects.filter(pk=prefs.pk).update(retention_days=30)
    marker = Marker.objects.create(session=w.a, author=w.owner, time=1.0, note="secret note")
    client.force_login(staff_user)

    data = form_of(client, change_url(prefs)) | {"retention_days": "7", "personal": ""}
    data["memberships-0-role"] = "owner"  # the members inline's select (form_of reads inputs only)
    assert client.post(change_url(prefs), data).status_code == 302
    prefs.refresh_from_db()
    assert (prefs.personal, prefs.retention_days) == (True, 7)  # "personal" is read-only
    entry = AuditEntry.objects.get(actor=staff_user, action="settings")
    assert entry.owner_id == w.owner.pk and "7 days" in entry.detail and "admin" in entry.detail

    data = form_of(client, change_url(w.a)) | {"title": "Renamed by staff"}
    assert client.post(change_url(w.a), data).status_code == 302
    assert Session.objects.get(pk=w.a.pk).title == "Renamed by staff"
    entry = AuditEntry.objects.get(actor=staff_user, action="renamed", object_type="session")
    assert entry.owner_id == w.owner.pk and "Meeting A" in entry.detail

    data = form_of(client, change_url(marker)) | {"note": "changed note"}
    assert client.post(change_url(marker), data).status_code == 302
    entry = AuditEntry.objects.get(actor=staff_user, action="changed", object_type="marker")
    assert entry.owner_id == w.owner.pk and "note" in entry.detail and "secret" not in entry.detail
    client.post(reverse("admin:sessions_app_marker_delete", args=[marker.pk]), {"post": "yes"})
    assert AuditEntry.objects.filter(actor=staff_user, action="deleted", object_type="marker").exists()

    client.post(reverse("admin:summaries_allowedllmhost_add"), {"host": "llm.lab", "note": "lab server"})
    host = AllowedLLMHost.objects.get(host="llm.lab")
    entry = AuditEntry.objects.get(actor=staff_user, object_type="allowedllmhost")
    assert entry.object_id == str(host.pk) and entry.owner_id is None and "added" in entry.detail
