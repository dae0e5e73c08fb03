"""A live recording as the browser makes it (live.js): JPEG frames at the sampling rate, MediaRecorder
chunks, stop; every server message kept with its arrival time. Used by the benchmarks and fault tests."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.wsclient import Closed, WebSocket

FRAME = struct.Struct(">BdI")


def jpeg_frames(clip: Path, fps: float, n: int | None = None, quality: int = 80) -> list[tuple[float, bytes]]:
    """(capture time, JPEG) of the clip sampled at ``fps``, looped until ``n`` frames."""
    import cv2

    from inference.media import iter_video

    once = []
    for frame in iter_video(clip, fps=fps):
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        once.append(buf.tobytes())
        if n is not None and len(once) >= n:
            break
    n = n or len(once)
    return [(i / fps, once[i % len(once)]) for i in range(n)]


@dataclass
class Recording:
    session_id: int | None = None
    messages: list[tuple[float, dict]] = field(default_factory=list)  # (seconds since start, message)
    sent: dict[int, float] = field(default_factory=dict)  # seq -> monotonic send time
    latencies: dict[int, float] = field(default_factory=dict)  # seq -> seconds from send to result
    closed: int | None = None  # close code if the server closed the socket
    rate: float = 0.0  # frames per second sent now (lowered by the server's `live.rate`, as live.js does)
    unsent: int = 0  # frames not sent because the rate was lowered

    @property
    def reduced(self) -> bool:
        """The server lowered this recording's rate at some point."""
        return any(m.get("reduced") for m in self.of_type("live.rate"))

    def of_type(self, kind: str) -> list[dict]:
        return [m for _, m in self.messages if m.get("type") == kind]

    @property
    def skipped(self) -> int:
        return max([m["count"] for m in self.of_type("skipped")], default=0)


async def record(
    ws_base: str,
    cookie: str,
    frames: list[tuple[float, bytes]],
    *,
    fps: float,
    recording: bytes = b"",
    title: str = "live",
    during: tuple[int, Callable[[], None]] | None = None,
    stop_timeout: float = 180,
    stop: bool = True,
) -> Recording:
    """Send ``frames`` in real time; ``during=(i, fn)`` runs ``fn`` in a thread when frame ``i`` is sent
    (the frames keep flowing meanwhile). Returns once the server answered ``stopped`` (or closed); with
    ``stop=False`` the socket just closes after the last chunk, as a dropped connection does."""
    rec = Recording(rate=fps)
    ws = await WebSocket.connect(ws_base + "/ws/live/", cookie=cookie)
    await ws.send_json({"type": "start", "title": title, "fps": fps})
    t0 = time.monotonic()
    started = await ws.recv_json(timeout=30)
    if started.get("type") != "started":
        raise RuntimeError(f"live start refused: {started}")
    rec.session_id = started["session_id"]
    stopped = asyncio.Event()

    async def reader() -> None:
        import json

        try:
            while True:
                msg = json.loads(await ws.recv())
                now = time.monotonic()
                rec.messages.append((now - t0, msg))
                if msg.get("type") == "live.result" and msg.get("seq") in rec.sent:
                    rec.latencies[msg["seq"]] = now - rec.sent[msg["seq"]]
                if msg.get("type") == "live.rate":
                    rec.rate = max(1.0, min(fps, float(msg["fps"])))
                if msg.get("type") in ("stopped",):
                    stopped.set()
        except Closed as exc:
            rec.closed = exc.code
            stopped.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            rec.closed = -1
            stopped.set()

    read_task = asyncio.create_task(reader())
    side = None
    chunks = [recording[i : i + 64 * 1024] for i in range(0, len(recording), 64 * 1024)]
    per_frame = max(1, -(-len(chunks) // max(len(frames), 1)))
    start = time.monotonic()
    last_t = None
    try:
        for i, (t, jpeg) in enumerate(frames):
            delay = start + i / fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if during and i == during[0]:
                side = asyncio.create_task(asyncio.to_thread(during[1]))
            if rec.closed is not None:
                break
            if last_t is not None and t - last_t < 1 / rec.rate - 1e-6:
                rec.unsent += 1  # the server asked for fewer frames: the page samples less often
                continue
            last_t = t
            rec.sent[i] = time.monotonic()
            await ws.send_bytes(FRAME.pack(1, t, i) + jpeg)
            for _ in range(per_frame):
                if chunks:
                    await ws.send_bytes(b"\x02" + chunks.pop(0))
        for chunk in chunks:
            await ws.send_bytes(b"\x02" + chunk)
        if side is not None:
            await side
        if rec.closed is None and stop:
            await ws.send_json({"type": "stop"})
            await asyncio.wait_for(stopped.wait(), stop_timeout)
    finally:
        read_task.cancel()
        await ws.close()
    return rec
