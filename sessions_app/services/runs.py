"""Analysis runs: results belong to a run, and a session shows its ``current_run``'s.

A first analysis (ingest, a live start) is current from its start, so its results show as they arrive. A
re-analysis runs beside the current one: finalize switches the pointer only when every segment of the new
run is done and then deletes the previous run's observations and tracks (its run row stays as history);
a failed run leaves the current one and its results untouched.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from emotionsite import workers
from sessions_app.models import AnalysisRun, Observation, Session, Track


def has_results(session: Session) -> bool:
    """Whether the session shows stored results now (a re-analysis then runs beside them)."""
    return current_observations(session).exists() or session.current_run_id is not None


def start_run(session: Session, *, current: bool) -> AnalysisRun:
    """A new running run of the session; ``current``: the session shows it at once (a first analysis)."""
    run = AnalysisRun.objects.create(session=session)
    if current:
        session.current_run = run
        Session.objects.filter(pk=session.pk).update(current_run=run)
    return run


def open_run_id(session_id: int) -> int | None:
    """The session's run in progress (the newest running one), or None."""
    return (
        AnalysisRun.objects.filter(session_id=session_id, status=AnalysisRun.Status.RUNNING)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def open_run_id_or_start(session: Session) -> int:
    """The run in progress, or a new current one (a session queued before runs existed)."""
    run_id = open_run_id(session.pk)
    return run_id if run_id is not None else start_run(session, current=session.current_run_id is None).pk


def current_observations(session: Session) -> QuerySet[Observation]:
    """The observations the session shows: its current run's (every session read goes through here)."""
    return Observation.objects.filter(session=session, run_id=session.current_run_id)


def current_tracks(session: Session) -> QuerySet[Track]:
    return Track.objects.filter(session=session, run_id=session.current_run_id)


def complete_run(session: Session, run_id: int) -> None:
    """Mark the run done and make it current; the previous current run's results go (caller holds the lock)."""
    run = AnalysisRun.objects.get(pk=run_id)
    previous = session.current_run_id
    AnalysisRun.objects.filter(pk=run_id).update(status=AnalysisRun.Status.DONE, finished=timezone.now())
    session.current_run_id = run_id
    session.model_versions = run.model_versions or session.model_versions
    session.save(update_fields=["current_run", "model_versions", "updated"])
    if previous != run_id:  # the previous run's rows (and a failed run's leftovers) go
        Observation.objects.filter(session=session).exclude(run_id=run_id).delete()
        Track.objects.filter(session=session).exclude(run_id=run_id).delete()


def fail_run(session_id: int) -> bool:
    """Mark the run in progress failed; True when the session still has a current run with results to show."""
    run_id = open_run_id(session_id)
    if run_id is not None:
        AnalysisRun.objects.filter(pk=run_id).update(status=AnalysisRun.Status.FAILED, finished=timezone.now())
    current = Session.objects.filter(pk=session_id).values_list("current_run_id", flat=True).first()
    if current is None:  # rows stored without a run: shown while no run is current
        return Observation.objects.filter(session_id=session_id, run__isnull=True).exists()
    return current != run_id


def loaded_weights() -> list[dict[str, str]]:
    """The emotion weights the inference workers report they loaded (``emotionsite.workers``); empty while
    none has reported (none running, or none has loaded its models yet)."""
    return workers.loaded_weights()


def current_weights_version() -> str:
    """The version(s) of the weights the inference workers load now, for the page ("" when unknown)."""
    return ", ".join(sorted({w["version"] for w in loaded_weights()}))


def made_with(run: AnalysisRun, loaded: dict[str, str]) -> bool:
    """Whether ``run`` was made with the ``loaded`` weights: the same bytes when the run recorded their
    hash, else (runs from before hashes were recorded) the same version."""
    digest = (run.model_versions or {}).get("emotion_sha256")
    if digest and loaded.get("sha256"):
        return digest == loaded["sha256"]
    return bool(run.weights_version) and run.weights_version == loaded.get("version")


def outdated(session: Session) -> bool:
    """True when the session's results come from weights that no inference worker loads now. Unknown
    (no worker has reported) is not outdated: a re-analysis offered then could change nothing."""
    if session.status != Session.Status.DONE or session.current_run_id is None:
        return False
    loaded = loaded_weights()
    return bool(loaded) and not any(made_with(session.current_run, w) for w in loaded)
