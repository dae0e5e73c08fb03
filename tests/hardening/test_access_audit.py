"""Access-control audit built from the code itself: every URL pattern and websocket route has a row here.

A route without a row fails ``test_every_url_pattern_has_a_row`` (or the websocket twin) with a message
naming it. For each row the audit checks an anonymous visitor, another signed-in user and the owner:

- ``public``: everyone gets ``expect``.
- ``user``: anonymous → 302 to the login page (pages) or 401/403 (API); any signed-in user gets ``expect``,
  and another user's response never contains ``leak`` (the owner's data).
- ``owner``: anonymous as above, another user → 404, the owner → ``expect`` (and ``contains``).
- ``staff``: anonymous as above, signed-in users who are not staff (the owner too) → 404, staff → ``expect``
  (and ``contains``).

The admin (namespace ``admin``) is audited separately: staff only, for every registered model.
State-changing rows (POST/PUT/PATCH/DELETE) are also sent without a CSRF token and must get 403.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib import admin
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from people.models import Person, PersonFlag, PersonSuggestion
from sessions_app.models import AnalysisRun, Marker, Session
from tests.hardening.conftest import MEDIA_BYTES, World
from tests.sessions.conftest import communicator, cookie_for
from tests.streamed import read_body

STATE_CHANGING = {"post", "put", "patch", "delete"}


@dataclass(frozen=True)
class Check:
    url: Callable[[World], str]
    access: str  # "public" | "user" | "owner" | "staff"
    method: str = "get"
    expect: int = 200  # what the owner (or, for public/user rows, anyone allowed) gets
    data: dict[str, Any] | None = None
    api: bool = False  # anonymous gets 401/403 instead of a redirect to the login page
    contains: bytes | None = None  # must be in the owner's response body
    leak: bytes | None = None  # must not be in another signed-in user's response body (user rows)
    json_body: bool = False
    signed_in: int | None = None  # public rows: what signed-in users get, when it differs from ``expect``
    other_gets: int | None = None  # user rows: what another user gets, when it differs from ``expect``
    unchanged: Callable[[World], None] | None = None  # user rows: asserts another user's request did nothing
    after: Callable[[World], None] | None = field(default=None)  # extra assertion once the owner has run


def _session_gone(w: World) -> None:
    assert not Session.objects.filter(pk=w.victim.pk).exists()


def _reanalysis_asked(w: World) -> None:
    # the owner's POST starts a new run (another user's 404 started none)
    assert list(AnalysisRun.objects.filter(session=w.session).values_list("status", flat=True)) == ["running"]


def _renamed(w: World) -> None:
    assert Session.objects.get(pk=w.session.pk).title == "Renamed"


def _marker_gone(w: World) -> None:
    assert not Marker.objects.filter(pk=w.marker.pk).exists()


def _people(w: World) -> list[tuple[int, str]]:
    return sorted(Person.objects.filter(owner=w.owner).values_list("pk", "name"))


def _both_people(w: World) -> None:
    assert {w.person.pk, w.extra["person2"].pk} <= {pk for pk, _ in _people(w)}


def _merged(w: World) -> None:
    assert not Person.objects.filter(pk=w.extra["person2"].pk).exists()


def _merge_undone(w: World) -> None:
    assert Person.objects.get(pk=10**6).name == "Merged Person"


def _person_renamed(w: World) -> None:
    assert Person.objects.get(pk=w.person.pk).name == "Renamed"


def _person2_gone(w: World) -> None:
    assert not Person.objects.filter(pk=w.extra["person2"].pk).exists()


def _suggestion_rejected(w: World) -> None:
    assert PersonSuggestion.objects.get(pk=w.extra["suggestion"].pk).status == "rejected"


def _flag_dismissed(w: World) -> None:
    assert PersonFlag.objects.get(pk=w.extra["flag"].pk).status == "dismissed"


def _owner_exists(w: World) -> None:
    assert type(w.owner).objects.filter(pk=w.owner.pk).exists()


def _summary_cancelled(w: World) -> None:
    w.extra["summary"].refresh_from_db()
    assert w.extra["summary"].cancel_requested or w.extra["summary"].status == "cancelled"


def _token_gone(w: World) -> None:
    assert not type(w.extra["token"]).objects.filter(pk=w.extra["token"].pk).exists()


def _role(w: World, user: Any, role: str | None) -> None:
    from projects.models import Membership

    found = Membership.objects.filter(project=w.extra["team"], user=user).values_list("role", flat=True).first()
    assert found == role, (user, found, role)


def _invitation_withdrawn(w: World) -> None:
    w.extra["invitation"].refresh_from_db()
    assert w.extra["invitation"].withdrawn_at is not None and w.extra["invitation"].used_at is None


def _project_gone(w: World, key: str) -> None:
    from projects.models import Project

    assert not Project.objects.filter(pk=w.extra[key].pk).exists()


def _retention(w: World, project: Any, days: int) -> None:
    project.refresh_from_db()
    assert project.retention_days == days, (project, project.retention_days)


def _personal_retention(w: World) -> None:
    from projects.services import personal_project

    _retention(w, personal_project(w.owner), 30)


def _project_named(w: World, name: str) -> None:
    from projects.models import Project

    assert Project.objects.get(pk=w.extra["team"].pk).name == name


def _study_api(tail: str) -> Callable[[World], str]:
    return lambda w: f"/api/projects/{w.extra['team'].pk}/study/{tail}"


def _study_obj(kind: str, key: str) -> Callable[[World], str]:
    return lambda w: f"/api/projects/{w.extra['team'].pk}/study/{kind}/{w.extra[key].pk}/"


def _condition_added(w: World, label: str) -> None:
    from studies.models import Condition

    assert Condition.objects.filter(project=w.extra["team"], label=label).exists()


S = "/sessions/{}"

# route name → the checks for it. Add a row for every new route (see the module docstring).
ROUTES: dict[str, list[Check]] = {
    "healthz": [Check(lambda w: "/healthz", "public", contains=b'"database"')],
    "favicon": [Check(lambda w: "/favicon.ico", "public", expect=301)],  # to the site's own static SVG
    # accounts
    "signup": [
        Check(lambda w: "/accounts/signup/", "public", signed_in=302),  # signed in: off to the home page
        Check(lambda w: "/accounts/signup/", "public", "post", data={"username": ""}, signed_in=302),
    ],
    "login": [
        Check(lambda w: "/accounts/login/", "public"),
        Check(lambda w: "/accounts/login/", "public", "post", data={"username": "x", "password": "y"}),
    ],
    "logout": [Check(lambda w: "/accounts/logout/", "public", "post", expect=302)],
    "password_change": [
        Check(lambda w: "/accounts/password/", "user"),
        Check(lambda w: "/accounts/password/", "user", "post", data={"old_password": "wrong"}),
    ],
    "password_change_done": [Check(lambda w: "/accounts/password/done/", "user")],
    # pages
    "home": [Check(lambda w: "/", "user", contains=b"Private", leak=b"Private")],
    "session_new": [Check(lambda w: "/sessions/new/", "user")],
    "session_detail": [Check(lambda w: f"/sessions/{w.session.pk}/", "owner", contains=b"Private")],
    "session_people_cards": [Check(lambda w: f"/sessions/{w.session.pk}/people/?all=1", "owner")],
    "session_rename": [
        Check(lambda w: f"/sessions/{w.session.pk}/rename/", "owner", "post", 302, {"title": "Renamed"}, after=_renamed)
    ],
    "session_delete": [Check(lambda w: f"/sessions/{w.victim.pk}/delete/", "owner", "post", 302, after=_session_gone)],
    "session_reanalyse": [
        Check(lambda w: f"/sessions/{w.session.pk}/reanalyse/", "owner", "post", 302, after=_reanalysis_asked)
    ],
    # media: the authorising views (MEDIA_URL itself is not served: test_media_url_is_not_served)
    "session_media": [
        Check(lambda w: f"/sessions/{w.session.pk}/media/original/", "owner", contains=MEDIA_BYTES),
        Check(lambda w: f"/sessions/{w.session.pk}/media/playable/", "owner", contains=MEDIA_BYTES),
        Check(lambda w: f"/sessions/{w.session.pk}/media/other/", "owner", expect=404),
    ],
    "person_thumbnail": [Check(lambda w: f"/people/thumbnails/{w.thumbnail.pk}/", "owner", contains=b"fakejpeg")],
    "session_export_observations": [
        Check(lambda w: f"/sessions/{w.session.pk}/export/observations.csv", "owner"),
        Check(lambda w: f"/sessions/{w.session.pk}/export/observations.json", "owner"),
    ],
    "session_export_people": [Check(lambda w: f"/sessions/{w.session.pk}/export/people.csv", "owner")],
    "session_export_markers": [
        Check(lambda w: f"/sessions/{w.session.pk}/export/markers.csv", "owner", contains=b"mine")
    ],
    # REST API
    "api_sessions": [
        Check(lambda w: "/api/sessions/", "user", api=True, contains=b"Private", leak=b"Private"),
        Check(lambda w: "/api/sessions/", "user", "post", 400, {"title": "no file"}, api=True),
    ],
    "api_session": [Check(lambda w: f"/api/sessions/{w.session.pk}/", "owner", api=True, contains=b"Private")],
    "api_session_people": [Check(lambda w: f"/api/sessions/{w.session.pk}/people/", "owner", api=True)],
    "api_session_timeline": [Check(lambda w: f"/api/sessions/{w.session.pk}/timeline/", "owner", api=True)],
    "api_session_markers": [
        Check(lambda w: f"/api/sessions/{w.session.pk}/markers/", "owner", api=True, contains=b"mine"),
        Check(
            lambda w: f"/api/sessions/{w.session.pk}/markers/",
            "owner",
            "post",
            201,
            {"time": 2.0, "note": "new"},
            api=True,
            json_body=True,
        ),
    ],
    "api_session_marker": [
        Check(
            lambda w: f"/api/sessions/{w.session.pk}/markers/{w.marker.pk}/",
            "owner",
            "delete",
            204,
            api=True,
            after=_marker_gone,
        )
    ],
    "api_session_summaries": [
        Check(lambda w: f"/api/sessions/{w.session.pk}/summaries/", "owner", api=True, contains=b"private"),
        Check(lambda w: f"/api/sessions/{w.session.pk}/summaries/", "owner", "post", 400, {"backend": "x"}, api=True),
    ],
    "api_session_summary": [
        Check(
            lambda w: f"/api/sessions/{w.session.pk}/summaries/{w.extra['summary'].pk}/",
            "owner",
            api=True,
            contains=b"private",
        )
    ],
    "api_session_summary_cancel": [
        Check(
            lambda w: f"/api/sessions/{w.session.pk}/summaries/{w.extra['summary'].pk}/cancel/",
            "owner",
            "post",
            api=True,
            after=_summary_cancelled,
        )
    ],
    # summaries pages and the LLM settings
    "summary_create": [
        Check(lambda w: f"/sessions/{w.session.pk}/summaries/", "owner", "post", 302, {"backend": "nonsense"})
    ],
    "summary_cancel": [
        Check(
            lambda w: f"/sessions/{w.session.pk}/summaries/{w.extra['summary'].pk}/cancel/",
            "owner",
            "post",
            302,
            after=_summary_cancelled,
        )
    ],
    "llm_settings": [
        Check(lambda w: "/settings/llm/", "user", contains=b"owner-llm.example", leak=b"owner-llm.example"),
        Check(lambda w: "/settings/llm/", "user", "post", 302, {"remote_url": "", "remote_model": ""}),
    ],
    # people and privacy
    "people": [Check(lambda w: "/people/", "user", contains=b"Secret Person", leak=b"Secret Person")],
    "people_merge": [
        Check(
            lambda w: "/people/merge/",
            "user",
            "post",
            302,
            {"keep": "{person}", "other": "{person2}"},
            other_gets=400,  # the owner's people are not theirs to choose
            unchanged=_both_people,
            after=_merged,
        )
    ],
    "person_detail": [Check(lambda w: f"/people/{w.person.pk}/", "owner", contains=b"Secret Person")],
    "merge_undo": [
        Check(lambda w: f"/people/merges/{w.extra['merge'].pk}/undo/", "owner", "post", 302, after=_merge_undone)
    ],
    # the world's original is not a video: the owner too gets 404 (no faces to cut), never another's crop
    "person_track_faces": [
        Check(lambda w: f"/people/{w.person.pk}/tracks/{w.extra['track'].pk}/faces.jpg", "owner", expect=404)
    ],
    "person_rename": [
        Check(
            lambda w: f"/people/{w.person.pk}/rename/", "owner", "post", 302, {"name": "Renamed"}, after=_person_renamed
        )
    ],
    "person_consent": [
        Check(lambda w: f"/people/{w.person.pk}/consent/", "owner", "post", 302, {"consent_given": "1"})
    ],
    "person_split": [Check(lambda w: f"/people/{w.person.pk}/split/", "owner", "post", 400, {"track": "0"})],
    "person_delete": [
        Check(
            lambda w: f"/people/{w.extra['person2'].pk}/delete/",
            "owner",
            "post",
            302,
            {"observations": "remove"},
            after=_person2_gone,
        )
    ],
    "person_flag_dismiss": [
        Check(lambda w: f"/people/{w.person.pk}/flag/dismiss/", "owner", "post", 302, after=_flag_dismissed)
    ],
    "suggestion_answer": [
        Check(
            lambda w: f"/people/suggestions/{w.extra['suggestion'].pk}/",
            "owner",
            "post",
            302,
            {"answer": "reject"},
            after=_suggestion_rejected,
        )
    ],
    "api_suggestions": [
        Check(lambda w: "/api/people/suggestions/", "user", api=True, contains=b"Second Person", leak=b"Second Person")
    ],
    "api_suggestion_confirm": [
        Check(
            lambda w: f"/api/people/suggestions/{w.extra['suggestion'].pk}/confirm/",
            "owner",
            "post",
            api=True,
            contains=b"Secret Person",
            after=_merged,
        )
    ],
    "api_suggestion_reject": [
        Check(
            lambda w: f"/api/people/suggestions/{w.extra['suggestion'].pk}/reject/",
            "owner",
            "post",
            api=True,
            after=_suggestion_rejected,
        )
    ],
    "privacy_settings": [
        Check(lambda w: "/privacy/", "user"),
        Check(lambda w: "/privacy/", "user", "post", 302, {"retention_days": "30"}, after=_personal_retention),
    ],
    "audit_log": [Check(lambda w: "/privacy/audit/", "user")],
    # names worker hosts: staff only (tests/test_workers_page.py checks what it shows)
    "workers": [Check(lambda w: "/staff/workers/", "staff", contains=b'id="workers"')],
    "account_delete": [
        Check(
            lambda w: "/privacy/delete-account/",
            "user",
            "post",
            302,
            {"password": "wrong"},
            unchanged=_owner_exists,
            after=_owner_exists,
        )
    ],
    # API tokens: each user's own list (never another's), revoking another user's token is 404
    "api_tokens": [
        Check(lambda w: "/settings/tokens/", "user", contains=b"owner-token", leak=b"owner-token"),
        Check(lambda w: "/settings/tokens/", "user", "post", data={"name": "new"}, contains=b'id="new-token"'),
    ],
    "api_token_revoke": [
        Check(
            lambda w: f"/settings/tokens/{w.extra['token'].pk}/revoke/",
            "owner",
            "post",
            302,
            after=_token_gone,
        )
    ],
    # projects: each user's own list; a project's page and members are its members' (others: 404)
    "projects": [
        Check(lambda w: "/projects/", "user", contains=b"Team Project", leak=b"Team Project"),
        Check(lambda w: "/projects/", "user", "post", 302, {"name": "New Project"}),
    ],
    "project_detail": [Check(lambda w: f"/projects/{w.extra['team'].pk}/", "owner", contains=b"team-analyst")],
    "project_member_add": [
        Check(
            lambda w: f"/projects/{w.extra['team'].pk}/members/",
            "owner",
            "post",
            302,
            {"username": "intruder", "role": "viewer"},
            after=lambda w: _role(w, w.other, "viewer"),
        )
    ],
    "project_member_remove": [
        Check(
            lambda w: f"/projects/{w.extra['team'].pk}/members/{w.extra['viewer'].pk}/remove/",
            "owner",
            "post",
            302,
            after=lambda w: _role(w, w.extra["viewer"], None),
        )
    ],
    "project_retention": [
        Check(
            lambda w: f"/projects/{w.extra['team'].pk}/retention/",
            "owner",
            "post",
            302,
            {"retention_days": "30"},
            after=lambda w: _retention(w, w.extra["team"], 30),
        )
    ],
    "project_delete": [
        Check(
            lambda w: f"/projects/{w.extra['empty_project'].pk}/delete/",
            "owner",
            "post",
            302,
            after=lambda w: _project_gone(w, "empty_project"),
        )
    ],
    # the project's audit log: its owners' (analysts and viewers 403: ROLES; tests/projects/test_audit_log.py)
    "project_log": [Check(lambda w: f"/projects/{w.extra['team'].pk}/log/", "owner", contains=b'id="project-log"')],
    "project_log_csv": [
        Check(lambda w: f"/projects/{w.extra['team'].pk}/log.csv", "owner", contains=b"created,actor,role,action")
    ],
    "api_project_members": [
        Check(lambda w: f"/api/projects/{w.extra['team'].pk}/members/", "owner", api=True, contains=b"team-viewer"),
        Check(
            lambda w: f"/api/projects/{w.extra['team'].pk}/members/",
            "owner",
            "post",
            201,
            {"username": "intruder", "role": "analyst"},
            api=True,
            json_body=True,
            after=lambda w: _role(w, w.other, "analyst"),
        ),
    ],
    "project_invitation_create": [
        Check(
            lambda w: f"/projects/{w.extra['team'].pk}/invitations/",
            "owner",
            "post",
            data={"role": "analyst"},
            contains=b'id="invite-link"',
        )
    ],
    "project_invitation_withdraw": [
        Check(
            lambda w: f"/projects/{w.extra['team'].pk}/invitations/{w.extra['invitation'].pk}/withdraw/",
            "owner",
            "post",
            302,
            after=_invitation_withdrawn,
        )
    ],
    # an invitation link: anyone may open it (anonymous: sign-up form; signed in: join, or "already a
    # member"); POSTs to a token that is not one answer 404 and change nothing (tests/projects)
    "invitation": [
        Check(lambda w: f"/invite/{w.extra['invite_token']}/", "public", contains=b"Team Project"),
        Check(lambda w: "/invite/not-a-token/", "public", "post", 404, {"username": "x"}),
    ],
    "api_project_invitations": [
        Check(lambda w: f"/api/projects/{w.extra['team'].pk}/invitations/", "owner", api=True, contains=b'"viewer"'),
        Check(
            lambda w: f"/api/projects/{w.extra['team'].pk}/invitations/",
            "owner",
            "post",
            201,
            {"role": "analyst"},
            api=True,
            json_body=True,
            contains=b'"link"',
        ),
    ],
    "api_project_invitation": [
        Check(
            lambda w: f"/api/projects/{w.extra['team'].pk}/invitations/{w.extra['invitation'].pk}/",
            "owner",
            "delete",
            204,
            api=True,
            after=_invitation_withdrawn,
        )
    ],
    "api_projects": [
        Check(lambda w: "/api/projects/", "user", api=True, contains=b"Team Project", leak=b"Team Project"),
        Check(lambda w: "/api/projects/", "user", "post", 201, {"name": "New Project"}, api=True, json_body=True),
    ],
    "api_project": [
        Check(lambda w: f"/api/projects/{w.extra['team'].pk}/", "owner", api=True, contains=b"Team Project"),
        Check(
            lambda w: f"/api/projects/{w.extra['team'].pk}/",
            "owner",
            "patch",
            200,
            {"name": "Renamed Team"},
            api=True,
            json_body=True,
            after=lambda w: _project_named(w, "Renamed Team"),
        ),
        Check(
            lambda w: f"/api/projects/{w.extra['empty_project'].pk}/",
            "owner",
            "delete",
            204,
            api=True,
            after=lambda w: _project_gone(w, "empty_project"),
        ),
    ],
    "api_project_member": [
        Check(
            lambda w: f"/api/projects/{w.extra['team'].pk}/members/{w.extra['viewer'].pk}/",
            "owner",
            "patch",
            200,
            {"role": "analyst"},
            api=True,
            json_body=True,
            after=lambda w: _role(w, w.extra["viewer"], "analyst"),
        ),
        Check(
            lambda w: f"/api/projects/{w.extra['team'].pk}/members/{w.extra['viewer'].pk}/",
            "owner",
            "delete",
            204,
            api=True,
            after=lambda w: _role(w, w.extra["viewer"], None),
        ),
    ],
    # studies: the team project's study (its owner), by page and API
    "study": [Check(lambda w: f"/projects/{w.extra['team'].pk}/study/", "owner", contains=b"T01")],
    "study_edit": [
        Check(
            lambda w: f"/projects/{w.extra['team'].pk}/study/edit/",
            "owner",
            "post",
            302,
            {"what": "add_condition", "label": "Audited"},
            after=lambda w: _condition_added(w, "Audited"),
        )
    ],
    "api_study": [Check(_study_api(""), "owner", api=True, contains=b"T01")],
    "api_study_participants": [
        Check(_study_api("participants/"), "owner", api=True, contains=b"T01"),
        Check(_study_api("participants/"), "owner", "post", 201, {"code": "T02"}, api=True, json_body=True),
    ],
    "api_study_participant": [
        Check(
            _study_obj("participants", "t_participant"),
            "owner",
            "patch",
            200,
            {"note": "n"},
            api=True,
            json_body=True,
            contains=b'"note":"n"',
        ),
        Check(_study_obj("participants", "t_participant"), "owner", "delete", 204, api=True),
    ],
    "api_study_conditions": [
        Check(_study_api("conditions/"), "owner", api=True, contains=b"TeamCond"),
        Check(_study_api("conditions/"), "owner", "post", 201, {"label": "New"}, api=True, json_body=True),
    ],
    "api_study_condition": [Check(_study_obj("conditions", "t_condition"), "owner", "delete", 204, api=True)],
    "api_study_assignments": [
        Check(_study_api("assignments/"), "owner", api=True, contains=b"TeamCond"),
        Check(
            _study_api("assignments/"),
            "owner",
            "post",
            201,
            {"condition": "TeamCond", "session": "{t_session}", "start": 1, "end": 2},
            api=True,
            json_body=True,
        ),
    ],
    "api_study_assignment": [Check(_study_obj("assignments", "t_assignment"), "owner", "delete", 204, api=True)],
    "api_study_baseline": [
        Check(_study_api("baseline/"), "owner", api=True, contains=b'"mode":"none"'),
        Check(
            _study_api("baseline/"),
            "owner",
            "put",
            200,
            {"mode": "first", "first_seconds": 3},
            api=True,
            json_body=True,
            contains=b'"mode":"first"',
        ),
    ],
    "api_study_comparison": [
        Check(_study_api("comparison/?conditions=TeamCond"), "owner", api=True, contains=b'"conditions"')
    ],
    "api_study_lines": [Check(_study_api("lines/"), "owner", api=True, contains=b"sessions")],
    "api_study_event_locked": [Check(_study_api("event-locked/?event=team%20note"), "owner", api=True)],
    "api_study_export_observations": [Check(_study_api("export/observations.csv"), "owner", api=True)],
    "api_study_export_comparison": [Check(_study_api("export/comparison.csv?conditions=TeamCond"), "owner", api=True)],
    "api_study_export_elan": [
        Check(
            lambda w: f"{_study_api('export/sessions/')(w)}{w.extra['t_session'].pk}.eaf",
            "owner",
            api=True,
            contains=b"ANNOTATION_DOCUMENT",
        )
    ],
    "api_schema": [Check(lambda w: "/api/schema/", "public")],  # no user data: the schema of the API
    "api_docs": [Check(lambda w: "/api/docs/", "public")],
}

# websocket route pattern → (path for the world, access)
WS_ROUTES: dict[str, tuple[Callable[[World], str], str]] = {
    "ws/ping/": (lambda w: "/ws/ping/", "user"),
    "ws/upload/": (lambda w: "/ws/upload/", "user"),
    "ws/live/": (lambda w: "/ws/live/", "user"),
    "ws/sessions/<int:session_id>/": (lambda w: f"/ws/sessions/{w.session.pk}/", "owner"),
}


def iter_url_patterns(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, str]]:
    """(namespace, qualified name or "", route) of every pattern, recursing into includes."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace or ""]))
            yield from iter_url_patterns(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            yield namespace, name, prefix + str(p.pattern)


def iter_ws_routes() -> Iterator[str]:
    """Route patterns of the websocket URLRouter inside the real ASGI application's middleware."""
    from emotionsite.asgi import application

    app = application.application_mapping["websocket"]
    while not hasattr(app, "routes"):
        app = getattr(app, "application", None) or app.inner
    for route in app.routes:
        yield str(route.pattern)


def test_every_url_pattern_has_a_row():
    site = [(ns, name, route) for ns, name, route in iter_url_patterns() if ns != "admin"]
    unnamed = [route for _, name, route in site if not name]
    missing = sorted({name for _, name, _ in site if name} - ROUTES.keys())
    stale = sorted(ROUTES.keys() - {name for _, name, _ in site})
    assert not unnamed, f"URL patterns without a name cannot be audited: {unnamed}; give each a name= and a row"
    assert not missing, (
        f"routes without an access-control row: {missing}. Add a row for each to ROUTES in "
        "tests/hardening/test_access_audit.py saying what anonymous / another user / the owner get."
    )
    assert not stale, f"rows for routes that no longer exist: {stale}; remove them from ROUTES"


def test_every_websocket_route_has_a_row():
    routes = set(iter_ws_routes())
    missing = sorted(routes - WS_ROUTES.keys())
    assert not missing, (
        f"websocket routes without an access-control row: {missing}. Add each to WS_ROUTES in "
        "tests/hardening/test_access_audit.py."
    )
    assert not (WS_ROUTES.keys() - routes), "rows for websocket routes that no longer exist"


def _data(check: Check, world: World | None) -> dict[str, Any] | None:
    """The row's form data; "{person}" / "{person2}" stand for the world's people's ids, "{t_session}" for
    the team's session (strings in a form, numbers in a JSON body)."""
    if check.data is None or world is None:
        return check.data
    ids = {
        "{person}": str(world.person.pk),
        "{person2}": str(world.extra["person2"].pk),
        "{t_session}": str(world.extra["t_session"].pk),
    }
    if check.json_body:  # a JSON body's ids are numbers, as the API's schema states
        ids = {k: int(v) for k, v in ids.items()}
    return {k: ids.get(v, v) if isinstance(v, str) else v for k, v in check.data.items()}


def _send(client: Client, check: Check, url: str, world: World | None = None):
    kwargs: dict[str, Any] = {}
    data = _data(check, world)
    if data is not None:
        kwargs["data"] = json.dumps(data) if check.json_body else data
        if check.json_body:
            kwargs["content_type"] = "application/json"
    return getattr(client, check.method)(url, **kwargs)


def _body(response) -> bytes:
    return read_body(response)


def _assert_refuses_anonymous(response, check: Check, url: str) -> None:
    if check.api:
        assert response.status_code in (401, 403), f"anonymous {check.method.upper()} {url}: {response.status_code}"
    else:
        login = resolve_url(settings.LOGIN_URL)
        assert response.status_code == 302, f"anonymous {check.method.upper()} {url}: {response.status_code}"
        assert response["Location"].startswith(login), response["Location"]


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_access(world, name):
    for check in ROUTES[name]:
        url = check.url(world)
        label = f"{name}: {check.method.upper()} {url}"
        anonymous = _send(world.client(None), check, url, world)
        if check.access == "public":
            assert anonymous.status_code == check.expect, f"{label} anonymous: {anonymous.status_code}"
        else:
            _assert_refuses_anonymous(anonymous, check, url)
        expect = check.expect if check.signed_in is None else check.signed_in
        other = _send(world.client("other"), check, url, world)
        if check.access == "public":
            assert other.status_code == expect, f"{label} signed in: {other.status_code}"
        elif check.access in ("owner", "staff"):
            assert other.status_code == 404, f"{label} another user: {other.status_code}, expected 404"
        elif check.access == "user":
            wanted = check.expect if check.other_gets is None else check.other_gets
            assert other.status_code == wanted, f"{label} another user: {other.status_code}"
            if check.leak:
                assert check.leak not in _body(other), f"{label}: another user sees the owner's {check.leak!r}"
            if check.unchanged:
                check.unchanged(world)
        owner = _send(world.client("owner"), check, url, world)
        if check.access == "staff":
            assert owner.status_code == 404, f"{label} a user who is not staff: {owner.status_code}, expected 404"
            owner = _send(world.client("staff"), check, url, world)
        assert owner.status_code == expect, f"{label} owner: {owner.status_code}, expected {expect}"
        if check.contains:
            assert check.contains in _body(owner), f"{label}: {check.contains!r} missing for the owner"
        if check.after:
            check.after(world)


@pytest.mark.parametrize("name", sorted(n for n, checks in ROUTES.items() if any(c.api for c in checks)))
def test_api_routes_with_tokens(world, name):
    """The same answers with ``Authorization: Token`` (scripts, no session, no CSRF): another user's
    token → 404 on owned rows; a wrong token → 401."""
    from api_tokens.services import create_token

    tokens = {who: create_token(getattr(world, who), "audit")[1] for who in ("owner", "other")}
    for check in (c for c in ROUTES[name] if c.api):
        url = check.url(world)
        bad = _send(Client(HTTP_AUTHORIZATION="Token not-a-real-token"), check, url, world)
        assert bad.status_code == 401, f"{name}: a wrong token got {bad.status_code}"
        other = _send(Client(HTTP_AUTHORIZATION=f"Token {tokens['other']}"), check, url, world)
        wanted = 404 if check.access == "owner" else check.expect
        assert other.status_code == wanted, f"{name}: another user's token got {other.status_code}"
        if check.leak:
            assert check.leak not in _body(other)
        owner = _send(Client(HTTP_AUTHORIZATION=f"Token {tokens['owner']}"), check, url, world)
        assert owner.status_code == check.expect, f"{name}: the owner's token got {owner.status_code}"


def test_admin_is_staff_only(world):
    """Every registered model's changelist, add and change pages: anonymous and non-staff users go to the
    admin login; staff get the page."""
    from django.test import RequestFactory

    login = resolve_url("admin:login")
    staff_request = RequestFactory().get("/admin/")
    staff_request.user = world.staff
    urls = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls.append(base)
        if model_admin.has_add_permission(staff_request):  # some (axes' logs) are read-only even for staff
            urls.append(base + "add/")
        obj = model._default_manager.first()
        if obj is not None:
            urls.append(f"{base}{obj.pk}/change/")
    assert "/admin/sessions_app/session/" in urls, "the session admin is expected to be registered"
    for who in (None, "owner", "other"):
        client = world.client(who)
        for url in urls:
            r = client.get(url)
            assert r.status_code == 302 and r["Location"].startswith(login), f"{who or 'anonymous'} {url}"
    staff = world.client("staff")
    for url in urls:
        assert staff.get(url).status_code == 200, url
    # a write without staff rights changes nothing
    r = world.client("owner").post(f"/admin/sessions_app/session/{world.session.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302 and Session.objects.filter(pk=world.session.pk).exists()


def test_media_url_is_not_served(world):
    """Stored files are reachable only through the authorising views, never as static MEDIA_URL paths."""
    for name in (world.session.original.name, world.thumbnail.image.name):
        for who in (None, "other", "owner"):
            assert world.client(who).get(settings.MEDIA_URL + name).status_code == 404, (who, name)
    assert not str(settings.MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))


def _state() -> tuple:
    """What the state-changing routes can change (extend it with new kinds of rows)."""
    from django.contrib.auth import get_user_model

    from api_tokens.models import ApiToken
    from projects.models import Invitation, Membership, Project
    from studies.models import Condition, Participant, ParticipantLink, SessionCondition, StudySettings
    from summaries.models import LLMSettings, Summary

    return (
        sorted(Session.objects.values_list("pk", "title")),
        sorted(Marker.objects.values_list("pk", "time", "note")),
        sorted(Person.objects.values_list("pk", "name", "consent_given")),
        sorted(PersonSuggestion.objects.values_list("pk", "status")),
        sorted(PersonFlag.objects.values_list("pk", "status")),
        sorted(Summary.objects.values_list("pk", "status", "cancel_requested")),
        sorted(LLMSettings.objects.values_list("pk", "remote_url", "remote_model")),
        get_user_model().objects.count(),
        sorted(ApiToken.objects.values_list("pk", flat=True)),
        sorted(Membership.objects.values_list("project_id", "user_id", "role")),
        sorted(Project.objects.values_list("pk", "name")),
        sorted(Invitation.objects.values_list("pk", "withdrawn_at", "used_at")),
        sorted(Participant.objects.values_list("pk", "code", "note")),
        sorted(ParticipantLink.objects.values_list("pk", "person_id", "participant_id")),
        sorted(Condition.objects.values_list("pk", "label")),
        sorted(SessionCondition.objects.values_list("pk", "condition_id", "session_id", "start", "end")),
        sorted(StudySettings.objects.values_list("pk", "mode", "op", "first_seconds")),
    )


def _state_changing() -> list[tuple[str, int]]:
    return [(n, i) for n, checks in sorted(ROUTES.items()) for i, c in enumerate(checks) if c.method in STATE_CHANGING]


@pytest.mark.parametrize(("name", "index"), _state_changing())
def test_state_changing_requests_need_csrf(world, name, index):
    check = ROUTES[name][index]
    who = "owner" if check.access != "public" else None
    client = world.client(who, enforce_csrf_checks=True)
    before = _state()
    r = _send(client, check, check.url(world), world)
    assert r.status_code == 403, f"{name}: {check.method.upper()} without a CSRF token got {r.status_code}"
    assert _state() == before, f"{name}: a request without a CSRF token changed something"


def test_admin_post_needs_csrf(world):
    client = world.client("staff", enforce_csrf_checks=True)
    r = client.post(f"/admin/sessions_app/session/{world.session.pk}/delete/", {"post": "yes"})
    assert r.status_code == 403 and Session.objects.filter(pk=world.session.pk).exists()


def test_pages_send_security_headers(world):
    for who, url in ((None, "/accounts/login/"), ("owner", "/"), ("owner", f"/sessions/{world.session.pk}/")):
        r = world.client(who).get(url)
        assert r["X-Content-Type-Options"] == "nosniff", url
        assert r["Referrer-Policy"] == "same-origin", url
        assert r["X-Frame-Options"] == "DENY", url
    r = world.client("owner").get(f"/api/sessions/{world.session.pk}/")
    assert r["X-Content-Type-Options"] == "nosniff" and r["X-Frame-Options"] == "DENY"


@pytest.mark.django_db(transaction=True)
def test_websocket_routes_access(world):
    """Anonymous → close 4401; another user → 4404 on owned routes; the owner (or any user) connects."""
    cookies = {who: cookie_for(Client(), getattr(world, who)) for who in ("owner", "other")}
    cookies["viewer"] = cookie_for(Client(), world.extra["viewer"])

    async def attempt(path: str, cookie: bytes | None) -> tuple[bool, int | None]:
        comm = communicator(path, cookie)
        connected, code = await comm.connect(timeout=10)
        if connected:
            await comm.disconnect()
        return connected, code

    async def run() -> None:
        for route, (build, access) in WS_ROUTES.items():
            path = build(world)
            assert await attempt(path, None) == (False, 4401), f"anonymous {route}"
            other = await attempt(path, cookies["other"])
            assert other == ((False, 4404) if access == "owner" else (True, None)), f"another user {route}: {other}"
            connected, _ = await attempt(path, cookies["owner"])
            assert connected, f"owner {route}"
        # a shared project's session: its viewer follows it (viewing is every role's); a non-member gets 4404
        shared = f"/ws/sessions/{world.extra['t_session'].pk}/"
        assert (await attempt(shared, cookies["viewer"]))[0], "the viewer of the shared project"
        assert await attempt(shared, cookies["other"]) == (False, 4404)

    async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_websocket_foreign_origin_refused(world):
    """A page on another site cannot open the sockets with the user's cookie (cross-site websocket hijacking)."""
    from channels.testing import WebsocketCommunicator

    from emotionsite.asgi import application

    cookie = cookie_for(Client(), world.owner)

    async def run() -> None:
        for route, (build, _) in WS_ROUTES.items():
            for origin in (b"http://evil.example", b"http://localhost.evil.example", b"null"):
                comm = WebsocketCommunicator(
                    application, build(world), headers=[(b"origin", origin), (b"cookie", cookie)]
                )
                connected, _ = await comm.connect(timeout=10)
                if connected:
                    await comm.disconnect()
                assert not connected, f"{route} accepted Origin {origin!r}"

    async_to_sync(run)()


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "-production-secret-key-with-enough-entropy-" + "q" * 20,
    "EMOTION_FERNET_KEYS": "ZGV2LW9ubHktZmVybmV0LWtleS0zMi1ieXRlcy0hISE=",
    "ALLOWED_HOSTS": "emotion.example.org,testserver",
}
# Run outside pytest (settings relax hardening when pytest is imported): HTTPS headers and redirect.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
c = Client()
secure = c.get("/accounts/login/", secure=True)
plain = c.get("/accounts/login/")
print(json.dumps({
    "secret": settings.SECRET_KEY, "fernet": settings.FERNET_KEYS,
    "status": secure.status_code, "hsts": secure.get("Strict-Transport-Security"),
    "nosniff": secure.get("X-Content-Type-Options"), "frame": secure.get("X-Frame-Options"),
    "referrer": secure.get("Referrer-Policy"), "plain": plain.status_code, "location": plain.get("Location"),
    "cookie_secure": settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE,
}))
"""


def _production(env_changes: dict[str, str], *args: str):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY_FILE", "EMOTION_FERNET_KEYS_FILE"}}
    env.update(env_changes, DJANGO_SETTINGS_MODULE="emotionsite.settings")
    env = {k: v for k, v in env.items() if v is not None}
    cmd = [sys.executable, *args] if args else [sys.executable, "-c", PROBE]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_production_https_headers_and_secrets_from_environment():
    result = _production(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["secret"] == PRODUCTION_ENV["SECRET_KEY"] and probe["fernet"] == [
        PRODUCTION_ENV["EMOTION_FERNET_KEYS"]
    ]
    assert probe["status"] == 200
    assert probe["hsts"].startswith("max-age=31536000") and "includeSubDomains" in probe["hsts"]
    assert (probe["nosniff"], probe["frame"], probe["referrer"]) == ("nosniff", "DENY", "same-origin")
    assert probe["plain"] == 301 and probe["location"].startswith("https://")
    assert probe["cookie_secure"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "EMOTION_FERNET_KEYS"])
def test_production_requires_secrets_from_environment(missing, tmp_path):
    """With DEBUG=0 there is no built-in fallback for either secret: start-up stops with a clear reason
    (an EMOTION_VAR_DIR without the generated var/secrets/ files)."""
    result = _production({**PRODUCTION_ENV, missing: None, "EMOTION_VAR_DIR": str(tmp_path)}, "manage.py", "check")
    assert result.returncode != 0 and f"{missing} must be set when DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


INTERNAL_TARGETS = [
    "http://127.0.0.1:8000/v1",  # loopback
    "http://localhost/v1",  # loopback by name (resolved)
    "http://[::1]:11434/v1",  # IPv6 loopback
    "http://0.0.0.0/v1",  # unspecified: reaches local services
    "http://10.1.2.3/v1",  # private
    "http://172.16.0.1/v1",
    "http://192.168.1.10:8080/v1",
    "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
    "http://[fe80::1]/v1",  # IPv6 link-local
    "http://[::ffff:127.0.0.1]/v1",  # IPv4-mapped loopback
    "http://2130706433/v1",  # 127.0.0.1 written as one number
    "http://100.64.0.1/v1",  # carrier-grade NAT
]


@pytest.mark.parametrize("url", INTERNAL_TARGETS)
def test_llm_settings_refuse_internal_targets(world, url):
    """The remote-LLM address filter (summaries/netguard.py) on the user's path, the settings page: a URL
    that points at the server's own network is refused with a message and never stored. Requests are
    checked again at run time and pinned to the checked address: tests/summaries/test_remote.py
    (loopback refused unless allow-listed, DNS rebinding) and tests/summaries/test_netguard.py."""
    from summaries.models import LLMSettings

    r = world.client("owner").post("/settings/llm/", {"remote_url": url, "remote_model": "m", "api_key": ""})
    assert r.status_code == 200, f"{url} was accepted ({r.status_code})"
    page = r.content.decode()
    assert "address" in page or "not valid" in page or "could not be resolved" in page, page[:2000]
    assert LLMSettings.objects.get(user=world.owner).remote_url == "https://owner-llm.example/v1"


# --------------------------------------------------------------------------- roles in a shared project
@dataclass(frozen=True)
class RoleCheck:
    """What the analyst and the viewer of the world's shared project get (a non-member: 404 on owned
    rows, as in ROUTES). The viewer goes first, so an analyst's allowed change cannot hide a viewer's."""

    url: Callable[[World], str]
    analyst: int
    viewer: int
    method: str = "get"
    data: Callable[[World], dict[str, Any]] | None = None
    api: bool = False
    after: Callable[[World], None] | None = None  # once the analyst has run


def _t(key: str) -> Callable[[World], int]:
    return lambda w: w.extra[key].pk


TS = "/sessions/{}/"


def _ts(tail: str = "") -> Callable[[World], str]:
    return lambda w: f"/sessions/{w.extra['t_session'].pk}/{tail}"


def _tp(tail: str = "") -> Callable[[World], str]:
    return lambda w: f"/people/{w.extra['t_person'].pk}/{tail}"


def _api(tail: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/sessions/{w.extra['t_session'].pk}/{tail}"


def _team_renamed(w: World) -> None:
    assert Session.objects.get(pk=w.extra["t_session"].pk).title == "By analyst"


def _team_merged(w: World) -> None:
    assert not Person.objects.filter(pk=w.extra["t_person2"].pk).exists()


R = RoleCheck
# route name → role rows: every route with an "owner" row in ROUTES needs one (test_owner_routes_have_role_rows)
ROLES: dict[str, list[RoleCheck]] = {
    "session_detail": [R(_ts(), 200, 200)],
    "session_people_cards": [R(_ts("people/?all=1"), 200, 200)],
    "session_rename": [R(_ts("rename/"), 302, 403, "post", lambda w: {"title": "By analyst"}, after=_team_renamed)],
    "session_delete": [R(_ts("delete/"), 403, 403, "post")],  # owners only
    "session_reanalyse": [R(_ts("reanalyse/"), 302, 403, "post")],
    "session_media": [R(_ts("media/original/"), 200, 200), R(_ts("media/playable/"), 200, 200)],
    "person_thumbnail": [R(lambda w: f"/people/thumbnails/{w.extra['t_thumbnail'].pk}/", 200, 200)],
    "session_export_observations": [R(_ts("export/observations.csv"), 200, 200)],
    "session_export_people": [R(_ts("export/people.csv"), 200, 200)],
    "session_export_markers": [R(_ts("export/markers.csv"), 200, 200)],
    "api_session": [R(_api(), 200, 200, api=True)],
    "api_session_people": [R(_api("people/"), 200, 200, api=True)],
    "api_session_timeline": [R(_api("timeline/"), 200, 200, api=True)],
    "api_session_markers": [
        R(_api("markers/"), 200, 200, api=True),
        R(_api("markers/"), 201, 403, "post", lambda w: {"time": 2.0, "note": "analyst"}, api=True),
    ],
    "api_session_marker": [
        R(lambda w: f"{_api('markers/')(w)}{w.extra['t_marker'].pk}/", 204, 403, "delete", api=True),
    ],
    "api_session_summaries": [
        R(_api("summaries/"), 200, 200, api=True),
        R(_api("summaries/"), 400, 403, "post", lambda w: {"backend": "x"}, api=True),
    ],
    "api_session_summary": [R(lambda w: f"{_api('summaries/')(w)}{w.extra['t_summary'].pk}/", 200, 200, api=True)],
    "api_session_summary_cancel": [
        R(lambda w: f"{_api('summaries/')(w)}{w.extra['t_summary'].pk}/cancel/", 200, 403, "post", api=True)
    ],
    "summary_create": [R(_ts("summaries/"), 302, 403, "post", lambda w: {"backend": "nonsense"})],
    "summary_cancel": [R(lambda w: f"{_ts('summaries/')(w)}{w.extra['t_summary'].pk}/cancel/", 302, 403, "post")],
    "person_detail": [R(_tp(), 200, 200)],
    "merge_undo": [R(lambda w: f"/people/merges/{w.extra['t_merge'].pk}/undo/", 302, 403, "post")],
    "person_track_faces": [R(lambda w: f"{_tp('tracks/')(w)}{w.extra['t_track'].pk}/faces.jpg", 404, 404)],
    "person_rename": [R(_tp("rename/"), 302, 403, "post", lambda w: {"name": "Named by analyst"})],
    "person_consent": [R(_tp("consent/"), 302, 403, "post", lambda w: {"consent_given": "1"})],
    "person_split": [R(_tp("split/"), 400, 403, "post", lambda w: {"track": "0"})],
    "person_delete": [R(_tp("delete/"), 403, 403, "post", lambda w: {"observations": "keep"})],  # owners only
    "person_flag_dismiss": [R(_tp("flag/dismiss/"), 302, 403, "post")],
    "suggestion_answer": [
        R(
            lambda w: f"/people/suggestions/{w.extra['t_suggestion'].pk}/",
            302,
            403,
            "post",
            lambda w: {"answer": "reject"},
        )
    ],
    "api_suggestion_confirm": [
        R(lambda w: f"/api/people/suggestions/{w.extra['t_suggestion'].pk}/confirm/", 200, 403, "post", api=True)
    ],
    "api_suggestion_reject": [
        R(lambda w: f"/api/people/suggestions/{w.extra['t_suggestion'].pk}/reject/", 200, 403, "post", api=True)
    ],
    # the merge form offers only people the user may change: a viewer's choice is refused like a stranger's
    "people_merge": [
        R(
            lambda w: "/people/merge/",
            302,
            400,
            "post",
            lambda w: {"keep": w.extra["t_person"].pk, "other": w.extra["t_person2"].pk},
            after=_team_merged,
        )
    ],
    "project_detail": [R(lambda w: f"/projects/{w.extra['team'].pk}/", 200, 200)],
    "project_member_add": [
        R(lambda w: f"/projects/{w.extra['team'].pk}/members/", 403, 403, "post", lambda w: {"username": "intruder"})
    ],
    "project_member_remove": [  # removing another member is the owners'; leaving is anyone's (tests/projects)
        R(lambda w: f"/projects/{w.extra['team'].pk}/members/{w.owner.pk}/remove/", 403, 403, "post")
    ],
    "project_retention": [  # the project's settings are its owners'
        R(lambda w: f"/projects/{w.extra['team'].pk}/retention/", 403, 403, "post", lambda w: {"retention_days": "9"})
    ],
    "project_delete": [R(lambda w: f"/projects/{w.extra['team'].pk}/delete/", 403, 403, "post")],
    "project_log": [R(lambda w: f"/projects/{w.extra['team'].pk}/log/", 403, 403)],
    "project_log_csv": [R(lambda w: f"/projects/{w.extra['team'].pk}/log.csv", 403, 403)],
    "project_invitation_create": [
        R(lambda w: f"/projects/{w.extra['team'].pk}/invitations/", 403, 403, "post", lambda w: {"role": "owner"})
    ],
    "project_invitation_withdraw": [
        R(
            lambda w: f"/projects/{w.extra['team'].pk}/invitations/{w.extra['invitation'].pk}/withdraw/",
            403,
            403,
            "post",
        )
    ],
    "api_project_invitations": [  # pending links are the owners' to see
        R(lambda w: f"/api/projects/{w.extra['team'].pk}/invitations/", 403, 403, api=True),
        R(
            lambda w: f"/api/projects/{w.extra['team'].pk}/invitations/",
            403,
            403,
            "post",
            lambda w: {"role": "owner"},
            api=True,
        ),
    ],
    "api_project_invitation": [
        R(
            lambda w: f"/api/projects/{w.extra['team'].pk}/invitations/{w.extra['invitation'].pk}/",
            403,
            403,
            "delete",
            api=True,
        )
    ],
    "api_project_members": [
        R(lambda w: f"/api/projects/{w.extra['team'].pk}/members/", 200, 200, api=True),
        R(
            lambda w: f"/api/projects/{w.extra['team'].pk}/members/",
            403,
            403,
            "post",
            lambda w: {"username": "intruder", "role": "owner"},
            api=True,
        ),
    ],
    "api_project": [
        R(lambda w: f"/api/projects/{w.extra['team'].pk}/", 200, 200, api=True),
        R(lambda w: f"/api/projects/{w.extra['team'].pk}/", 403, 403, "patch", lambda w: {"name": "Ours"}, api=True),
        R(lambda w: f"/api/projects/{w.extra['team'].pk}/", 403, 403, "delete", api=True),
    ],
    "api_project_member": [  # changing or removing another member is the owners'; leaving is anyone's (tests/api)
        R(
            lambda w: f"/api/projects/{w.extra['team'].pk}/members/{w.owner.pk}/",
            403,
            403,
            "patch",
            lambda w: {"role": "viewer"},
            api=True,
        ),
        R(lambda w: f"/api/projects/{w.extra['team'].pk}/members/{w.owner.pk}/", 403, 403, "delete", api=True),
    ],
    # studies: viewing, comparing and exporting are every member's; codes and links the analyst's
    # (Action.PEOPLE), conditions and the baseline too (Action.RECORD); names in exports need Action.PEOPLE
    "study": [R(lambda w: f"/projects/{w.extra['team'].pk}/study/", 200, 200)],
    "study_edit": [
        R(
            lambda w: f"/projects/{w.extra['team'].pk}/study/edit/",
            302,
            403,
            "post",
            lambda w: {"what": "add_condition", "label": "By analyst"},
            after=lambda w: _condition_added(w, "By analyst"),
        ),
        R(
            lambda w: f"/projects/{w.extra['team'].pk}/study/edit/",
            302,
            403,
            "post",
            lambda w: {"what": "add_participant", "code": "T09"},
        ),
    ],
    "api_study": [R(_study_api(""), 200, 200, api=True)],
    "api_study_participants": [
        R(_study_api("participants/"), 200, 200, api=True),
        R(_study_api("participants/"), 201, 403, "post", lambda w: {"code": "T03"}, api=True),
    ],
    "api_study_participant": [
        R(
            _study_obj("participants", "t_participant"),
            200,
            403,
            "patch",
            lambda w: {"link_person": w.extra["t_person2"].pk},
            api=True,
        ),
        R(_study_obj("participants", "t_participant"), 204, 403, "delete", api=True),
    ],
    "api_study_conditions": [
        R(_study_api("conditions/"), 200, 200, api=True),
        R(_study_api("conditions/"), 201, 403, "post", lambda w: {"label": "Analyst's"}, api=True),
    ],
    "api_study_condition": [R(_study_obj("conditions", "t_condition"), 204, 403, "delete", api=True)],
    "api_study_assignments": [
        R(_study_api("assignments/"), 200, 200, api=True),
        R(
            _study_api("assignments/"),
            201,
            403,
            "post",
            lambda w: {"condition": "TeamCond", "session": w.extra["t_session"].pk, "start": 0, "end": 5},
            api=True,
        ),
    ],
    "api_study_assignment": [R(_study_obj("assignments", "t_assignment"), 204, 403, "delete", api=True)],
    "api_study_baseline": [
        R(_study_api("baseline/"), 200, 200, api=True),
        R(_study_api("baseline/"), 200, 403, "put", lambda w: {"mode": "first", "first_seconds": 4}, api=True),
    ],
    "api_study_comparison": [R(_study_api("comparison/?conditions=TeamCond"), 200, 200, api=True)],
    "api_study_lines": [R(_study_api("lines/"), 200, 200, api=True)],
    "api_study_event_locked": [R(_study_api("event-locked/?event=team%20note"), 200, 200, api=True)],
    "api_study_export_observations": [
        R(_study_api("export/observations.csv"), 200, 200, api=True),
        R(_study_api("export/observations.csv?names=1"), 200, 403, api=True),
    ],
    "api_study_export_comparison": [R(_study_api("export/comparison.csv?conditions=TeamCond"), 200, 200, api=True)],
    "api_study_export_elan": [
        R(lambda w: f"{_study_api('export/sessions/')(w)}{w.extra['t_session'].pk}.eaf", 200, 200, api=True)
    ],
}
# owner rows of things outside projects (a user's own token)
NOT_IN_PROJECTS = {"api_token_revoke"}


def test_owner_routes_have_role_rows():
    owned = {name for name, checks in ROUTES.items() if any(c.access == "owner" for c in checks)}
    missing = sorted(owned - NOT_IN_PROJECTS - ROLES.keys())
    assert not missing, (
        f"routes of project objects without role rows: {missing}. Add what an analyst and a viewer get to ROLES "
        "in tests/hardening/test_access_audit.py."
    )
    assert not (ROLES.keys() - ROUTES.keys()), "role rows for routes that no longer exist"


def _send_role(client: Client, check: RoleCheck, world: World):
    kwargs: dict[str, Any] = {}
    if check.data is not None:
        data = check.data(world)
        kwargs = {"data": json.dumps(data), "content_type": "application/json"} if check.api else {"data": data}
    return getattr(client, check.method)(check.url(world), **kwargs)


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_access(world, name):
    """In the shared project: a non-member gets 404 (as for any other user's object), the viewer and the
    analyst what their role allows, 403 where it does not; a refused request changes nothing."""
    for check in ROLES[name]:
        label = f"{name}: {check.method.upper()} {check.url(world)}"
        before = _state()
        stranger = _send_role(world.client("other"), check, world)
        assert stranger.status_code == (400 if name == "people_merge" else 404), f"{label} non-member"
        viewer = _send_role(world.client("viewer"), check, world)
        assert viewer.status_code == check.viewer, f"{label} viewer: {viewer.status_code}, expected {check.viewer}"
        if check.viewer >= 400:
            assert _state() == before, f"{label}: the viewer's refused request changed something"
        analyst = _send_role(world.client("analyst"), check, world)
        assert analyst.status_code == check.analyst, f"{label} analyst: {analyst.status_code}, expected {check.analyst}"
        if check.after:
            check.after(world)
