"""The identity step at the end of a session: SAME links, MAYBE suggests, and a pair the owner marked
"not the same" is never linked automatically afterwards (through finalize_session, with real rows).
Within one session, groups never on one frame are offered to each other; groups on one frame never are."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction

from inference import identity
from people import suggestions
from people.models import Person, PersonSuggestion
from projects.services import personal_project
from sessions_app.models import Observation, Segment, Session, Track
from sessions_app.services.analysis import finalize_session
from tests.inference.test_cuts import cut_clips  # noqa: F401 (the fixture: clips built from tw-performers)
from tests.replay.conftest import add_observations

pytestmark = pytest.mark.django_db


def around(rng, centre: np.ndarray, n: int = 5) -> list:
    return [(centre + 0.004 * rng.standard_normal(128)).tolist() for _ in range(n)]


def session_with(owner, refs: list, project=None) -> Session:
    """A finished-analysis session with one face track carrying ``refs`` as its references (in ``project``,
    default the owner's personal one)."""
    s = Session.objects.create(owner=owner, project=project, title="s", status=Session.Status.ANALYSING, sample_fps=5.0)
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
    (sug,) = suggestions.open_suggestions(personal_project(user))
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


def session_of_tracks(owner, tracks: list[list], together: bool = False) -> Session:
    """One finished-analysis session whose face tracks follow each other (cuts), one per ``tracks`` entry
    (its references), on disjoint frames; with ``together``, all on the same frames (faces side by side)."""
    s = Session.objects.create(owner=owner, title="cuts", status=Session.Status.ANALYSING, sample_fps=5.0)
    Segment.objects.create(session=s, index=0, start=0, end=2, status=Segment.Status.DONE, frames=3 * len(tracks))
    for i, refs in enumerate(tracks):
        frames = [((0 if together else 3 * i) + k, "happy", 0.9, 0.8) for k in range(3)]
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
    # a's mirror image through the rule's centre: as unlike a (and m) as the transformed space allows
    stranger = 2 * identity.default_params().mean - a
    s = session_of_tracks(user, [around(rng, a), around(rng, m), around(rng, a), around(rng, stranger)])
    tracks = list(Track.objects.filter(session=s).order_by("key"))
    people = [t.person_id for t in tracks]
    assert people[0] == people[2]  # one person across the cut
    assert len(set(people)) == 3 and people[1] != people[0] and people[3] not in (people[0], people[1])
    (sug,) = suggestions.open_suggestions(personal_project(user))  # the stranger gets none
    assert {sug.person_id, sug.candidate_id} == {people[0], people[1]}


def test_faces_on_one_frame_are_never_linked_or_suggested(user):
    """Two faces seen together are two people, however alike (twins, a mirror): finalize neither links
    the second to the person it just made of the first nor suggests them, while the same faces on
    frames of their own (across a cut) are linked."""
    rng = np.random.default_rng(5)
    a = 0.09 * rng.standard_normal(128)
    s = session_of_tracks(user, [around(rng, a), around(rng, a)], together=True)
    people = {t.person_id for t in Track.objects.filter(session=s)}
    assert len(people) == 2 and None not in people
    assert not suggestions.open_suggestions(personal_project(user)).exists()
    other = get_user_model().objects.create_user("apart", password="x")
    apart = session_of_tracks(other, [around(rng, a), around(rng, a)])
    assert len({t.person_id for t in Track.objects.filter(session=apart)}) == 1


def analysed_session(owner, path: Path, fps: float) -> Session:
    """``path`` stored as an upload and analysed through the worker's own functions (in process)."""
    from inference.media import probe
    from sessions_app.services.analysis import plan_segments
    from sessions_app.tasks import analyse_segment

    info = probe(path)
    s = Session.objects.create(
        owner=owner, title=path.stem, source=Session.Source.UPLOAD, status=Session.Status.QUEUED,
        duration=info.duration, width=info.width, height=info.height, sample_fps=fps,
    )  # fmt: skip
    with open(path, "rb") as fh:
        s.original.save(path.name, File(fh), save=True)
    for seg in plan_segments(s):
        assert analyse_segment(s.pk, seg.index) == "done"
    s.refresh_from_db()
    assert s.status == Session.Status.DONE
    return s


def frames_by_person(session: Session) -> tuple[dict[int, set], dict[int, float]]:
    frames, first = defaultdict(set), {}
    for person, index, t in Observation.objects.filter(session=session).values_list("person_id", "frame_index", "time"):
        frames[person].add(index)
        first[person] = min(first.get(person, t), t)
    return frames, first


SINGER_UNTIL = 7.1  # the Hamilton clip: the singer until 7.0 s, then one shot of the audience (7.2-8.2 s)


def test_hamilton_singer_suggested_never_with_the_other_face(user, media_dir):
    """The shared Hamilton clip (one singer across camera cuts, then another face): the session's
    suggestions pair only the singer's people, never on one frame, and confirming them leaves the singer
    fewer people; the other face is in none. Known gap (docs/benchmarks.md): his first close-up
    (2.8-3.8 s, one usable descriptor) is 1.04 from his other shots, past the fitted within-session
    limit (0.96), so he ends as two people, not one."""
    path = media_dir / "short_hamilton_clip.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not found (set EMOTION_DATA_DIR to the shared data folder)")
    s = analysed_session(user, path, 5.0)
    frames, first = frames_by_person(s)
    singer = {p for p, t in first.items() if t < SINGER_UNTIL}
    others = set(first) - singer
    assert len(others) == 1 and None not in first
    offered = list(suggestions.open_suggestions(personal_project(user)))
    assert offered, "the singer's groups were neither linked nor suggested"
    for sug in offered:
        pair = {sug.person_id, sug.candidate_id}
        assert pair <= singer, f"a suggestion pairs the other face: {pair}"
        assert not frames[sug.person_id] & frames[sug.candidate_id]  # never on one frame
    while (sug := suggestions.open_suggestions(personal_project(user)).first()) is not None:
        suggestions.confirm(sug, user)
    frames, first = frames_by_person(s)
    after = {p for p, t in first.items() if t < SINGER_UNTIL}
    assert len(after) == len(singer) - len(offered) and 1 <= len(after) <= 2
    assert set(first) - after == others  # the other face untouched


def test_alternating_performers_are_two_people_through_finalize(user, cut_clips):  # noqa: F811
    """Performers 01 and 02 alternating in the same place (a clip built from tw-performers): two people,
    never one, after the session's identity step."""
    s = analysed_session(user, cut_clips["alternating"], 3.0)
    frames, first = frames_by_person(s)
    assert None not in first
    by_second = defaultdict(set)
    for person, t in Observation.objects.filter(session=s).values_list("person_id", "time"):
        by_second[int(t + 1e-3)].add(person)
    a, b = by_second[0] | by_second[2], by_second[1] | by_second[3]
    assert a and b and not a & b, f"one person holds both performers: {a} / {b}"
    assert len(first) == 2
