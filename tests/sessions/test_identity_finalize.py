"""The identity step at the end of a session: SAME links, MAYBE suggests, and a pair the owner marked
"not the same" is never linked automatically afterwards (through finalize_session, with real rows)."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from inference import identity
from people import suggestions
from people.models import Person, PersonSuggestion
from sessions_app.models import Segment, Session, Track
from sessions_app.services.analysis import finalize_session
from tests.replay.conftest import add_observations

pytestmark = pytest.mark.django_db


def around(rng, centre: np.ndarray, n: int = 5) -> list:
    return [(centre + 0.004 * rng.standard_normal(128)).tolist() for _ in range(n)]


def session_with(owner, refs: list) -> Session:
    """A finished-analysis session with one face track carrying ``refs`` as its references."""
    s = Session.objects.create(owner=owner, title="s", status=Session.Status.ANALYSING, sample_fps=5.0)
    Segment.objects.create(session=s, index=0, start=0, end=1, status=Segment.Status.DONE, frames=3)
    track = add_observations(s, None, [(i, "happy", 0.9, 0.8) for i in range(3)], 0, "0:1")
    Track.objects.filter(pk=track.pk).update(
        references=refs, reference_quality=[1.0] * len(refs), embedding=np.mean(refs, axis=0).tolist()
    )
    with transaction.atomic():
        finalize_session(s)
    return s


def person_of(session: Session) -> Person:
    return Track.objects.get(session=session).person


def points(rng):
    """Centres a (a known person), m (MAYBE against a), p (SAME to a unless a rejected look-alike is
    plausible), found along a line so the test holds for whatever limits are shipped: the middle of
    each range."""
    a, b = 0.09 * rng.standard_normal(128), 0.09 * rng.standard_normal(128)
    ref_a = around(rng, a, 10)
    line = [a + t * (b - a) for t in np.linspace(0, 1, 201)]
    maybe = [x for x in line if identity.decide(around(rng, x, 3), {"a": ref_a}).outcome == identity.MAYBE]
    m = maybe[len(maybe) // 2]
    known = {"a": ref_a, "m": around(rng, m)}
    blocked = []
    for x in line:
        probe = around(rng, x, 3)
        plain = identity.decide(probe, known)
        rejected = identity.decide(probe, known, {frozenset(("a", "m"))})
        if plain.outcome == identity.SAME and plain.candidate == "a" and rejected.outcome != identity.SAME:
            blocked.append(x)
    return a, m, blocked[len(blocked) // 2]


def test_outcomes_and_a_rejection_remembered_through_finalize(user):
    rng = np.random.default_rng(14)
    a, m, p = points(rng)
    first = person_of(session_with(user, around(rng, a)))
    again = person_of(session_with(user, around(rng, a)))
    assert again.pk == first.pk  # SAME: linked, references grown
    assert len(Person.objects.get(pk=first.pk).embeddings) == 10
    look_alike = person_of(session_with(user, around(rng, m)))
    assert look_alike.pk != first.pk  # MAYBE: a new person with a suggestion
    (sug,) = suggestions.open_suggestions(user)
    assert {sug.person_id, sug.candidate_id} == {first.pk, look_alike.pk} and sug.score > 0
    suggestions.reject(sug, user)
    later = person_of(session_with(user, around(rng, p)))
    assert later.pk != first.pk  # never auto-linked while the rejected look-alike is plausible
    assert not PersonSuggestion.objects.filter(status="open", person=first, candidate=look_alike).exists()
    # the control: another owner without that answer links the same face to their first person
    other = get_user_model().objects.create_user("control", password="x")
    control_first = person_of(session_with(other, around(rng, a)))
    person_of(session_with(other, around(rng, m)))
    assert person_of(session_with(other, around(rng, p))).pk == control_first.pk


def session_of_tracks(owner, tracks: list[list]) -> Session:
    """One finished-analysis session whose face tracks follow each other (cuts), one per ``tracks`` entry
    (its references), on disjoint frames."""
    s = Session.objects.create(owner=owner, title="cuts", status=Session.Status.ANALYSING, sample_fps=5.0)
    Segment.objects.create(session=s, index=0, start=0, end=2, status=Segment.Status.DONE, frames=3 * len(tracks))
    for i, refs in enumerate(tracks):
        frames = [(3 * i + k, "happy", 0.9, 0.8) for k in range(3)]
        track = add_observations(s, None, frames, 0, f"0:{i + 1}")
        Track.objects.filter(pk=track.pk).update(
            references=refs, reference_quality=[1.0] * len(refs), embedding=np.mean(refs, axis=0).tolist()
        )
    with transaction.atomic():
        finalize_session(s)
    return s


def test_tracks_of_one_session_across_cuts_linked_or_suggested(user):
    """Within one session: the tracks of one person on both sides of a cut become one person (SAME);
    a track the rule is not sure about becomes a person with a suggestion to confirm (MAYBE), never
    silently the same person; and a clearly different face is a person of its own without one."""
    rng = np.random.default_rng(22)
    a, m, _ = points(rng)
    stranger = 0.09 * rng.standard_normal(128)
    s = session_of_tracks(user, [around(rng, a), around(rng, m), around(rng, a), around(rng, stranger)])
    tracks = list(Track.objects.filter(session=s).order_by("key"))
    people = [t.person_id for t in tracks]
    assert people[0] == people[2]  # one person across the cut
    assert len(set(people)) == 3 and people[1] != people[0] and people[3] not in (people[0], people[1])
    (sug,) = suggestions.open_suggestions(user)  # the stranger gets none
    assert {sug.person_id, sug.candidate_id} == {people[0], people[1]}
