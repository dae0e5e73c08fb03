"""Writes of a study: participant codes and their people, conditions and where they apply, baseline
settings. Callers have checked access (projects.access, Action.PEOPLE / Action.RECORD); every change is
audited (names of the changed fields, never values)."""

from __future__ import annotations

import math
import re

from django.db import IntegrityError, transaction

from audit import services as audit
from people.models import Person
from sessions_app.models import Session
from studies.models import CODE_MAX, LABEL_MAX, Condition, Participant, ParticipantLink, SessionCondition, StudySettings
from studies.services.aggregate import StudyError

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _code(value: str) -> str:
    code = (value or "").strip()
    if not code or len(code) > CODE_MAX or not CODE_RE.match(code):
        raise StudyError(
            f"A participant code is 1 to {CODE_MAX} letters, digits, '-', '_' or '.', starting with a letter or digit."
        )
    return code


def _label(value: str) -> str:
    label = " ".join((value or "").split())
    if not label or len(label) > LABEL_MAX or "," in label or "|" in label:
        # commas separate labels in the comparison's query, "|" joins them in the long CSV
        raise StudyError(f"A condition label is 1 to {LABEL_MAX} characters, without ',' or '|'.")
    return label


def add_participant(actor, project, code: str, note: str = "", request=None) -> Participant:
    code = _code(code)
    try:
        with transaction.atomic():
            p = Participant.objects.create(project=project, code=code, note=(note or "").strip()[:200])
    except IntegrityError:
        raise StudyError(f"The code {code!r} is already used in this project.") from None
    audit.record_change(actor, p, ["code", "note"], request=request, created=True, via="study")
    return p


def update_participant(actor, participant: Participant, *, code=None, note=None, request=None) -> Participant:
    changed = []
    if code is not None and _code(code) != participant.code:
        participant.code = _code(code)
        changed.append("code")
    if note is not None:
        participant.note = note.strip()[:200]
        changed.append("note")
    try:
        with transaction.atomic():
            participant.save()
    except IntegrityError:
        raise StudyError(f"The code {participant.code!r} is already used in this project.") from None
    audit.record_change(actor, participant, changed, request=request, via="study")
    return participant


def delete_participant(actor, participant: Participant, request=None) -> None:
    audit.record(actor, audit.Action.DELETED, participant, request=request, detail="participant code (study)")
    participant.delete()


def link_person(actor, participant: Participant, person_id, request=None) -> ParticipantLink:
    """Person ``person_id`` of the same project is ``participant`` (replacing an earlier code of theirs)."""
    person = Person.objects.filter(pk=_int(person_id, "person"), project_id=participant.project_id).first()
    if person is None:
        raise StudyError("No such person in this project.")
    link, _ = ParticipantLink.objects.update_or_create(person=person, defaults={"participant": participant})
    audit.record_change(actor, participant, ["people"], request=request, via="study")
    return link


def unlink_person(actor, project, person_id, request=None) -> None:
    link = ParticipantLink.objects.filter(person_id=_int(person_id, "person"), participant__project=project).first()
    if link is None:
        raise StudyError("That person has no participant code in this project.")
    participant = link.participant
    link.delete()
    audit.record_change(actor, participant, ["people"], request=request, via="study")


def add_condition(actor, project, label: str, request=None) -> Condition:
    label = _label(label)
    try:
        with transaction.atomic():
            c = Condition.objects.create(project=project, label=label)
    except IntegrityError:
        raise StudyError(f"The condition {label!r} already exists in this project.") from None
    audit.record_change(actor, c, ["label"], request=request, created=True, via="study")
    return c


def delete_condition(actor, condition: Condition, request=None) -> None:
    audit.record(actor, audit.Action.DELETED, condition, request=request, detail="condition (study)")
    condition.delete()


def _int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StudyError(f"Choose a {what}.") from None


def _seconds(value, what: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise StudyError(f"The {what} must be a number of seconds.") from None
    if not math.isfinite(x) or x < 0:
        raise StudyError(f"The {what} must be a number of seconds, 0 or more.")
    return x


def assign_condition(actor, condition: Condition, session_id, start=None, end=None, request=None) -> SessionCondition:
    """``condition`` applies to a session of its project, whole (no start and end) or in [start, end)."""
    session = Session.objects.filter(pk=_int(session_id, "session"), project_id=condition.project_id).first()
    if session is None:
        raise StudyError("No such session in this project.")
    start, end = _seconds(start, "start"), _seconds(end, "end")
    if (start is None) != (end is None):
        raise StudyError("Give both a start and an end, or neither (the whole session).")
    if start is not None and end <= start:
        raise StudyError("The end must come after the start.")
    sc = SessionCondition.objects.create(session=session, condition=condition, start=start, end=end)
    audit.record_change(actor, session, ["condition"], request=request, via="study")
    return sc


def remove_assignment(actor, assignment: SessionCondition, request=None) -> None:
    audit.record_change(actor, assignment.session, ["condition"], request=request, via="study")
    assignment.delete()


def set_baseline(
    actor, project, *, mode, op=None, first_seconds=None, start_label=None, end_label=None, condition=None, request=None
) -> StudySettings:
    if mode not in StudySettings.Mode.values:
        raise StudyError(f"The baseline mode is one of {', '.join(StudySettings.Mode.values)}.")
    settings, _ = StudySettings.objects.get_or_create(project=project)
    settings.mode = mode
    if op is not None:
        if op not in StudySettings.Op.values:
            raise StudyError("The baseline operation is subtract or divide.")
        settings.op = op
    if first_seconds is not None and first_seconds != "":
        seconds = _seconds(first_seconds, "baseline length")
        if not seconds or seconds > 3600:
            raise StudyError("The baseline length must be more than 0 and at most 3600 seconds.")
        settings.first_seconds = seconds
    if start_label is not None:
        settings.start_label = start_label.strip()[:200]
    if end_label is not None:
        settings.end_label = end_label.strip()[:200]
    if condition is not None and condition != "":
        found = Condition.objects.filter(project=project, label=str(condition)).first()
        if found is None:
            raise StudyError(f"No condition {condition!r} in this project.")
        settings.condition = found
    if mode == StudySettings.Mode.MARKERS and not (settings.start_label and settings.end_label):
        raise StudyError("A marked baseline needs a start and an end marker note.")
    if mode == StudySettings.Mode.CONDITION and settings.condition_id is None:
        raise StudyError("A baseline condition must be chosen.")
    settings.save()
    audit.record(actor, audit.Action.SETTINGS, project, request=request, detail="study baseline")
    return settings
