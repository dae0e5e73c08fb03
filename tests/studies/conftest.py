"""Small synthetic studies in the real database: sessions whose observations are made from known arrays,
so every figure can be computed again independently (numpy, scipy) from the same arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inference.classes import EMOTIONS
from people.models import Person
from projects.models import Membership, Project
from sessions_app.models import AnalysisRun, Observation, Session, Track
from studies.models import Condition, Participant, ParticipantLink, SessionCondition

MEASURES = [*EMOTIONS, "attention"]
QUALITY_BAR = 0.3


@dataclass
class Frames:
    """What one person showed in one session: times, measures (frames x 8) and quality per frame."""

    session: Session
    person: Person
    time: np.ndarray
    values: np.ndarray
    quality: np.ndarray


@dataclass
class Study:
    project: Project
    owner: Any
    analyst: Any
    viewer: Any
    stranger: Any
    people: dict[str, Person] = field(default_factory=dict)  # code -> person
    participants: dict[str, Participant] = field(default_factory=dict)
    sessions: list[Session] = field(default_factory=list)
    frames: list[Frames] = field(default_factory=list)

    def client(self, who: str) -> Client:
        c = Client()
        c.force_login(getattr(self, who))
        return c

    def add_session(self, title: str, seconds: float, fps: float, rng: np.random.Generator, codes=None) -> Session:
        """A done session where each participant in ``codes`` is on every frame, with random measures."""
        session = Session.objects.create(
            owner=self.owner, project=self.project, title=title, status=Session.Status.DONE, duration=seconds,
            sample_fps=fps,
        )  # fmt: skip
        run = AnalysisRun.objects.create(session=session, status=AnalysisRun.Status.DONE)
        Session.objects.filter(pk=session.pk).update(current_run=run)
        session.refresh_from_db()
        n = int(round(seconds * fps))
        times = np.arange(n) / fps
        rows = []
        for slot, code in enumerate(codes or list(self.people)):
            person = self.people[code]
            track = Track.objects.create(session=session, run=run, person=person, key=f"0:{slot}", count=n)
            probs = rng.dirichlet(np.ones(len(EMOTIONS)), size=n)
            attention = rng.uniform(0.2, 1.0, size=n)
            values = np.column_stack([probs, attention])
            quality = rng.uniform(0, 1, size=n)
            self.frames.append(Frames(session, person, times, values, quality))
            for i in range(n):
                rows.append(
                    Observation(
                        session=session, run=run, track=track, person=person, time=float(times[i]), frame_index=i,
                        slot=slot, box_top=0, box_right=10, box_bottom=10, box_left=0, yaw=0.0, pitch=0.0, roll=0.0,
                        eye_openness=0.3, quality=float(quality[i]), uncertainty=0.1,
                        **{m: float(values[i, j]) for j, m in enumerate(MEASURES)},
                    )
                )  # fmt: skip
        Observation.objects.bulk_create(rows)
        self.sessions.append(session)
        return session

    def condition(self, label: str, *assignments: tuple) -> Condition:
        """``assignments``: (session, start, end) with start/end None for the whole session."""
        c, _ = Condition.objects.get_or_create(project=self.project, label=label)
        for session, start, end in assignments:
            SessionCondition.objects.create(session=session, condition=c, start=start, end=end)
        return c


@pytest.fixture
def study(db, settings) -> Study:
    settings.EMOTION_MIN_FACE_QUALITY = QUALITY_BAR
    users = get_user_model().objects
    owner, analyst, viewer, stranger = (
        users.create_user(username=name, password=None) for name in ("s-owner", "s-analyst", "s-viewer", "s-stranger")
    )
    project = Project.objects.create(name="Study Project")
    for user, role in ((owner, "owner"), (analyst, "analyst"), (viewer, "viewer")):
        Membership.objects.create(project=project, user=user, role=role)
    s = Study(project, owner, analyst, viewer, stranger)
    for number, code in enumerate(["P01", "P02", "P03", "P04"], start=1):
        person = Person.objects.create(owner=owner, project=project, number=number, name=f"Real Name {number}")
        participant = Participant.objects.create(project=project, code=code)
        ParticipantLink.objects.create(person=person, participant=participant)
        s.people[code] = person
        s.participants[code] = participant
    return s
