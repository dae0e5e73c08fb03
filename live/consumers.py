"""Live recording over a websocket (``/ws/live/``): control messages, frames and recording chunks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from emotionsite import ratelimit
from emotionsite.threadpools import file_work, io_work
from inference.classes import EMOTIONS
from live import rate as live_rate
from live import resume as live_resume
from live import services as live
from live import state as live_state
from sessions_app.consumers import BROKER_ERRORS, SignedInSocket, refuse_oversized
from sessions_app.services import storage_quota
from sessions_app.services.progress import group_name

if TYPE_CHECKING:
    from sessions_app.models import Session

logger = logging.getLogger(__name__)

FRAME_PREFIX, CHUNK_PREFIX, SEQ_CHUNK_PREFIX = 0x01, 0x02, 0x03
SEQ_CHUNK_HEADER = struct.Struct(">BI")  # prefix, chunk sequence number (uint32, 0 = the recorder's first)
FRAME_HEADER = struct.Struct(">BdI")  # prefix, capture time (s, float64), sequence number (uint32)
DRAIN_SECONDS = 60.0


class LiveConsumer(SignedInSocket, AsyncWebsocketConsumer):
    """Live recording: JSON control messages plus binary frames and recording chunks.

    Binary messages start with one byte: 0x01 = a sampled JPEG frame (then a big-endian float64
    capture time in seconds and a uint32 sequence number, then the JPEG bytes); 0x02 = the next chunk
    of the MediaRecorder stream (appended to a staging file). See docs/architecture.md.
    """

    session_id: int | None = None
    group: str | None = None
    staging: Any = None
    skipped = 0
    stopped = False
    generation = 0  # this connection's generation of the session (0 at start, one more per resume)
    chunks = 0  # recording chunks in the staging file
    recorded = 0  # bytes in the staging file (bounded by max_bytes)
    max_bytes = 0  # EMOTION_LIVE_MAX_BYTES, or less when the project's storage quota leaves less
    started_at = 0.0  # the session's creation (epoch seconds)
    superseded = False
    alive_at = 0.0  # when this socket last told Redis it is alive (monotonic)
    governor: live_rate.RateGovernor | None = None  # the capture rate the page is asked for

    async def connect(self) -> None:
        if not await self.admit():
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.leave_auth_groups()
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except BROKER_ERRORS:  # Redis is away; the membership expires with the group
                logger.warning("could not leave group %s", self.group)
        if self.staging is not None:
            await io_work(self.staging.close)
            self.staging = None
        if self.session_id is not None and not self.stopped and not self.superseded:
            await self._finish_later()

    async def _finish_later(self) -> None:
        """No Stop: keep what arrived. A Celery task finishes the session after the resume grace period
        (this handler may be cut short when Daphne stops; the task outlives it)."""
        args = (self.session_id, self.generation, self.staging_path, time.time())
        try:  # with media in a bucket, a worker on another machine can finish it from there
            await file_work(live.keep_in_store, self.scope["user"].pk, self.session_id, self.staging_path)
        except Exception:  # noqa: BLE001 - the local file stays; a worker on this machine still finishes it
            logger.exception("live session %s: could not copy the recording to the store", self.session_id)
        try:
            await sync_to_async(live_resume.schedule_finish)(*args)
        except BROKER_ERRORS:  # no broker: finish now (no resume possible), rather than lose the recording
            logger.warning("live session %s: could not schedule its finishing; finishing now", self.session_id)
            try:
                await file_work(live_resume.finish_after_disconnect, *args)
            except Exception:  # noqa: BLE001 - the staged file stays; nothing more can be done from here
                logger.exception("live session %s: could not finish after the connection was lost", self.session_id)

    async def _send(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if await refuse_oversized(self, text_data, bytes_data):
            return
        try:
            if bytes_data is not None:
                await self._binary(bytes_data)
            else:
                await self._control(text_data or "")
        except live.LiveError as exc:
            await self._send({"type": "error", "message": str(exc)})
        except ratelimit.RateLimited as exc:
            await self._send(ratelimit.ws_error(exc))

    async def _control(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            raise live.LiveError("Messages must be JSON objects or binary frames.") from None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "start":
            if self.session_id is not None:
                raise live.LiveError("This recording has already started.")
            user = self.scope["user"]
            session = await database_sync_to_async(live.start_session)(
                user, message.get("title"), message.get("fps"), message.get("project")
            )
            self.session_id = session.pk
            await self._join(session)
            path = await sync_to_async(live.staging_path)(user.pk, session.pk)
            await self._attach(session, path, "wb", {"type": "started"})
        elif kind == "resume":
            await self._resume(message.get("session_id"))
        elif kind == "stop":
            await self._stop()
        else:
            raise live.LiveError('Expected {"type": "start"}, {"type": "resume"} or {"type": "stop"}.')

    async def _resume(self, session_id: Any) -> None:
        """Continue a session whose previous connection closed without Stop (within the grace period)."""
        if self.session_id is not None:
            raise live.LiveError("This recording has already started.")
        user = self.scope["user"]
        try:
            sid = int(session_id)
        except (TypeError, ValueError):
            raise live.LiveError(live_resume.NOT_FOUND) from None
        path = await sync_to_async(live.staging_path)(user.pk, sid)
        # its row lock may wait for a worker that is storing the recording (finish_live): not on the shared thread
        session, chunks = await io_work(live_resume.resume, user, sid, path)
        self.session_id, self.generation, self.chunks = session.pk, session.live_generation, chunks
        await self._join(session)
        # an older connection of this session that is still open (its drop not noticed yet) steps aside
        await self.channel_layer.group_send(self.group, {"type": "live.superseded", "generation": self.generation})
        # "chunks": the next chunk sequence number expected
        await self._attach(session, path, "ab", {"type": "resumed", "chunks": chunks})

    async def _join(self, session: Session) -> None:
        self.group = group_name(session.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def _attach(self, session: Session, path: Path, mode: str, hello: dict[str, Any]) -> None:
        """Open the recording's staging file (new or to append to) and tell the page the session's terms."""
        # unbuffered: a resumed connection appends to the same file while an older one may still be closing
        self.staging = await io_work(open, path, mode, buffering=0)
        self.staging_path = path
        self.started_at = session.created.timestamp()  # frame times cannot run ahead of the session's age
        self.recorded = (await io_work(path.stat)).st_size
        self.max_bytes = await database_sync_to_async(storage_quota.live_room)(session.project_id, self.recorded)
        self.governor = live_rate.RateGovernor(session.sample_fps, time.monotonic())
        await self._count_chunks()
        await self._send(
            {
                **hello,
                "session_id": session.pk,
                "url": session.get_absolute_url(),
                "fps": session.sample_fps,
                "emotions": list(EMOTIONS),  # the order of each live face's "probabilities"
                "resume_grace_s": live_resume.grace_seconds(),  # the page reconnects within it
            }
        )

    async def _count_chunks(self) -> None:
        try:
            await sync_to_async(live_state.set_chunk_count)(self.session_id, self.chunks)
            self.alive_at = time.monotonic()
        except BROKER_ERRORS:  # Redis is restarting: only a resume needs the count
            logger.warning("live session %s: could not record the chunk count", self.session_id)

    async def _still_alive(self) -> None:
        """Frames without chunks keep the session off the reaper's list too (at most every 5 s)."""
        if time.monotonic() - self.alive_at > 5:
            with contextlib.suppress(*BROKER_ERRORS):
                await sync_to_async(live_state.mark_alive)(self.session_id)
                self.alive_at = time.monotonic()

    async def _chunk(self, data: bytes, seq: int | None) -> None:
        """Append one recording chunk; numbered chunks (0x03) already written are ignored."""
        if seq is not None and seq < self.chunks:
            await self._send({"type": "chunk.ack", "received": self.chunks})  # a duplicate after a resume
            return
        if seq is not None and seq > self.chunks:
            raise live.LiveError(f"Recording chunk {seq} arrived before chunk {self.chunks}; it was dropped.")
        limit = self.max_bytes
        if self.recorded + len(data) > limit:
            # the bound of one recording: stop here and analyse what arrived, as after Stop
            if limit < settings.EMOTION_LIVE_MAX_BYTES:
                reached = f"the room left in your storage quota ({storage_quota.human(limit)})"
            else:
                reached = f"the size limit ({limit // (1024 * 1024)} MB)"
            message = f"The recording reached {reached}; it stops here and what arrived is analysed."
            await self._send({"type": "error", "message": message})
            await self._stop()
            return
        await io_work(live.append_chunk, self.staging, self.session_id, self.chunks + 1, data)
        self.recorded += len(data)
        self.chunks += 1
        self.alive_at = time.monotonic()
        if seq is not None:
            await self._send({"type": "chunk.ack", "received": self.chunks})

    def _require_recording(self) -> int:
        if self.session_id is None or self.stopped:
            raise live.LiveError("Send a start message before any frame or chunk.")
        return self.session_id

    async def _binary(self, data: bytes) -> None:
        session_id = self._require_recording()
        if not data:
            raise live.LiveError("Empty binary message.")
        if data[0] == CHUNK_PREFIX:
            await self._chunk(data[1:], None)
            return
        if data[0] == SEQ_CHUNK_PREFIX:
            if len(data) <= SEQ_CHUNK_HEADER.size:
                raise live.LiveError("A numbered recording chunk needs its sequence number and data.")
            await self._chunk(data[SEQ_CHUNK_HEADER.size :], SEQ_CHUNK_HEADER.unpack_from(data)[1])
            return
        if data[0] != FRAME_PREFIX or len(data) <= FRAME_HEADER.size:
            raise live.LiveError(
                "Binary messages start with 0x01 (frame with header), 0x02 (recording chunk) "
                "or 0x03 (numbered recording chunk)."
            )
        _, t, seq = FRAME_HEADER.unpack_from(data)
        await self._still_alive()
        live.check_frame_time(t, self.started_at)
        reserved = queued = False
        try:
            reserved = await sync_to_async(live_state.reserve_frame)(session_id)
            if reserved:
                await sync_to_async(live.queue_frame)(session_id, seq, t, data[FRAME_HEADER.size :])
                queued = True
        except BROKER_ERRORS:
            # Redis is restarting: skip this frame (the finishing task analyses its slot from the
            # recording) and keep the socket, so the recording carries on when Redis is back.
            logger.warning("live session %s: Redis unavailable, frame %s skipped", session_id, seq)
            if reserved:
                with contextlib.suppress(*BROKER_ERRORS):
                    await sync_to_async(live_state.release_frame)(session_id)
        if not queued:
            self.skipped += 1
            await self._send({"type": "skipped", "count": self.skipped})
            if self.governor is not None and self.governor.on_skip(time.monotonic()):
                await self._send(self.governor.message())  # the page captures at the rate the server holds

    async def _stop(self) -> None:
        session_id = self._require_recording()
        self.stopped = True
        await self._send({"type": "stopping", "skipped": self.skipped})
        # Drain in the background: the consumer keeps forwarding results while the worker catches up.
        self.finisher = asyncio.create_task(self._drain_and_store(session_id))

    async def _drain_and_store(self, session_id: int) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            try:
                if await sync_to_async(live_state.pending_frames)(session_id) <= 0:
                    break
            except BROKER_ERRORS:  # Redis is restarting: wait for it within the drain time
                pass
            await asyncio.sleep(0.1)
        staging, self.staging = self.staging, None
        if staging is not None:
            await io_work(staging.close)
        try:
            session = await file_work(live.store_recording, session_id, self.staging_path)  # a copy: seconds
        except Exception:  # noqa: BLE001 - storage or database trouble: tell the user
            logger.exception("could not store the recording of live session %s", session_id)
            await database_sync_to_async(live.fail)(session_id, "The recording could not be stored.")
            await self._send({"type": "error", "message": "The recording could not be stored; please try again."})
            return
        await self._send(
            {"type": "stopped", "session_id": session_id, "url": session.get_absolute_url(), "status": session.status}
        )

    async def live_superseded(self, event: dict[str, Any]) -> None:
        if self.session_id is not None and event["generation"] > self.generation and not self.stopped:
            self.superseded = True  # the newer connection records; this one must not finish the session
            await self.close()

    async def live_result(self, event: dict[str, Any]) -> None:
        await self._send(event["result"])
        counted = self.governor is not None and event["result"].get("type") == "live.result" and not self.stopped
        if counted and self.governor.on_result(time.monotonic()):
            await self._send(self.governor.message())

    async def session_state(self, event: dict[str, Any]) -> None:
        await self._send(event["state"])
