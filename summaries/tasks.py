"""Celery task of the summaries app: a thin wrapper over :func:`summaries.services.run_summary`."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="summaries.generate", acks_late=True)
def generate_summary(summary_id: int) -> str:
    """Make one stored summary (queue ``summaries``); idempotent, so a redelivered message is harmless."""
    from summaries.services import run_summary

    return run_summary(summary_id)
