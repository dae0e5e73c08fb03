"""Resuming one websocket upload (security issue 20, finding 1): one connection writes an upload at a time,
each chunk lands at the offset the server expects, the staged file never grows past its declared size, and
resumes count against a rate and the staging quota.

The attack: keep an upload's id and resume it on many sockets at once; each was answered the same offset and
appended its chunks to the one ``.part`` file, which grew by a multiple of the declared size.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync

from emotionsite import ratelimit
from sessions_app.models import Session
from sessions_app.services import uploads
from tests.hardening.test_limits import limit
from tests.sessions.conftest import communicator, cookie_for

CLOSE_SUPERSEDED = 4409


async def _open(cookie: bytes, start: dict):
    comm = communicator("/ws/upload/", cookie)
    assert (await comm.connect(timeout=10))[0]
    await comm.send_json_to({"type": "start", "name": "clip.mp4", **start})
    return comm, await comm.receive_json_from(timeout=5)


async def _next(comm) -> dict | None:
    """The socket's next output, or None when nothing comes (the app is then cancelled)."""
    try:
        return await comm.receive_output(timeout=2)
    except (TimeoutError, asyncio.CancelledError):
        return None


@pytest.mark.django_db(transaction=True)
def test_parallel_resumes_write_one_connection_at_a_time(client, user, settings):
    size, first, later = 40_000, 10_000, 20_000
    data = os.urandom(size)
    cookie = cookie_for(client, user)

    async def run():
        a, ready = await _open(cookie, {"size": size})
        upload_id = ready["upload_id"]
        await a.send_to(bytes_data=data[:first])
        assert await a.receive_json_from(timeout=5) == {"type": "ack", "offset": first}
        socks, offsets = [a], []
        for _ in range(4):  # the attack, scaled down: four more sockets resume the same upload
            comm, resumed = await _open(cookie, {"size": size, "upload_id": upload_id})
            socks.append(comm)
            offsets.append(resumed["offset"])
        for comm in socks[1:]:  # each sends the next chunk, as if it alone held the upload
            await comm.send_to(bytes_data=data[first : first + later])
        answers = [await comm.receive_json_from(timeout=5) for comm in socks[1:]]
        staged = uploads.staging_dir(user.pk) / f"{upload_id}.part"
        on_disk = staged.read_bytes()
        told = await _next(a)  # the first socket sent nothing more: it is only told
        answers.insert(0, json.loads(told["text"]) if told else None)
        closes = [await _next(comm) for comm in socks[:-1]]
        for comm in socks:
            with contextlib.suppress(asyncio.CancelledError):  # one that timed out above is gone
                await comm.disconnect()
        return offsets, answers, on_disk, closes

    offsets, answers, on_disk, closes = async_to_sync(run)()
    assert offsets == [first] * 4
    assert len(on_disk) <= size  # never past the declared size
    assert on_disk == data[: first + later]  # one writer's chunk, at the offset the server expected
    assert answers[-1] == {"type": "ack", "offset": first + later}  # the last to resume writes
    for answer in answers[:-1]:  # every earlier socket was told and closed, and wrote nothing
        assert answer and answer["type"] == "error" and "another connection" in answer["message"]
    assert closes == [{"type": "websocket.close", "code": CLOSE_SUPERSEDED}] * 4


@pytest.mark.django_db
def test_a_superseded_holder_writes_and_ingests_nothing(user, media_dir):
    data = (media_dir / "obama.jpg").read_bytes()
    old = uploads.start_upload(user.pk, "obama.jpg", len(data))
    old.append(data[:1000])
    new = uploads.start_upload(user.pk, "obama.jpg", len(data), upload_id=old.upload_id)
    assert new.offset == 1000
    with pytest.raises(uploads.UploadError, match="another connection"):
        old.append(data[1000:2000])
    assert new.path.stat().st_size == 1000
    old.offset = len(data)  # a holder that believes it is done cannot ingest a taken-over upload either
    with pytest.raises(uploads.UploadError, match="another connection"):
        old.ingest(user)
    assert not Session.objects.exists()
    new.append(data[1000:])
    session = new.ingest(user)
    with session.original.open("rb") as fh:
        assert fh.read() == data
    assert not list(uploads.staging_dir(user.pk).iterdir())


@pytest.mark.django_db
def test_a_chunk_lands_at_the_expected_offset(user):
    upload = uploads.start_upload(user.pk, "a.mp4", 100)
    upload.append(b"a" * 40)
    with open(upload.path, "ab") as fh:  # bytes the server never acknowledged (another writer, a crash)
        fh.write(b"?" * 50)
    assert upload.append(b"b" * 30) == 70
    assert upload.path.read_bytes() == b"a" * 40 + b"b" * 30


@pytest.mark.django_db
def test_resumes_count_against_a_rate_and_the_quota(settings, user):
    limit(settings, upload_resumes="2/hour")
    upload = uploads.start_upload(user.pk, "a.mp4", 600)
    for _ in range(2):
        assert uploads.start_upload(user.pk, "a.mp4", 600, upload_id=upload.upload_id).offset == 0
    with pytest.raises(ratelimit.RateLimited, match="resum"):
        uploads.start_upload(user.pk, "a.mp4", 600, upload_id=upload.upload_id)
    limit(settings, upload_resumes="off")
    settings.EMOTION_STAGING_QUOTA_BYTES = 500  # lowered by the operator: the upload's 600 bytes count
    with pytest.raises(uploads.UploadError, match="unfinished uploads"):
        uploads.start_upload(user.pk, "a.mp4", 600, upload_id=upload.upload_id)


@pytest.mark.django_db(transaction=True)  # a start reads the user's personal project (its storage quota)
def test_simultaneous_starts_cannot_all_pass_the_quota(settings, user):
    from django.db import connection

    limit(settings, uploads="off")
    settings.EMOTION_STAGING_QUOTA_BYTES = 1000
    barrier = threading.Barrier(8)

    def start() -> bool:
        barrier.wait()
        try:
            uploads.start_upload(user.pk, "a.mp4", 600)
        except uploads.UploadError:
            return False
        finally:
            connection.close()
        return True

    with ThreadPoolExecutor(8) as pool:
        started = list(pool.map(lambda _: start(), range(8)))
    assert started.count(True) == 1
    assert uploads.staged_bytes(user.pk) == 600
