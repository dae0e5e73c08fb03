"""The people room's Celery tasks (the names stay those of sessions_app: queued and scheduled by name)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sessions_app.apply_retention")
def apply_retention() -> dict:
    """Delete session media older than each project's retention setting (run by Celery beat)."""
    from people import retention  # the app registry is ready when a task runs

    return retention.apply_retention()
