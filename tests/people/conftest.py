"""A small world for the people tests: an owner with two sessions and three people, thumbnails as
real JPEG files in a temporary media folder, another user and a staff member."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile

from people.models import Person, PersonThumbnail
from sessions_app.models import Observation, Session, Track
from tests.replay.conftest import (
    EVIL,  # noqa: F401 - the people tests import it from here
    add_observations,
)


def jpeg_bytes(color: tuple[int, int, int] = (200, 120, 80)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (24, 24), color).save(buf, format="JPEG")
    return buf.getvalue()


def add_thumbnail(person: Person) -> PersonThumbnail:
    thumb = PersonThumbnail(person=person)
    thumb.image.save("face.jpg", ContentFile(jpeg_bytes()), save=True)
    return thumb


def stored_path(name: str) -> Path:
    return Path(django_settings.MEDIA_ROOT) / name


def embedding(seed: float) -> list[float]:
    return [seed + i / 1000 for i in range(128)]


def counts(session_ids=None) -> dict[Any, int]:
    """Observations per person id (None: unattributed)."""
    from django.db.models import Count

    qs = Observation.objects.all()
    if session_ids is not None:
        qs = qs.filter(session_id__in=session_ids)
    return {r["person"]: r["n"] for r in qs.values("person").annotate(n=Count("id"))}


@dataclass
class PeopleWorld:
    owner: Any
    a: Session
    b: Session
    alice: Person
    bob: Person
    carol: Person  # unnamed
    tracks: dict[str, Track]


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def people_world(user, media_root) -> PeopleWorld:
    """Session A: Alice 10 frames, Bob 5, an unattributed face 3. Session B: Alice 20, Carol 4.
    At 5 fps Alice is on screen 6 s; every person has a thumbnail file and reference embeddings."""
    a = Session.objects.create(owner=user, title="Meeting A", status="done", progress=1.0, duration=4.0, sample_fps=5)
    b = Session.objects.create(owner=user, title="Meeting B", status="done", progress=1.0, duration=4.0, sample_fps=5)
    alice = Person.objects.create(owner=user, number=1, name="Alice", embeddings=[embedding(0.1), embedding(0.2)])
    bob = Person.objects.create(owner=user, number=2, name=EVIL, embeddings=[embedding(0.5)])
    carol = Person.objects.create(owner=user, number=3, embeddings=[embedding(0.9)])
    tracks = {
        "a-alice": add_observations(a, alice, [(f, "happy", 0.8, 0.5) for f in range(10)], 0, "0:1"),
        "a-bob": add_observations(a, bob, [(f, "sad", 0.7, 0.5) for f in range(5)], 1, "0:2"),
        "a-none": add_observations(a, None, [(f, "fear", 0.6, 0.5) for f in range(3)], 2, "0:3"),
        "b-alice": add_observations(b, alice, [(f, "happy", 0.8, 0.5) for f in range(20)], 0, "0:1"),
        "b-carol": add_observations(b, carol, [(f, "neutral", 0.9, 0.5) for f in range(4)], 1, "0:2"),
    }
    tracks["a-alice"].embedding = embedding(0.1)
    tracks["b-alice"].embedding = embedding(0.2)
    tracks["a-bob"].embedding = embedding(0.5)
    for t in tracks.values():
        t.count = t.observations.count()
        t.save()
    for p in (alice, bob, carol):
        add_thumbnail(p)
    return PeopleWorld(user, a, b, alice, bob, carol, tracks)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="other-owner", password="another-pass-123")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff-member", password="staff-pass-123", is_staff=True)
