"""Members' and staff actions on people: rename, consent, merge, split a track off, delete with all face data.
(Who may do which is decided by the callers through projects.access.)

Every write runs in one transaction with the rows it changes locked, so a finalize running at the same
time (it locks the project's row before it creates people) sees either the old or the new state.
Stored files are removed only after the transaction commits.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from audit import services as audit
from people.models import Person, PersonMerge, PersonThumbnail
from projects.services import lock_project
from sessions_app.models import Observation, Session, Track
from sessions_app.services.media import delete_files_on_commit

logger = logging.getLogger(__name__)

NAME_MAX = 120
NOTE_MAX = 500


class PeopleError(Exception):
    """A refused action, with a message fit to show the user."""


def people_changed(observations=None, tracks=None) -> None:
    """Stamp the sessions of these observations / tracks (querysets): who is who in them just changed,
    so summaries made before say so. Call before the rows move or go."""
    ids: set[int] = set()
    for qs in (observations, tracks):
        if qs is not None:
            ids.update(qs.values_list("session_id", flat=True).distinct())
    if ids:
        Session.objects.filter(pk__in=ids).update(people_changed_at=timezone.now())


def rename_person(person: Person, name: str, *, actor: Any = None, request: Any = None) -> Person:
    """Set the name (trimmed; empty goes back to "Person N"). Replays and summaries read it at once."""
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX:
        raise PeopleError(f"A name can be at most {NAME_MAX} characters.")
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        old = person.display_name
        person.name = name
        person.save(update_fields=["name"])
        audit.record(actor, audit.Action.RENAMED, person, request=request, detail=f"from {old!r} to {name!r}")
    return person


def set_consent(person: Person, given: bool, note: str = "", *, actor: Any = None, request: Any = None) -> Person:
    """Record whether the person consented, when this was recorded, and a note (how, by whom)."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise PeopleError(f"The consent note can be at most {NOTE_MAX} characters.")
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        person.consent_given, person.consent_note, person.consent_at = bool(given), note, timezone.now()
        person.save(update_fields=["consent_given", "consent_note", "consent_at"])
        state = "given" if given else "not given"
        audit.record(actor, audit.Action.CONSENT, person, request=request, detail=f"{state}; {note}")
    return person


def merge_people(
    keep: Person, other: Person, *, actor: Any = None, request: Any = None, undoable: bool = True
) -> dict[str, int]:
    """Move ``other``'s observations, tracks, thumbnails and embeddings to ``keep`` and delete ``other``.

    Returns how many rows moved. Both must belong to the same project. A :class:`PersonMerge` keeps what
    :func:`undo_merge` needs to reverse it (not for ``undoable=False``: a step inside another action).
    """
    if keep.pk == other.pk:
        raise PeopleError("Choose two different people to merge.")
    if keep.project_id != other.project_id:
        raise PeopleError("Only people of the same project can be merged.")
    with transaction.atomic():
        lock_project(keep.project_id)
        locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[keep.pk, other.pk]).order_by("pk")}
        if len(locked) != 2:
            raise PeopleError("One of the people no longer exists.")
        keep, other = locked[keep.pk], locked[other.pk]
        from people.suggestions import move_answers

        move_answers(keep, other)  # a "not the same" answer about ``other`` stays true of ``keep``
        record = PersonMerge(
            owner_id=keep.owner_id,
            keep=keep,
            merged_id=other.pk,
            merged_number=other.number,
            merged_name=other.name,
            merged_consent={
                "given": other.consent_given,
                "at": other.consent_at.isoformat() if other.consent_at else None,
                "note": other.consent_note,
            },
            merged_embeddings=other.embeddings or [],
            keep_embeddings=keep.embeddings or [],
            keep_took_name=not keep.name and bool(other.name),
            track_ids=list(Track.objects.filter(person=other).values_list("pk", flat=True)),
            thumbnail_ids=list(PersonThumbnail.objects.filter(person=other).values_list("pk", flat=True)),
        )
        on_tracks = Observation.objects.filter(track_id__in=record.track_ids)
        record.foreign_observation_ids = list(on_tracks.exclude(person=other).values_list("pk", flat=True))
        record.loose_observation_ids = list(
            Observation.objects.filter(person=other).exclude(track_id__in=record.track_ids).values_list("pk", flat=True)
        )
        people_changed(Observation.objects.filter(person=other), Track.objects.filter(person=other))
        moved = {
            "observations": Observation.objects.filter(person=other).update(person=keep),
            "tracks": Track.objects.filter(pk__in=record.track_ids).update(person=keep),
            "thumbnails": PersonThumbnail.objects.filter(pk__in=record.thumbnail_ids).update(person=keep),
            "embeddings": len(other.embeddings or []),
        }
        from inference import identity

        keep.embeddings = identity.merge_references(keep.embeddings or [], other.embeddings or [])
        if record.keep_took_name:
            keep.name = other.name
        keep.save(update_fields=["embeddings", "name"])
        label = other.display_name
        record.audit_entry = audit.record(
            actor,
            audit.Action.MERGED,
            keep,
            request=request,
            detail=f"{label} (#{other.pk}) merged in: {moved['observations']} observations, {moved['tracks']} tracks",
        )
        other.delete()
        if undoable:
            record.save()  # after the delete: ``keep`` and the entry exist, ``other`` lives on only here
    return moved


def _without(embeddings: list, gone: list) -> list:
    """``embeddings`` less those equal (within float noise) to one of ``gone``."""
    if not gone:
        return list(embeddings)
    drop = np.asarray(gone, dtype=np.float64)
    return [
        e
        for e in embeddings
        if not np.any(np.all(np.isclose(drop, np.asarray(e, dtype=np.float64), atol=1e-6), axis=1))
    ]


def undo_merge(merge: PersonMerge, *, actor: Any = None, request: Any = None) -> Person:
    """Bring back the person a merge removed, under their old id, with their name, consent, embeddings and
    the observations, tracks and thumbnails that moved and are still with the kept person.

    Rows split off or deleted since stay as they are; answers to suggestions moved by the merge stay with
    the kept person. Returns the person brought back.
    """
    from datetime import datetime

    with transaction.atomic():
        lock_project(merge.keep.project_id)
        merge = PersonMerge.objects.select_for_update().filter(pk=merge.pk).select_related("keep").first()
        if merge is None:
            raise PeopleError("This merge can no longer be undone: the person it went into is gone.")
        if merge.undone_at is not None:
            raise PeopleError("This merge was already undone.")
        keep = Person.objects.select_for_update().get(pk=merge.keep_id)
        if Person.objects.filter(pk=merge.merged_id).exists():
            raise PeopleError("This merge was already undone.")
        project_id = keep.project_id
        taken = Person.objects.filter(project_id=project_id, number=merge.merged_number).exists()
        number = merge.merged_number
        if taken:  # a later person took the number: the next free one
            number = (Person.objects.filter(project_id=project_id).aggregate(m=Max("number"))["m"] or 0) + 1
        consent = merge.merged_consent or {}
        back = Person.objects.create(
            pk=merge.merged_id,
            owner_id=merge.owner_id,
            project_id=project_id,
            number=number,
            name=merge.merged_name,
            embeddings=merge.merged_embeddings,
            consent_given=bool(consent.get("given")),
            consent_at=datetime.fromisoformat(consent["at"]) if consent.get("at") else None,
            consent_note=consent.get("note") or "",
        )
        observations = merge.moved_observations().filter(person=keep)
        people_changed(observations)
        moved = {
            "observations": observations.update(person=back),
            "tracks": Track.objects.filter(pk__in=merge.track_ids, person=keep).update(person=back),
            "thumbnails": PersonThumbnail.objects.filter(pk__in=merge.thumbnail_ids, person=keep).update(person=back),
        }
        kept = _without(keep.embeddings or [], merge.merged_embeddings)
        keep.embeddings = kept or merge.keep_embeddings
        if merge.keep_took_name and keep.name == merge.merged_name:
            keep.name = ""
        keep.save(update_fields=["embeddings", "name"])
        merge.undone_at = timezone.now()
        merge.save(update_fields=["undone_at"])
        audit.record(
            actor,
            audit.Action.UNMERGED,
            keep,
            request=request,
            detail=f"{back.display_name} (#{back.pk}) back: {moved['observations']} observations, "
            f"{moved['tracks']} tracks",
        )
    return back


def split_track(track: Track, *, actor: Any = None, request: Any = None) -> Person:
    """Give one track (and its observations) of a person to a new person of the same project."""
    from inference import identity
    from inference.tracking import identity_references

    with transaction.atomic():
        track = Track.objects.select_for_update().select_related("session").get(pk=track.pk)
        old = track.person
        if old is None:
            raise PeopleError("This track belongs to nobody; there is nothing to split it from.")
        lock_project(old.project_id)
        old = Person.objects.select_for_update().get(pk=old.pk)
        if not Track.objects.filter(person=old).exclude(pk=track.pk).exists():
            raise PeopleError(f"This is the only track of {old.display_name}; there is nothing to split off.")
        number = (Person.objects.filter(project_id=old.project_id).aggregate(m=Max("number"))["m"] or 0) + 1
        refs = identity_references(track.references, track.embedding)
        new = Person.objects.create(owner_id=old.owner_id, project_id=old.project_id, number=number, embeddings=refs)
        people_changed(tracks=Track.objects.filter(pk=track.pk))
        Track.objects.filter(pk=track.pk).update(person=new)
        Observation.objects.filter(track=track).update(person=new)
        if refs:
            # References taken from this track would keep matching it to the old person.
            gone = np.asarray(refs, dtype=np.float64)

            def from_track(e) -> bool:
                return bool(np.any(np.all(np.isclose(gone, np.asarray(e, dtype=np.float64), atol=1e-6), axis=1)))

            kept = [e for e in (old.embeddings or []) if not from_track(e)]
            if not kept:  # keep the old person recognisable: the references of their remaining tracks
                for t in Track.objects.filter(person=old):
                    kept = identity.merge_references(kept, identity_references(t.references, t.embedding))
            old.embeddings = identity.merge_references([], kept)
            old.save(update_fields=["embeddings"])
        audit.record(
            actor,
            audit.Action.SPLIT,
            old,
            request=request,
            detail=f"track {track.key} of session {track.session_id} to {new.display_name} (#{new.pk})",
        )
    from people.thumbnails import make_thumbnails

    try:  # best effort (none when the media is gone): the split stands without a face picture
        make_thumbnails(track.session, [(new, [track])])
    except Exception:
        logger.warning("no thumbnail for split-off person %s", new.pk, exc_info=True)
    return new


def delete_person(
    person: Person, *, keep_observations: bool, actor: Any = None, request: Any = None, reason: str = ""
) -> dict:
    """Delete the person with their face data: embeddings, thumbnail rows and files, track embeddings.

    Their observations stay without a person (``keep_observations``) or go with their tracks. ``reason``
    ends the audit entry's detail (why the system deleted them).
    """
    with transaction.atomic():
        lock_project(person.project_id)
        person = Person.objects.select_for_update().filter(pk=person.pk).first()
        if person is None:
            raise PeopleError("This person no longer exists.")
        files = list(person.thumbnails.values_list("image", flat=True))
        tracks = Track.objects.filter(person=person)
        people_changed(Observation.objects.filter(person=person), tracks)
        if keep_observations:
            observations = Observation.objects.filter(person=person).update(person=None)
            tracks.update(person=None, embedding=None)  # a track's mean embedding is face data too
        else:
            observations = Observation.objects.filter(person=person).delete()[0]
            Observation.objects.filter(track__in=tracks).delete()
            tracks.delete()
        label = person.display_name
        audit.record(
            actor,
            audit.Action.DELETED,
            person,
            request=request,
            object_repr=label,
            detail=f"observations {'kept unattributed' if keep_observations else 'removed'}: {observations}"
            + (f"; {reason}" if reason else ""),
        )
        person.thumbnails.all().delete()
        person.delete()
        delete_files_on_commit(files)
    return {"observations": observations, "thumbnails": len(files)}


def delete_people_in_no_session(project_id: int, person_ids: set[int], *, reason: str = "") -> int:
    """Delete those of the project's ``person_ids`` who appear in no session any more (no track, no
    observation), with their face data, as ``delete_person`` does; returns how many went.

    For retention that deletes whole sessions: a deletion by hand keeps people by design, but a user who
    chose not to keep results must not keep the faces of people seen only in the deleted sessions.
    """
    with transaction.atomic():
        lock_project(project_id)  # a finalize linking a new face to one of them has finished, or finds them gone
        seen = Exists(Track.objects.filter(person=OuterRef("pk")))
        observed = Exists(Observation.objects.filter(person=OuterRef("pk")))
        gone = Person.objects.filter(project_id=project_id, pk__in=person_ids).filter(~seen, ~observed)
        for person in gone:
            delete_person(person, keep_observations=False, reason=reason)
        return len(gone)
