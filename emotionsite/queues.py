"""Celery queue names, defined once. Each name can be overridden with EMOTION_QUEUE_<NAME>."""

from __future__ import annotations

import enum

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
    "*.analyse_segment": {"queue": Queue.INFERENCE.value},
    "*.finalize_video": {"queue": Queue.INFERENCE.value},
    "summaries.*": {"queue": Queue.SUMMARIES.value},
    "*": {"queue": Queue.DEFAULT.value},
}
