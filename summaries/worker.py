"""A summaries worker process reports its CUDA and local model state (connected in SummariesConfig.ready)."""

from __future__ import annotations

import threading

from celery.signals import worker_process_init, worker_process_shutdown

from emotionsite.celery import consumed_queues, worker_hostname
from emotionsite.queues import Queue


def runs_summaries(queues: frozenset[str] | set[str]) -> bool:
    return not queues or Queue.SUMMARIES.value in queues


@worker_process_init.connect(dispatch_uid="summaries.record_worker_facts")
def record_summaries_facts(**kwargs) -> None:
    """For the web's status panel. In the pool process, not before the fork: checking CUDA initialises
    the driver, which a fork breaks. A thread, so the torch import does not delay the process's start.
    """
    if not runs_summaries(consumed_queues()):
        return
    from summaries.availability import record_worker_facts

    threading.Thread(target=record_worker_facts, args=(worker_hostname() or None,), daemon=True).start()


@worker_process_shutdown.connect(dispatch_uid="summaries.clear_worker_facts")
def clear_summaries_facts(**kwargs) -> None:
    if runs_summaries(consumed_queues()):
        from summaries.availability import clear_worker_facts

        clear_worker_facts()
