"""Wrong merges already stored: people whose tracks disagree, flagged for the owner to split.

Before the identity rule of issue 14, a person was joined from session-mean descriptors under one fixed
threshold, which joins different people of a population the descriptor crowds together. This module
checks each stored person: the person's tracks (their quality-gated references, or their mean embedding
for tracks analysed before references existed) are grouped by single linkage, two tracks joining when
their descriptor sets are closer than the identity rule's "possibly the same" limit
(:func:`split_distance`, in the rule's fitted space). More than one group means some tracks are
far from every other track of the person: the person is flagged (:class:`PersonFlag`) with the groups,
and their page offers to split a group off (:func:`split_tracks`) or to dismiss the flag.

Flagging is conservative on purpose: a group must be far from *all* the others, so a consistent person
is not flagged, while two look-alikes merged wrongly may stay unflagged (they are the pairs the
descriptor cannot tell apart). Callers: ``manage.py flag_identity_conflicts``, the admin action on
people, and the person page after a split.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from inference import identity
from people import services as people
from people.models import Person, PersonFlag
from people.services import PeopleError
from sessions_app.models import Track


def split_distance() -> float:
    """Two tracks farther apart than the identity rule's "possibly the same" limit (its fitted space, see
    ``inference.identity``) belong to different groups: the same rule that links people at the end of a
    session decides which stored links it would not have made."""
    return identity.default_params().maybe_distance


Kind, Status = PersonFlag.Kind, PersonFlag.Status


@dataclass(frozen=True)
class Conflict:
    """Groups of track ids that agree within and disagree between (largest first), and the gap between."""

    groups: list[list[int]]
    distance: float


def track_descriptors(track: Track) -> list[list[float]]:
    """A track's identity descriptors: its quality-gated references, else its mean embedding."""
    if track.references:
        return list(track.references)
    return [track.embedding] if track.embedding else []


def set_distance(a: Iterable, b: Iterable) -> float:
    """Median of the pairwise distances between two descriptor sets in the identity rule's fitted space
    (the median, so one odd descriptor does not decide)."""
    params = identity.default_params()
    x, y = identity.transform(list(a), params), identity.transform(list(b), params)
    return float(np.median(np.linalg.norm(x[:, None, :] - y[None, :, :], axis=-1)))


def reference_groups(sets: dict[Hashable, list], threshold: float | None = None) -> tuple[list[list[Hashable]], float]:
    """Single-linkage groups of the keys of ``sets`` (key -> descriptors): two keys are in one group when a
    chain of pairs closer than ``threshold`` joins them. Returns the groups, largest first (ties by their
    smallest key), and the smallest distance between two groups (inf with one group)."""
    threshold = split_distance() if threshold is None else threshold
    keys = [k for k, v in sets.items() if v is not None and len(v)]
    parent = {k: k for k in keys}

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    dist: dict[tuple[int, int], float] = {}
    for i, a in enumerate(keys):
        for j in range(i + 1, len(keys)):
            d = dist[i, j] = set_distance(sets[a], sets[keys[j]])
            if d < threshold:
                parent[root(a)] = root(keys[j])
    members: dict[Hashable, list] = {}
    for k in keys:
        members.setdefault(root(k), []).append(k)
    groups = sorted((sorted(g) for g in members.values()), key=lambda g: (-len(g), g[0]))
    gap = min(
        (d for (i, j), d in dist.items() if root(keys[i]) != root(keys[j])),
        default=math.inf,
    )
    return groups, gap


def find_conflict(person: Person) -> Conflict | None:
    """The person's disagreeing groups of tracks, or None when their tracks agree (or are fewer than two)."""
    sets = {t.pk: track_descriptors(t) for t in Track.objects.filter(person=person).order_by("pk")}
    groups, gap = reference_groups(sets)
    return Conflict(groups, round(gap, 6)) if len(groups) > 1 else None


def open_flag(person: Person) -> PersonFlag | None:
    return PersonFlag.objects.filter(person=person, kind=Kind.SPLIT, status=Status.OPEN).first()


def check_person(person: Person, *, actor: Any = None, request: Any = None) -> PersonFlag | None:
    """Flag ``person`` when their tracks disagree (or refresh the open flag's groups); resolve an open flag
    when they agree now. A flag dismissed for exactly these tracks is not raised again. Returns the open
    flag, or None."""
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person.pk).first()
        if person is None:
            return None
        flag = open_flag(person)
        conflict = find_conflict(person)
        if conflict is None:
            if flag is not None:
                flag.status, flag.decided_at = Status.RESOLVED, timezone.now()
                flag.save(update_fields=["status", "decided_at"])
            return None
        tracks = {t for g in conflict.groups for t in g}
        if flag is not None:
            flag.groups, flag.distance = conflict.groups, conflict.distance
            flag.save(update_fields=["groups", "distance"])
            return flag
        dismissed = PersonFlag.objects.filter(person=person, kind=Kind.SPLIT, status=Status.DISMISSED)
        if any(f.track_ids == tracks for f in dismissed):
            return None
        flag = PersonFlag.objects.create(
            person=person, kind=Kind.SPLIT, groups=conflict.groups, distance=conflict.distance
        )
        sizes = " + ".join(str(len(g)) for g in conflict.groups)
        audit.record(
            actor,
            audit.Action.FLAGGED,
            person,
            request=request,
            detail=f"tracks in {len(conflict.groups)} disagreeing groups ({sizes}), {conflict.distance:.2f} apart",
        )
    return flag


def flag_conflicts(persons: Iterable[Person], *, actor: Any = None, request: Any = None) -> list[PersonFlag]:
    """:func:`check_person` for each person; the open flags."""
    return [f for p in persons if (f := check_person(p, actor=actor, request=request)) is not None]


def dismiss(flag: PersonFlag, actor: Any = None, *, request: Any = None) -> PersonFlag:
    """The owner says the flagged tracks are one person: close the flag and remember it for these tracks."""
    with transaction.atomic():
        locked = PersonFlag.objects.select_for_update().select_related("person").filter(pk=flag.pk).first()
        if locked is None or locked.status != Status.OPEN:
            raise PeopleError("This flag was already answered.")
        locked.status, locked.decided_at = Status.DISMISSED, timezone.now()
        locked.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(actor, audit.Action.FLAG_DISMISSED, locked.person, request=request, detail="one person")
    return locked


def split_tracks(person: Person, tracks: list[Track], *, actor: Any = None, request: Any = None) -> Person:
    """Give ``tracks`` of ``person`` to one new person (services.people.split_track, then merge_people for
    a group of several), then re-check an open flag of ``person`` on what is left."""
    if not tracks:
        raise PeopleError("Choose one of this person's tracks to split off.")
    if any(t.person_id != person.pk for t in tracks):
        raise PeopleError("Choose tracks of this person only.")
    tracks = sorted(tracks, key=lambda t: t.pk)
    with transaction.atomic():
        new = people.split_track(tracks[0], actor=actor, request=request)
        for track in tracks[1:]:
            extra = people.split_track(track, actor=actor, request=request)
            people.merge_people(new, extra, actor=actor, request=request, undoable=False)  # one split
    if open_flag(person) is not None:
        check_person(person, actor=actor, request=request)
    return Person.objects.get(pk=new.pk)
