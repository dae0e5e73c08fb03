"""A file sent over /ws/upload/ as the browser sends it (upload.js), for the benchmarks and the tests that
must meet the real Daphne."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.wsclient import WebSocket

CHUNK = 256 * 1024  # as static/js/upload.js sends


@dataclass
class Upload:
    started: float  # monotonic: the first chunk sent
    complete: float  # the last chunk acknowledged: the server ingests the file from here
    answered: float  # its verdict arrived
    verdict: dict  # {"type": "accepted", "session_id", "url"} or {"type": "error", "message"}

    @property
    def ingest_seconds(self) -> float:
        return self.answered - self.complete


async def upload_file(
    ws_base: str, cookie: str, path: Path, *, chunk: int = CHUNK, ahead: int = 1, timeout: float = 300
) -> Upload:
    """Send ``path`` in ``chunk``-byte messages, at most ``ahead`` of them unacknowledged (upload.js: 1)."""
    size = path.stat().st_size
    ws = await WebSocket.connect(ws_base + "/ws/upload/", cookie=cookie)
    try:
        await ws.send_json({"type": "start", "name": path.name, "size": size, "title": path.stem})
        ready = await ws.recv_json(timeout=30)
        if ready.get("type") != "ready":
            raise RuntimeError(f"upload refused: {ready}")
        started, sent, acked = time.monotonic(), 0, 0
        with open(path, "rb") as fh:
            while acked < size:
                while sent < size and sent - acked < ahead * chunk:
                    data = fh.read(chunk)
                    await ws.send_bytes(data)
                    sent += len(data)
                ack = await ws.recv_json(timeout=timeout)
                if ack.get("type") != "ack":
                    raise RuntimeError(f"upload stopped at {acked} of {size} bytes: {ack}")
                acked = ack["offset"]
        complete = time.monotonic()
        verdict = await ws.recv_json(timeout=timeout)
        return Upload(started, complete, time.monotonic(), verdict)
    finally:
        await ws.close()
