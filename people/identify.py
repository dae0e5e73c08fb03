"""The identity step at the end of a session's analysis: who, among its project's people, each face is.

Connected to ``sessions_app.signals.tracks_ready`` (people/receivers.py): sessions_app sends it from
``finalize_session`` inside its transaction, with the session row locked, so sessions_app never imports
this room.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Max

from inference import identity
from inference.tracking import identity_references, merge_tracks, session_suggestions
from people.models import Person
from people.suggestions import rejected_pairs, suggest
from people.thumbnails import make_thumbnails
from projects.services import lock_project
from sessions_app.models import Observation, Session, Track


def link_people(session: Session, run_id: int | None) -> None:
    """Join the session's tracks across segments and attach each group to the project's people.

    Each group of tracks (one human within the session) is compared with the project's people (never
    another project's) by ``inference.identity.decide``: SAME links it (its references join the person's),
    MAYBE makes a new person with a suggestion to confirm (``people.suggestions``), NEW makes a new
    person. Pairs marked "not the same" are never linked automatically. A person holding a group seen on the
    same frame as this one is no candidate. Then the session's people are offered to each other where
    their groups never share a frame and ``inference.tracking.session_suggestions`` finds them close
    (``identity.decide_within``): a suggestion, never a link.

    People creation is serialised per project by locking the project's row.
    """
    tracks = list(Track.objects.filter(session=session, run_id=run_id).order_by("segment_index", "first_time", "pk"))
    frames: dict[int, set] = defaultdict(set)
    run_obs = Observation.objects.filter(session=session, run_id=run_id)
    for track_id, frame_index in run_obs.values_list("track_id", "frame_index"):
        frames[track_id].add(frame_index)
    merged = merge_tracks(
        [
            {"id": t.pk, "embedding": t.embedding, "references": t.references, "first_frame": 0, "last_frame": 0}
            for t in tracks
        ],
        frames=frames,
    )
    groups: dict[int, list[Track]] = defaultdict(list)
    for t in tracks:
        groups[merged.get(t.pk, t.pk)].append(t)

    lock_project(session.project_id)
    # the project's face library only: a face is never linked to a person of another project
    people = {p.pk: p for p in Person.objects.filter(project_id=session.project_id)}
    rejected = rejected_pairs(session.project_id)
    next_number = (Person.objects.filter(project_id=session.project_id).aggregate(m=Max("number"))["m"] or 0) + 1
    thumbs: list[tuple[Person, list[Track]]] = []
    group_frames = {root: set().union(*(frames[t.pk] for t in group)) for root, group in groups.items()}
    group_refs: dict[int, list] = {}
    person_of: dict[int, Person] = {}  # group root -> its person
    session_groups: dict[int, list[int]] = defaultdict(list)  # person pk -> this session's groups

    def apart(pk: int, root: int) -> bool:
        """No group of this session held by person ``pk`` shares a frame with group ``root``."""
        return not any(group_frames[r] & group_frames[root] for r in session_groups.get(pk, ()))

    for root, group in sorted(groups.items()):
        refs: list = []
        for t in group:
            refs += identity_references(t.references, t.embedding)
        if not refs:
            continue
        refs = identity.merge_references([], refs, k=identity.PERSON_REFERENCES)
        group_refs[root] = refs
        # two faces on one frame are two people: such a person is no candidate at all
        known = {pk: p.embeddings for pk, p in people.items() if p.embeddings and apart(pk, root)}
        decision = identity.decide(refs, known, rejected)
        if decision.same:
            person = people[decision.candidate]
            person.embeddings = identity.merge_references(person.embeddings, refs)
            person.save(update_fields=["embeddings"])
        else:
            person = Person.objects.create(
                owner_id=session.owner_id, project_id=session.project_id, number=next_number, embeddings=refs
            )
            next_number += 1
            people[person.pk] = person
            thumbs.append((person, group))
            if decision.outcome == identity.MAYBE:
                suggest(people[decision.candidate], person, decision.distance, min(decision.margin, 1e6))
        person_of[root] = person
        session_groups[person.pk].append(root)
        ids = [t.pk for t in group]
        Track.objects.filter(pk__in=ids).update(person=person)
        Observation.objects.filter(track_id__in=ids).update(person=person)

    def allowed(earlier: int, later: int) -> bool:
        a, b = person_of[earlier].pk, person_of[later].pk
        return a != b and all(apart(a, r) for r in session_groups[b])

    for earlier, later, d in session_suggestions(group_refs, group_frames, allowed):
        suggest(person_of[earlier], person_of[later], d.distance, min(d.margin, 1e6))
    if thumbs:
        make_thumbnails(session, thumbs)
