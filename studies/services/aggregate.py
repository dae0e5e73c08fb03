"""Grouped sums of per-frame measures, computed in the database, and the baseline correction over them.

Every figure of a study is a mean of per-frame measures over some frames of some participants. The
database sums them per (session, participant) in one grouped query per condition (or per event), so a
project's observations are never loaded: only one row per group comes back. Means of sums are exact,
and both baseline operations are exact on sums too: the mean of ``x - b`` over a group is
``(sum x - n b) / n``, the mean of ``x / b`` is ``(sum x / b) / n`` (docs/studies.md).

Only the current analysis run of a session counts (as on every page), only frames of people linked to
a participant code, and faces below the quality bar are left out unless ``include_unreliable``
(sessions_app.reliability).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, Sum
from django.db.models.functions import Floor, NullIf

from inference.classes import EMOTIONS
from sessions_app.models import Marker, Observation, Session
from sessions_app.reliability import reliable_q
from studies.models import SessionCondition, StudySettings

try:  # the valence/arousal estimate (inference.affect), wherever this code runs beside it
    from inference import affect
except ImportError:  # a checkout from before the estimate: the stored measures alone
    affect = None


def _derived() -> dict[str, ExpressionWrapper]:
    """Per-frame measures computed in the query from the stored probabilities: name -> expression.
    inference.affect's estimate is the probability-weighted mean of the classes' places, per frame."""
    if affect is None:
        return {}
    total = NullIf(sum(F(e) for e in EMOTIONS), 0)

    def weighted(weights) -> ExpressionWrapper:
        return ExpressionWrapper(
            sum(F(e) * w for e, w in zip(EMOTIONS, weights, strict=True)) / total, output_field=FloatField()
        )

    return {"valence_estimate": weighted(affect.VALENCE), "arousal_estimate": weighted(affect.AROUSAL)}


# Per-frame measures averaged by the studies: the stored columns, then the derived ones. The code is
# generic over the names (``measures`` is a parameter everywhere): a new measure is one more entry.
STORED: list[str] = [*EMOTIONS, "attention"]
DERIVED = _derived()
MEASURES: list[str] = [*STORED, *DERIVED]


def summed(measure: str) -> Sum:
    return Sum(DERIVED.get(measure, measure))


class StudyError(ValueError):
    """A request the study cannot answer (unknown condition, measure or event type): shown as is."""


@dataclass(frozen=True)
class Span:
    """Frames of one session's current run, in [start, end) seconds (None: unbounded)."""

    session_id: int
    run_id: int
    start: float | None = None
    end: float | None = None

    def q(self) -> Q:
        q = Q(session_id=self.session_id, run_id=self.run_id)
        if self.start is not None:
            q &= Q(time__gte=self.start)
        if self.end is not None:
            q &= Q(time__lt=self.end)
        return q


@dataclass
class Sums:
    """Per-group frame counts and measure sums (group: (session, participant) or participant)."""

    measures: list[str]
    n: dict[tuple, int] = field(default_factory=dict)
    s: dict[tuple, np.ndarray] = field(default_factory=dict)

    def add(self, key: tuple, n: int, sums: np.ndarray) -> None:
        if key in self.n:
            self.n[key] += n
            self.s[key] = self.s[key] + sums
        else:
            self.n[key] = n
            self.s[key] = sums

    def means(self) -> dict[tuple, np.ndarray]:
        return {k: self.s[k] / self.n[k] for k in self.n if self.n[k] > 0}


PARTICIPANT = "person__participant_link__participant_id"


def check_measures(measures: list[str] | None) -> list[str]:
    if not measures:
        return list(MEASURES)
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise StudyError(f"Unknown measure {unknown[0]!r}; choose from {', '.join(MEASURES)}.")
    return list(dict.fromkeys(measures))


def frames(project, include_unreliable: bool):
    """The observations the studies count: the project's sessions' current runs, linked people only."""
    qs = Observation.objects.filter(
        session__project=project, run_id=F("session__current_run_id"), person__participant_link__isnull=False
    )
    return qs if include_unreliable else qs.filter(reliable_q())


def grouped_sums(
    project, spans: list[Span], measures: list[str], include_unreliable: bool, by_session: bool = True
) -> Sums:
    """One query: frame counts and measure sums of ``spans`` per (session, participant) or per
    (participant,)."""
    out = Sums(measures)
    if not spans:
        return out
    where = Q()
    for span in spans:
        where |= span.q()
    keys = ["session_id", PARTICIPANT] if by_session else [PARTICIPANT]
    rows = (
        frames(project, include_unreliable)
        .filter(where)
        .values(*keys)
        .annotate(_n=Count("id"), **{f"_s_{m}": summed(m) for m in measures})
        .order_by()
    )
    for row in rows:
        key = tuple(row[k] for k in keys)
        out.add(key, row["_n"], np.array([row[f"_s_{m}"] for m in measures], dtype=float))
    return out


def current_runs(project) -> dict[int, int]:
    """session id -> its current run id, for the project's sessions that show results."""
    return dict(Session.objects.filter(project=project, current_run__isnull=False).values_list("pk", "current_run_id"))


def condition_spans(condition, runs: dict[int, int]) -> list[Span]:
    rows = SessionCondition.objects.filter(condition=condition, session__project_id=condition.project_id)
    return [
        Span(sc.session_id, runs[sc.session_id], sc.start, sc.end)
        for sc in rows.only("session_id", "start", "end")
        if sc.session_id in runs
    ]


# --------------------------------------------------------------------------- baseline
@dataclass
class Baseline:
    """Baseline means per (session, participant) (modes first, markers) or per participant (condition)."""

    op: str
    per_session: bool
    means: dict[tuple, np.ndarray]

    def of(self, session_id: int, participant_id: int) -> np.ndarray | None:
        key = (session_id, participant_id) if self.per_session else (participant_id,)
        return self.means.get(key)

    def correct(self, sums: Sums) -> Sums:
        """The groups of ``sums`` corrected; a group whose participant has no baseline is left out (and an
        operand of 0 for division gives no value for that measure: NaN, left out of means)."""
        out = Sums(sums.measures)
        for key, n in sums.n.items():
            b = self.of(key[0], key[1])
            if b is None:
                continue
            if self.op == StudySettings.Op.DIVIDE:
                with np.errstate(divide="ignore", invalid="ignore"):
                    s = np.where(b != 0, sums.s[key] / b, np.nan)
            else:
                s = sums.s[key] - n * b
            out.add(key, n, s)
        return out


def study_settings(project) -> StudySettings:
    found = StudySettings.objects.filter(project=project).first()
    return found or StudySettings(project=project)


def marker_ranges(project, start_label: str, end_label: str, session_ids) -> dict[int, tuple[float, float]]:
    """Per session: from its first ``start_label`` marker to the first ``end_label`` marker after it."""
    out: dict[int, tuple[float, float]] = {}
    starts: dict[int, float] = {}
    rows = (
        Marker.objects.filter(session__project=project, session_id__in=session_ids, note__in=[start_label, end_label])
        .order_by("session_id", "time", "pk")
        .values_list("session_id", "time", "note")
    )
    for sid, t, note in rows:
        if sid in out:
            continue
        if note == start_label and sid not in starts:
            starts[sid] = t
        elif note == end_label and sid in starts and t > starts[sid]:
            out[sid] = (starts[sid], t)
    return out


def baseline(
    project, measures: list[str], include_unreliable: bool, runs: dict[int, int], settings: StudySettings | None = None
) -> Baseline | None:
    """The project's baseline means (None: no baseline configured)."""
    settings = settings or study_settings(project)
    mode = settings.mode
    if mode == StudySettings.Mode.FIRST:
        spans = [Span(sid, rid, 0.0, settings.first_seconds) for sid, rid in runs.items()]
        sums = grouped_sums(project, spans, measures, include_unreliable)
        return Baseline(settings.op, True, sums.means())
    if mode == StudySettings.Mode.MARKERS:
        ranges = marker_ranges(project, settings.start_label, settings.end_label, list(runs))
        spans = [Span(sid, runs[sid], a, b) for sid, (a, b) in ranges.items()]
        sums = grouped_sums(project, spans, measures, include_unreliable)
        return Baseline(settings.op, True, sums.means())
    if mode == StudySettings.Mode.CONDITION and settings.condition_id is not None:
        spans = condition_spans(settings.condition, runs)
        sums = grouped_sums(project, spans, measures, include_unreliable, by_session=False)
        return Baseline(settings.op, False, sums.means())
    return None


def per_participant(sums: Sums) -> dict[int, tuple[np.ndarray, int]]:
    """participant -> (mean of each measure over all its frames in ``sums``, frames)."""
    total_s: dict[int, np.ndarray] = {}
    total_n: dict[int, int] = defaultdict(int)
    for key, n in sums.n.items():
        pid = key[-1]
        total_s[pid] = total_s.get(pid, 0) + sums.s[key]
        total_n[pid] += n
    return {pid: (total_s[pid] / total_n[pid], total_n[pid]) for pid in total_s if total_n[pid] > 0}


def binned_sums(
    project, span: Span, origin: float, step: float, measures: list[str], include_unreliable: bool
) -> list[dict]:
    """Sums of ``span`` per (participant, bin): bin k holds frames within step/2 of ``origin + k step``."""
    return list(
        frames(project, include_unreliable)
        .filter(span.q())
        .annotate(_bin=Floor((F("time") - origin) / step + 0.5))
        .values(PARTICIPANT, "_bin")
        .annotate(_n=Count("id"), **{f"_s_{m}": summed(m) for m in measures})
        .order_by()
    )
