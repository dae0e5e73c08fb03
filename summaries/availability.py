"""Which summary backends a user can use now, and the facts the status panel shows.

The web process cannot see the summaries worker's GPU or model cache, so each summaries worker process
records its facts in Redis when it starts (``record_worker_facts``, from ``emotionsite.celery``) and
updates them while it downloads or loads the local model; a worker that stops removes its entry. With no
report, CUDA is "unknown" and the local model is judged from this process's cache (same machine).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings

from emotionsite import redisconn
from summaries.backends import local, remote
from summaries.base import Availability

logger = logging.getLogger(__name__)

HEURISTIC, LOCAL, REMOTE = "heuristic", "local", "remote"  # Summary.Backend values
LABELS = {HEURISTIC: "Heuristic", LOCAL: "Local LLM", REMOTE: "Remote LLM"}
STATUS_TEXT = {
    "loaded": "loaded in the summaries worker",
    "cached": "in the local cache (loads on first use)",
    "needs_download": "not in the local cache: would need a download",
    "missing": "folder not found",
}

_worker_name = ""  # set in a summaries worker process by record_worker_facts
_facts_lock = threading.Lock()  # the refresher, the loader and download progress all write the facts
REFRESH_S = 60  # a running worker re-stamps its facts this often...
MAX_AGE_S = 300  # ...so facts older than this belong to a worker that died without clearing them


def _facts_key() -> str:
    return f"{settings.CHANNEL_LAYERS['default']['CONFIG'].get('prefix', 'emotion')}:summaries:workers"


def _redis() -> redis.Redis:
    return redisconn.client(2)


def _write(name: str, facts: dict[str, Any]) -> None:
    try:
        _redis().hset(_facts_key(), name, json.dumps(facts))
    except (redis.RedisError, OSError):  # the panel is informative only; never fail a worker over it
        logger.warning("could not record summaries worker facts", exc_info=True)


def record_worker_facts(worker_name: str | None = None) -> dict[str, Any]:
    """In a summaries worker process: CUDA, the local model and its state, stored for the web's panel."""
    global _worker_name
    _worker_name = worker_name or socket.gethostname()
    cuda = local.cuda_available()
    name = local.local_model_name(cuda)
    facts = {
        "worker": _worker_name,
        "cuda": cuda,
        "local_model": name,
        "local_status": local.local_model_status(name),
        "local_device": "",
        "local_download": None,
        "allow_download": settings.EMOTION_LLM_ALLOW_DOWNLOAD,
        "reported": time.time(),
    }
    with _facts_lock:
        _write(_worker_name, facts)
    threading.Thread(target=_keep_reporting, name="summaries-facts", daemon=True).start()
    return facts


def _keep_reporting() -> None:
    while _worker_name:
        time.sleep(REFRESH_S)
        update_worker_facts()


def update_worker_facts(**changes: Any) -> None:
    """Merge ``changes`` into this worker's facts (no-op outside a summaries worker)."""
    if not _worker_name:
        return
    with _facts_lock:
        current = worker_facts(_worker_name, fresh_only=False) or {"worker": _worker_name}
        current.update(changes, reported=time.time())
        _write(_worker_name, current)


def clear_worker_facts() -> None:
    global _worker_name
    name, _worker_name = _worker_name, ""  # also stops the refresher
    if not name:
        return
    try:
        with _facts_lock:
            _redis().hdel(_facts_key(), name)
    except (redis.RedisError, OSError):
        logger.warning("could not clear summaries worker facts", exc_info=True)


def worker_facts(worker_name: str | None = None, *, fresh_only: bool = True) -> dict[str, Any] | None:
    """One worker's facts, or the most recently reported of all; None when no (living) worker reported."""
    try:
        raw = _redis().hgetall(_facts_key())
    except (redis.RedisError, OSError):
        return None
    reports = []
    for name, value in raw.items():
        try:
            facts = json.loads(value)
        except ValueError:
            continue
        if fresh_only and time.time() - facts.get("reported", 0) > MAX_AGE_S:
            continue  # a worker killed without clearing its entry
        if worker_name is None or name.decode() == worker_name:
            reports.append(facts)
    return max(reports, key=lambda f: f.get("reported", 0)) if reports else None


def _local_state(facts: dict[str, Any] | None) -> tuple[str, str, bool | None]:
    """(model name, status, cuda) as the worker reported them, else as this process sees the cache."""
    cuda = facts.get("cuda") if facts else None
    name = local.local_model_name(bool(cuda))  # no report: the CPU default, and no torch import here
    if facts and facts.get("local_model") == name and facts.get("local_status"):
        return name, facts["local_status"], cuda
    return name, local.local_model_status(name), cuda


LOCAL_UNAVAILABLE = "The local model is not available on this server; ask your administrator."


def for_viewer(user, backends: dict[str, Availability]) -> dict[str, Availability]:
    """The reasons ``user`` may read: the local model's (cache, CUDA, settings) are the operator's business,
    so only staff see them; everyone else gets a plain sentence (remote reasons are the user's own settings)."""
    if getattr(user, "is_staff", False):
        return backends
    return {
        key: Availability(False, LOCAL_UNAVAILABLE) if key == LOCAL and not a.available else a
        for key, a in backends.items()
    }


def backends_for(user, facts: dict[str, Any] | None = None) -> dict[str, Availability]:
    """Availability of each backend for ``user``, keyed by Summary.Backend value (heuristic always),
    with the reasons ``user`` may read."""
    facts = worker_facts() if facts is None else facts
    return for_viewer(user, _backends(user, *_local_state(facts)))


def _backends(user, name: str, status: str, cuda: bool | None) -> dict[str, Availability]:
    return {
        HEURISTIC: Availability(True),
        LOCAL: local.availability_for(name, status, cuda=cuda),
        REMOTE: remote.remote_availability(user),
    }


def status_panel(user) -> dict[str, Any]:
    """What the LLM settings page shows: worker facts, local model state, remote settings, backends."""
    from summaries.models import LLMSettings

    facts = worker_facts()
    name, status, cuda = _local_state(facts)
    row = LLMSettings.objects.filter(user=user).first()
    # the local state once: it may scan the model cache
    availability = for_viewer(user, _backends(user, name, status, cuda))
    download = facts.get("local_download") if facts else None
    return {
        "staff": bool(getattr(user, "is_staff", False)),  # the operator's facts below are shown to staff only
        "worker": facts.get("worker") if facts else "",
        "reported": datetime.fromtimestamp(facts["reported"], tz=UTC) if facts and facts.get("reported") else None,
        "cuda": cuda,  # None: no summaries worker reported
        "local_model": name,
        "local_model_configured": bool(settings.EMOTION_LOCAL_LLM_MODEL),
        "local_status": status,
        "local_status_text": STATUS_TEXT.get(status, status),
        "local_device": (facts or {}).get("local_device", ""),
        "local_download": download if isinstance(download, int | float) and download < 1 else None,
        "allow_download": settings.EMOTION_LLM_ALLOW_DOWNLOAD,
        "remote_url_set": bool(row and row.remote_url),
        "remote_model_set": bool(row and row.remote_model),
        "api_key_set": bool(row and row.has_api_key),
        "backends": [
            {"key": key, "label": LABELS[key], "available": a.available, "reason": a.reason}
            for key, a in availability.items()
        ],
        "gpu_default": local.GPU_DEFAULT_MODEL,
        "cpu_default": local.CPU_DEFAULT_MODEL,
        "cpu_max_params": local.CPU_MAX_PARAMS_HINT,
    }
