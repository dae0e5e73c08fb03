"""Sessions with observations built directly in the database (no worker)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files import File
from rest_framework.test import APIClient

from inference.classes import EMOTIONS
from people.models import Person
from sessions_app.models import Observation, Session, Track


def probs(main: str, value: float) -> dict[str, float]:
    """``main`` gets ``value``, the rest share 1 - value evenly."""
    rest = (1.0 - value) / (len(EMOTIONS) - 1)
    return {e: (value if e == main else rest) for e in EMOTIONS}


def add_observations(session: Session, person: Person | None, samples, slot: int, key: str, box=None) -> Track:
    """``samples``: (frame_index, main emotion, its probability, attention); time = frame / sample_fps;
    ``box(frame)``: the face box (top, right, bottom, left) on that frame, (10, 60, 70, 5) by default."""
    box = box or (lambda frame: (10, 60, 70, 5))
    track = Track.objects.create(session=session, person=person, key=key)
    Observation.objects.bulk_create(
        Observation(
            session=session,
            track=track,
            person=person,
            time=frame / session.sample_fps,
            frame_index=frame,
            slot=slot,
            **dict(zip(("box_top", "box_right", "box_bottom", "box_left"), box(frame), strict=True)),
            attention=attention,
            yaw=1.5,
            pitch=-2.0,
            roll=0.25,
            eye_openness=0.3,
            **probs(main, p),
        )
        for frame, main, p, attention in samples
    )
    return track


EVIL = "<img src=x onerror=alert(1)>"  # a name that must always show as text


@contextmanager
def clip_session(owner, clip: Path, *, title: str, duration: float, people, sample_fps: float = 5.0, size=(0, 0)):
    """A done session whose original and playable video is ``clip`` (``size``: its analysed frame's width
    and height), for browser tests; ``people`` is a list of (name, samples for :func:`add_observations`)
    or (name, samples, box). Yields the session with ``.people`` (in that order) and deletes its files
    afterwards."""
    session = Session.objects.create(
        owner=owner,
        title=title,
        status=Session.Status.DONE,
        progress=1.0,
        duration=duration,
        sample_fps=sample_fps,
        width=size[0],
        height=size[1],
    )
    with open(clip, "rb") as fh:
        session.original.save(clip.name, File(fh), save=False)
        fh.seek(0)
        session.playable.save(clip.name, File(fh), save=True)
    session.people = []
    for slot, (name, samples, *box) in enumerate(people):
        person = Person.objects.create(owner=owner, number=slot + 1, name=name)
        add_observations(session, person, samples, slot, f"0:{slot + 1}", *box)
        session.people.append(person)
    try:
        yield session
    finally:
        for field in (session.original, session.playable):
            field.storage.delete(field.name)


@pytest.fixture
def replay_session(user):
    """Two people at 5 fps over frames 0..9 (2 s): Alice happy, a person named ``=cmd()`` sad."""
    session = Session.objects.create(
        owner=user, title="Replay", status=Session.Status.DONE, progress=1.0, duration=2.0, sample_fps=5.0
    )
    alice = Person.objects.create(owner=user, number=1, name="Alice")
    evil = Person.objects.create(owner=user, number=2, name="=cmd()")
    add_observations(session, alice, [(f, "happy", 0.5 + 0.05 * f, 0.1 * f) for f in range(10)], 0, "0:1")
    add_observations(session, evil, [(f, "sad", 0.9, 1.0) for f in range(0, 10, 2)], 1, "0:2")
    session.alice, session.evil = alice, evil
    return session


@pytest.fixture
def api(user):
    c = APIClient()
    c.force_login(user)
    return c


@pytest.fixture
def other_api(django_user_model):
    other = django_user_model.objects.create_user(username="api-other", password="another-pass-123")
    c = APIClient()
    c.force_login(other)
    return c


@pytest.fixture
def mixed_session(user):
    """Alice at 5 fps, frames 0..9: 0-3 sharp (happy), 4-7 below the bar (sad), 8-9 stored before
    quality existed (quality null, happy)."""
    session = Session.objects.create(
        owner=user, title="Mixed", status=Session.Status.DONE, progress=1.0, duration=2.0, sample_fps=5.0
    )
    alice = Person.objects.create(owner=user, number=1, name="Alice")
    add_observations(
        session,
        alice,
        [(f, "happy", 0.8, 0.6) if f < 4 or f > 7 else (f, "sad", 0.9, 0.2) for f in range(10)],
        0,
        "0:1",
    )
    qualities = {f: (0.9 if f < 4 else 0.1 if f < 8 else None) for f in range(10)}
    for obs in session.observations.all():
        obs.quality = qualities[obs.frame_index]
        obs.uncertainty = None if obs.quality is None else 0.3
        obs.save(update_fields=["quality", "uncertainty"])
    session.alice = alice
    return session
