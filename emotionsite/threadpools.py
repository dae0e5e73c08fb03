"""Blocking work of the websocket consumers, kept off Channels' one shared thread.

Channels runs every ``sync_to_async`` / ``database_sync_to_async`` call of a Daphne process on a single
thread, one call after another, for every socket. Work that can take seconds there (probing and storing a
finished upload, storing a recording) made every other user's frames, chunks and log-ins wait behind it,
and so did file writes, which can stall while the disk catches up with such a copy. These run in two
bounded pools of their own instead:

- :func:`file_work` (``EMOTION_WEB_FILE_THREADS``): whole-file work, seconds to minutes. A flood of
  finishing uploads queues here rather than starting a thread each.
- :func:`io_work` (``EMOTION_WEB_IO_THREADS``): short file operations (a chunk written, a staging file
  opened, an upload started), apart from the long ones so that they never queue behind them.

Short database queries and Redis calls stay on the shared thread. Each call closes the thread's stale
database connections before and after, as ``database_sync_to_async`` does (Django's connections are per
thread). One consumer awaits its calls one at a time, so its own work keeps its order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings

T = TypeVar("T")

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    """The process's pool ``name`` of ``size`` threads, made on first use (threads start as work comes)."""
    with _lock:
        pool = _pools.get((name, size))
        if pool is None:
            pool = _pools[name, size] = ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix=f"web-{name}")
        return pool


async def file_work(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the pool for whole-file work (probe, copy into the media, transcode)."""
    pool = _pool("file", settings.EMOTION_WEB_FILE_THREADS)
    return await DatabaseSyncToAsync(fn, thread_sensitive=False, executor=pool)(*args, **kwargs)


async def io_work(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the pool for short file operations (writes of chunks, opens)."""
    pool = _pool("io", settings.EMOTION_WEB_IO_THREADS)
    return await DatabaseSyncToAsync(fn, thread_sensitive=False, executor=pool)(*args, **kwargs)
