"""Comparisons of conditions, per participant and across participants, lines per participant across
sessions, and event-locked averages (docs/studies.md has the formulas)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from sessions_app.models import Marker, Session
from studies.models import Condition, Participant
from studies.services import stats
from studies.services.aggregate import (
    PARTICIPANT,
    Span,
    StudyError,
    baseline,
    binned_sums,
    check_measures,
    condition_spans,
    current_runs,
    grouped_sums,
    per_participant,
)

MAX_WINDOW = 120.0  # seconds either side of an event
MIN_STEP = 0.05


@dataclass(frozen=True)
class Options:
    measures: list[str]
    corrected: bool = False  # apply the project's baseline
    include_unreliable: bool = False
    n_resamples: int = stats.DEFAULT_RESAMPLES
    seed: int = stats.DEFAULT_SEED


def options(measures=None, corrected=False, include_unreliable=False, n_resamples=None, seed=None) -> Options:
    n_resamples = stats.DEFAULT_RESAMPLES if n_resamples is None else int(n_resamples)
    if not 100 <= n_resamples <= stats.MAX_RESAMPLES:
        raise StudyError(f"The number of resamples must be between 100 and {stats.MAX_RESAMPLES}.")
    return Options(
        check_measures(measures),
        bool(corrected),
        bool(include_unreliable),
        n_resamples,
        stats.DEFAULT_SEED if seed is None else int(seed),
    )


def codes(project) -> dict[int, str]:
    return dict(Participant.objects.filter(project=project).values_list("pk", "code"))


def conditions_by_label(project, labels: list[str]) -> list[Condition]:
    if not labels:
        raise StudyError("Choose at least one condition.")
    found = {c.label: c for c in Condition.objects.filter(project=project, label__in=labels)}
    missing = [label for label in labels if label not in found]
    if missing:
        raise StudyError(f"No condition {missing[0]!r} in this project.")
    return [found[label] for label in dict.fromkeys(labels)]


def _corrected(sums, opts: Options, base):
    return base.correct(sums) if opts.corrected and base is not None else sums


def _across(values: dict[int, np.ndarray], frames_of: dict[int, int], opts: Options) -> dict:
    """Across-participant mean and interval per measure (participants with a value for it)."""
    out = {}
    pids = sorted(values)
    for j, m in enumerate(opts.measures):
        col = [(pid, values[pid][j]) for pid in pids if np.isfinite(values[pid][j])]
        iv = stats.interval([v for _, v in col], opts.n_resamples, opts.seed)
        out[m] = {**iv.as_dict(), "n_frames": int(sum(frames_of[pid] for pid, _ in col))}
    return out


def compare(project, labels: list[str], opts: Options) -> dict:
    """For each condition: per-participant means and the across-participant mean with its percentile
    bootstrap 95% interval (resampling participants); with two conditions, the paired difference (second
    minus first) over the participants in both."""
    conditions = conditions_by_label(project, labels)
    runs = current_runs(project)
    base = baseline(project, opts.measures, opts.include_unreliable, runs) if opts.corrected else None
    names = codes(project)
    result = {
        "measures": opts.measures,
        "baseline": opts.corrected and base is not None,
        "include_unreliable": opts.include_unreliable,
        "n_resamples": opts.n_resamples,
        "seed": opts.seed,
        "conditions": [],
        "paired": None,
    }
    per_condition: list[dict[int, tuple[np.ndarray, int]]] = []
    for condition in conditions:
        sums = grouped_sums(project, condition_spans(condition, runs), opts.measures, opts.include_unreliable)
        parts = per_participant(_corrected(sums, opts, base))
        per_condition.append(parts)
        result["conditions"].append(
            {
                "condition": condition.label,
                "n_participants": len(parts),
                "n_frames": int(sum(n for _, n in parts.values())),
                "across": _across({p: v for p, (v, _) in parts.items()}, {p: n for p, (_, n) in parts.items()}, opts),
                "participants": [
                    {
                        "participant": names.get(pid, str(pid)),
                        "n_frames": n,
                        "means": {m: stats.number(v[j]) for j, m in enumerate(opts.measures)},
                    }
                    for pid, (v, n) in sorted(parts.items(), key=lambda kv: names.get(kv[0], ""))
                ],
            }
        )
    if len(per_condition) == 2:
        result["paired"] = paired(per_condition[0], per_condition[1], opts, names, [c.label for c in conditions])
    return result


def paired(first: dict, second: dict, opts: Options, names: dict[int, str], labels: list[str]) -> dict:
    both = sorted(set(first) & set(second))
    diffs = {pid: second[pid][0] - first[pid][0] for pid in both}
    frames_of = {pid: first[pid][1] + second[pid][1] for pid in both}
    return {
        "difference": f"{labels[1]} - {labels[0]}",
        "n_participants": len(both),
        "across": _across(diffs, frames_of, opts),
        "participants": [
            {
                "participant": names.get(pid, str(pid)),
                "differences": {m: stats.number(diffs[pid][j]) for j, m in enumerate(opts.measures)},
            }
            for pid in both
        ],
    }


def lines(project, opts: Options) -> dict:
    """Each participant's mean per session (a person's course across sessions), sessions in time order."""
    runs = current_runs(project)
    base = baseline(project, opts.measures, opts.include_unreliable, runs) if opts.corrected else None
    sums = grouped_sums(project, [Span(s, r) for s, r in runs.items()], opts.measures, opts.include_unreliable)
    sums = _corrected(sums, opts, base)
    sessions = list(Session.objects.filter(pk__in=runs).order_by("created", "pk").values("pk", "title", "created"))
    order = {s["pk"]: i for i, s in enumerate(sessions)}
    names = codes(project)
    series: dict[int, list] = defaultdict(list)
    for (sid, pid), n in sums.n.items():
        mean = sums.s[(sid, pid)] / n
        series[pid].append(
            {"session": sid, "n_frames": n, "means": {m: stats.number(mean[j]) for j, m in enumerate(opts.measures)}}
        )
    return {
        "measures": opts.measures,
        "baseline": opts.corrected and base is not None,
        "sessions": [{"id": s["pk"], "title": s["title"], "created": s["created"].isoformat()} for s in sessions],
        "participants": [
            {"participant": names.get(pid, str(pid)), "points": sorted(points, key=lambda p: order[p["session"]])}
            for pid, points in sorted(series.items(), key=lambda kv: names.get(kv[0], ""))
        ],
    }


def event_types(project) -> list[dict]:
    """The project's marker notes as event types, with how many markers each has."""
    from django.db.models import Count

    rows = (
        Marker.objects.filter(session__project=project)
        .exclude(note="")
        .values("note")
        .annotate(n=Count("id"))
        .order_by("note")
    )
    return [{"label": r["note"], "markers": r["n"]} for r in rows]


def event_locked(project, event: str, window: float, step: float, opts: Options) -> dict:
    """Each measure from -window to +window seconds around the markers whose note is ``event``, on the grid
    ``k step``: per participant the mean over their events of the per-event bin means, then the mean
    across participants with its bootstrap interval per grid point."""
    if not (isinstance(window, float | int) and 0 < window <= MAX_WINDOW and math.isfinite(window)):
        raise StudyError(f"The window must be between 0 and {MAX_WINDOW:g} seconds.")
    if not (math.isfinite(step) and MIN_STEP <= step <= window):
        raise StudyError(f"The step must be between {MIN_STEP:g} s and the window.")
    if not event:
        raise StudyError("Choose an event type (a marker note).")
    runs = current_runs(project)
    base = baseline(project, opts.measures, opts.include_unreliable, runs) if opts.corrected else None
    k_max = int(math.floor(window / step + 1e-9))
    grid = [round(k * step, 6) for k in range(-k_max, k_max + 1)]
    markers = Marker.objects.filter(session__project=project, session_id__in=runs, note=event).order_by("pk")
    markers = list(markers.values_list("session_id", "time"))
    # per participant, per bin: the list of per-event means
    per: dict[int, dict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    frames_of: dict[int, int] = defaultdict(int)
    m = len(opts.measures)
    for sid, t in markers:
        span = Span(sid, runs[sid], t - (k_max + 0.5) * step, t + (k_max + 0.5) * step)
        for row in binned_sums(project, span, t, step, opts.measures, opts.include_unreliable):
            k, pid, n = int(row["_bin"]), row[PARTICIPANT], row["_n"]
            if not -k_max <= k <= k_max:
                continue
            s = np.array([row[f"_s_{x}"] for x in opts.measures], dtype=float)
            if opts.corrected and base is not None:
                b = base.of(sid, pid)
                if b is None:
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    s = np.where(b != 0, s / b, np.nan) if base.op == "divide" else s - n * b
            per[pid][k].append(s / n)
            frames_of[pid] += n
    names = codes(project)
    curves = {x: [] for x in opts.measures}
    for k, t in zip(range(-k_max, k_max + 1), grid, strict=True):
        rows = [np.nanmean(np.vstack(per[pid][k]), axis=0) for pid in sorted(per) if per[pid].get(k)]
        values = np.vstack(rows) if rows else np.empty((0, m))
        for j, x in enumerate(opts.measures):
            col = values[:, j][np.isfinite(values[:, j])] if values.size else np.empty(0)
            iv = stats.interval(col, opts.n_resamples, opts.seed)
            curves[x].append({"t": t, **iv.as_dict()})
    return {
        "event": event,
        "events": len(markers),
        "window": window,
        "step": step,
        "measures": opts.measures,
        "baseline": opts.corrected and base is not None,
        "n_participants": len(per),
        "n_frames": int(sum(frames_of.values())),
        "participants": [names.get(pid, str(pid)) for pid in sorted(per, key=lambda p: names.get(p, ""))],
        "curves": curves,
    }
