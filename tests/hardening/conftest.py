"""Fixtures for the hardening tests: a small world of two users, a staff member and owned objects.

Rows of the access audit (test_access_audit.py) build their URLs from a ``World``; a new kind of owned
object gets a line in ``world`` so its routes can be audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from people.models import Person, PersonFlag, PersonMerge, PersonSuggestion, PersonThumbnail
from sessions_app.models import Marker, Session, Track
from tests.sessions.conftest import media_dir  # noqa: F401 - re-exported fixture

MEDIA_BYTES = bytes(range(256)) * 8


@pytest.fixture(autouse=True)
def _staging(settings, tmp_path):
    """Stage uploads in tmp and sample at 2 fps (the worker reads the rate stored on each session)."""
    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    settings.EMOTION_DEFAULT_SAMPLE_FPS = 2.0
    return settings


@dataclass
class World:
    owner: Any
    other: Any
    staff: Any
    session: Session  # done, with original + playable media
    victim: Session  # a second session of the owner, for destructive routes
    person: Person
    thumbnail: PersonThumbnail
    marker: Marker
    extra: dict[str, Any]  # objects later areas add (summaries, LLM settings, ...)

    def client(self, who: str | None, **kwargs) -> Client:
        c = Client(**kwargs)
        if who is not None:
            c.force_login(getattr(self, who, None) or self.extra[who])  # "analyst", "viewer": in extra
        return c


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    users = get_user_model().objects
    owner = users.create_user(username="owner", password=None)
    other = users.create_user(username="intruder", password=None)
    staff = users.create_user(username="staffer", password=None, is_staff=True, is_superuser=True)
    session = Session.objects.create(owner=owner, title="Private", status=Session.Status.DONE, progress=1.0)
    session.original.save("clip.mp4", ContentFile(MEDIA_BYTES), save=False)
    session.playable.name = session.original.name
    session.duration = 10.0
    session.save()
    victim = Session.objects.create(owner=owner, title="Victim", status=Session.Status.DONE, progress=1.0)
    person = Person.objects.create(owner=owner, number=1, name="Secret Person")
    thumbnail = PersonThumbnail(person=person)
    thumbnail.image.save("face.jpg", ContentFile(b"\xff\xd8\xff\xe0fakejpeg"), save=True)
    marker = Marker.objects.create(session=session, author=owner, time=1.0, note="mine")
    from api_tokens.services import create_token
    from summaries.models import LLMSettings, Summary

    extra = {
        "person2": Person.objects.create(owner=owner, number=2, name="Second Person"),
        "summary": Summary.objects.create(session=session, requested_by=owner, backend="heuristic", text="private"),
        "llm": LLMSettings.objects.create(user=owner, remote_url="https://owner-llm.example/v1", remote_model="m"),
        "token": create_token(owner, "owner-token")[0],
    }
    # "Second Person is possibly Secret Person", and Secret Person flagged as possibly several people
    extra["suggestion"] = PersonSuggestion.objects.create(owner=owner, person=person, candidate=extra["person2"])
    extra["flag"] = PersonFlag.objects.create(person=person, groups=[[1], [2]], distance=0.9)
    # one of the person's tracks (its faces are cut from the original on request) and a merge to undo
    extra["track"] = Track.objects.create(session=session, person=person, key="0:1", count=1, last_time=1.0)
    extra["merge"] = PersonMerge.objects.create(
        owner=owner, keep=person, merged_id=10**6, merged_number=9, merged_name="Merged Person"
    )
    extra.update(shared_project(owner, users))
    return World(owner, other, staff, session, victim, person, thumbnail, marker, extra=extra)


def shared_project(owner: Any, users: Any) -> dict[str, Any]:
    """A project the owner shares with an analyst and a viewer, holding one of each kind of object (the
    role rows of the access audit use them), and an empty shared project (to delete)."""
    from projects.models import Membership, Project
    from summaries.models import Summary

    team = Project.objects.create(name="Team Project")
    analyst = users.create_user(username="team-analyst", password=None)
    viewer = users.create_user(username="team-viewer", password=None)
    for user, role in ((owner, "owner"), (analyst, "analyst"), (viewer, "viewer")):
        Membership.objects.create(project=team, user=user, role=role)
    empty = Project.objects.create(name="Empty Project")
    Membership.objects.create(project=empty, user=owner, role="owner")
    session = Session.objects.create(
        owner=owner, project=team, title="Team Session", status=Session.Status.DONE, progress=1.0, duration=10.0
    )
    session.original.save("team.mp4", ContentFile(MEDIA_BYTES), save=False)
    session.playable.name = session.original.name
    session.save()
    person = Person.objects.create(owner=owner, project=team, number=1, name="Team Person")
    person2 = Person.objects.create(owner=owner, project=team, number=2, name="Team Second")
    thumbnail = PersonThumbnail(person=person)
    thumbnail.image.save("team.jpg", ContentFile(b"\xff\xd8\xff\xe0teamjpeg"), save=True)
    from projects.invitations import create_invitation

    invitation, token = create_invitation(owner, team, "viewer")  # a pending link into the team, as a viewer
    from studies.models import Condition, Participant, ParticipantLink, SessionCondition

    participant = Participant.objects.create(project=team, code="T01")
    ParticipantLink.objects.create(person=person, participant=participant)
    condition = Condition.objects.create(project=team, label="TeamCond")
    return {
        "t_participant": participant,
        "t_condition": condition,
        "t_assignment": SessionCondition.objects.create(session=session, condition=condition),
        "team": team,
        "invitation": invitation,
        "invite_token": token,
        "empty_project": empty,
        "analyst": analyst,
        "viewer": viewer,
        "t_session": session,
        "t_person": person,
        "t_person2": person2,
        "t_thumbnail": thumbnail,
        "t_marker": Marker.objects.create(session=session, author=analyst, time=1.0, note="team note"),
        "t_summary": Summary.objects.create(session=session, requested_by=owner, backend="heuristic", text="teamwork"),
        "t_suggestion": PersonSuggestion.objects.create(owner=owner, person=person, candidate=person2),
        "t_flag": PersonFlag.objects.create(person=person, groups=[[1], [2]], distance=0.9),
        "t_track": Track.objects.create(session=session, person=person, key="0:1", count=1, last_time=1.0),
        "t_merge": PersonMerge.objects.create(
            owner=owner, keep=person, merged_id=10**6 + 1, merged_number=9, merged_name="Team Merged"
        ),
    }
