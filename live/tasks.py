"""Celery tasks of live recordings (imported by ``LiveConfig.ready`` so workers register them)."""

from __future__ import annotations

import base64

from celery import shared_task


@shared_task(name="sessions_app.serve_live_frames", ignore_result=True)
def serve_live_frames(session_id: int) -> None:
    """Queue ``live``: analyse the recording's waiting frames in order (unless another process serves it)."""
    from live import services as live

    live.serve_frames(session_id)


@shared_task(name="sessions_app.analyse_live_frame", ignore_result=True)
def analyse_live_frame(session_id: int, seq: int, t: float, jpeg_b64: str) -> None:
    """Queue ``live``: a frame queued with its data (consumers before the frames waited in Redis)."""
    from live import services as live

    live.analyse_frame(session_id, seq, t, base64.b64decode(jpeg_b64))


@shared_task(name="sessions_app.finish_live_session", acks_late=True)
def finish_live_session(session_id: int) -> str:
    """Queue ``inference``: transcode the recording, fill the skipped frames, finalize."""
    from live import services as live

    return live.finish(session_id)


@shared_task(name="sessions_app.finish_live", acks_late=True)
def finish_live(session_id: int, generation: int, staging: str, lost_time: float) -> str:
    """Queue ``default``: a live socket closed without Stop and was not resumed in time; keep its
    recording and finish the session as Stop would (idempotent: a resumed or finished session is left)."""
    from live import resume as live_resume

    return live_resume.finish_after_disconnect(session_id, generation, staging, lost_time)


@shared_task(name="sessions_app.reap_live")
def reap_live() -> list[int]:
    """Queue ``default`` (Celery beat): finish live sessions whose socket vanished without a disconnect."""
    from live import resume as live_resume

    return live_resume.reap_abandoned()
