"""Celery queue names, defined once. Each name can be overridden with EMOTION_QUEUE_<NAME>."""

from __future__ import annotations

import enum
import fnmatch

from emotionsite.env import env_str


class Queue(enum.StrEnum):
    LIVE = env_str("EMOTION_QUEUE_LIVE", "live")  # frames of live recordings: short, never behind long work
    INFERENCE = env_str("EMOTION_QUEUE_INFERENCE", "inference")  # uploaded videos, in segments
    SUMMARIES = env_str("EMOTION_QUEUE_SUMMARIES", "summaries")  # LLM work, long
    DEFAULT = env_str("EMOTION_QUEUE_DEFAULT", "default")


# Queues whose workers load the heavy vision models once per process.
VISION_QUEUES = frozenset({Queue.LIVE.value, Queue.INFERENCE.value})

# Task-name patterns -> queue. Later issues name their tasks to match (verb_noun, stable once queued).
TASK_ROUTES = {
    "*.analyse_frame": {"queue": Queue.LIVE.value},
    "*.analyse_live_frame": {"queue": Queue.LIVE.value},
    "*.serve_live_frames": {"queue": Queue.LIVE.value},
    "*.finish_live_session": {"queue": Queue.INFERENCE.value},
    "*.analyse_segment": {"queue": Queue.INFERENCE.value},
    "*.finalize_video": {"queue": Queue.INFERENCE.value},
    "*.prepare_playable": {"queue": Queue.INFERENCE.value},
    "summaries.generate_heuristic": {"queue": Queue.DEFAULT.value},  # quick: never behind an LLM
    "summaries.*": {"queue": Queue.SUMMARIES.value},
    "*": {"queue": Queue.DEFAULT.value},
}


def queue_for(task_name: str) -> str:
    """The queue TASK_ROUTES sends ``task_name`` to."""
    for pattern, route in TASK_ROUTES.items():
        if fnmatch.fnmatchcase(task_name, pattern):
            return route["queue"]
    return Queue.DEFAULT.value


class QueueTimeLimits:
    """Celery task annotation: time limits by queue (live frames short, summaries long).

    A task that sets ``time_limit`` itself keeps it; others on live/summaries get these, the rest the
    global ``task_time_limit``.
    """

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits

    def annotate(self, task) -> dict[str, int] | None:
        own = getattr(task, "time_limit", None)
        if own is not None and own != task.app.conf.task_time_limit:  # bound tasks copy the global limit
            return None
        limit = self.limits.get(queue_for(task.name))
        if limit is None:
            return None
        return {"time_limit": limit, "soft_time_limit": max(1, limit - max(5, limit // 10))}
