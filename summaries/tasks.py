"""Celery tasks of the summaries app: thin wrappers over :func:`summaries.services.run_summary`.

Two names, two queues (``emotionsite.queues.TASK_ROUTES``): LLM summaries go to ``summaries``, whose one
process may be busy for minutes; heuristic ones take a second and go to ``default``, so they never wait
behind an LLM.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="summaries.generate", acks_late=True)
def generate_summary(summary_id: int) -> str:
    """Make one stored LLM summary (queue ``summaries``); idempotent, so a redelivered message is harmless."""
    from summaries.services import run_summary

    return run_summary(summary_id)


@shared_task(name="summaries.generate_heuristic", acks_late=True)
def generate_heuristic_summary(summary_id: int) -> str:
    """Make one stored heuristic summary (queue ``default``); refuses LLM rows, which belong on ``summaries``."""
    from summaries.services import run_summary

    return run_summary(summary_id, heuristic_only=True)
