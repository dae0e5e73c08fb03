"""The Celery app. Its configuration is the CELERY_* block of settings; this adds the model warm-up hook."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import celeryd_init, task_postrun, worker_process_init, worker_ready, worker_shutdown

from emotionsite.queues import VISION_QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emotionsite.settings")

logger = logging.getLogger(__name__)

app = Celery("emotionsite")
app.config_from_object("django.conf:settings", namespace="CELERY")


app.autodiscover_tasks()

_consumed_queues: set[str] = set()
_worker_hostname = ""


@celeryd_init.connect
def _remember_queues(sender=None, instance=None, conf=None, options=None, **kwargs) -> None:
    """Record which queues this worker consumes, before the pool forks its processes."""
    global _worker_hostname
    _worker_hostname = str(sender or "")
    queues = (options or {}).get("queues") or []
    if isinstance(queues, str):
        queues = queues.split(",")
    _consumed_queues.update(q.strip() for q in queues if q.strip())


def needs_vision_models(queues: set[str]) -> bool:
    # A worker without -Q consumes every queue, the vision ones included.
    return not queues or bool(queues & VISION_QUEUES)


@worker_process_init.connect
def _warm_up_models(**kwargs) -> None:
    """Load the heavy vision models once per worker process, only where live/inference work runs."""
    from django.conf import settings

    if not settings.EMOTION_WORKER_WARMUP or not needs_vision_models(_consumed_queues):
        return
    try:
        import inference
    except ImportError:
        logger.warning("inference package not importable; skipping model warm-up")
        return
    warmup = getattr(inference, "warmup", None)
    if callable(warmup):
        logger.info("warming up vision models (device=%s)", settings.EMOTION_WORKER_DEVICE)
        warmup(device=settings.EMOTION_WORKER_DEVICE)
        from emotionsite import workers

        workers.report_loaded_weights(_worker_hostname)


@task_postrun.connect
def _report_weights_after_task(**kwargs) -> None:
    """A pool process that loaded its models on demand (warm-up off) reports them after a task."""
    from django.conf import settings

    if _worker_hostname and needs_vision_models(_consumed_queues):
        from emotionsite import workers

        workers.report_loaded_weights(_worker_hostname, at_most_every=settings.EMOTION_WORKER_BEAT_SECONDS)


@worker_ready.connect
def _start_publishing(sender=None, **kwargs) -> None:
    """The main process publishes its host and load for the workers page (emotionsite.workers)."""
    from emotionsite import workers

    workers.start_heartbeat(_worker_hostname, frozenset(_consumed_queues))


@worker_shutdown.connect
def _stop_publishing(sender=None, **kwargs) -> None:
    from emotionsite import workers

    workers.stop_heartbeat(_worker_hostname)


def consumed_queues() -> frozenset[str]:
    """The queues this worker process consumes (empty: all of them, or not a worker)."""
    return frozenset(_consumed_queues)


def worker_hostname() -> str:
    """This worker's node name ("" outside a worker)."""
    return _worker_hostname


def _survive_broker_restart() -> None:
    """Keep the worker alive when Redis restarts while it holds unacknowledged messages.

    Celery 5.7's consumer, after losing the broker, first collects the connection and then closes it;
    the close tries to restore unacknowledged messages (late-acknowledged tasks, countdown tasks)
    through the collected transport and raises AttributeError, which Celery treats as unrecoverable:
    the whole worker exits. Those messages stay in Redis' unacked set, which kombu restores after the
    visibility timeout or at the next worker start, and the segment leases reclaim the analysis
    sooner; so the error is logged and the consumer goes on to reconnect.
    """
    from celery.worker.consumer.consumer import Consumer

    original = Consumer.on_connection_error_after_connected
    if getattr(original, "_emotion_patched", False):
        return

    def on_connection_error_after_connected(self, exc):
        try:
            original(self, exc)
        except AttributeError:
            logger.warning("broker connection lost: unacknowledged messages left for later restore", exc_info=True)

    on_connection_error_after_connected._emotion_patched = True
    Consumer.on_connection_error_after_connected = on_connection_error_after_connected


_survive_broker_restart()
