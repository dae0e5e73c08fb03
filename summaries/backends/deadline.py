"""A wall-clock limit on one HTTP exchange with a remote LLM: connect, TLS, request and the whole reply.

httpx's timeouts are per operation: a server that sends one byte every 100 s never trips a 120 s read
timeout and can hold the summaries worker for the task's whole time limit. :class:`CallDeadline` hands
httpx a ``trace`` extension that keeps a duplicate of each new connection's socket; at the deadline a
timer thread shuts that socket down, which wakes the blocked read (TLS included: it is the same
connection) and makes it fail. The caller then asks :attr:`CallDeadline.expired` to say why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class CallDeadline:
    """Use as a context manager around the request; pass :meth:`trace` as the ``trace`` extension."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> CallDeadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()  # the duplicate only; httpx closes its own
            self._sockets.clear()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        raw = info["return_value"].get_extra_info("socket")
        if raw is None:
            return
        # a duplicate: TLS detaches the original socket object, but both name the same connection
        sock = raw.dup()
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _cut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its owner
        sock.shutdown(socket.SHUT_RDWR)
