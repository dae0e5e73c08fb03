"""The consumers' pools for blocking file work (emotionsite/threadpools.py): bounded, and the short
operations never queue behind the long ones."""

from __future__ import annotations

import asyncio
import threading

import pytest

from emotionsite.threadpools import file_work, io_work


@pytest.mark.django_db  # the pools' threads close stale connections before each call (as channels does)
def test_file_work_is_bounded_and_io_work_does_not_wait_behind_it(settings):
    settings.EMOTION_WEB_FILE_THREADS, settings.EMOTION_WEB_IO_THREADS = 2, 1
    release, lock = threading.Event(), threading.Lock()
    running, peak, threads = [0], [0], set()

    def long_copy() -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            threads.add(threading.current_thread().name)
        release.wait(10)
        with lock:
            running[0] -= 1
        return "stored"

    async def flood():
        ingests = [asyncio.create_task(file_work(long_copy)) for _ in range(6)]  # six uploads finish at once
        await asyncio.sleep(0.3)  # every one that can start has started
        started_meanwhile = peak[0]
        chunk = await asyncio.wait_for(io_work(lambda: "written"), 5)  # another user's chunk write
        release.set()
        return started_meanwhile, chunk, await asyncio.gather(*ingests)

    started, chunk, results = asyncio.run(flood())
    assert started == 2 and peak[0] == 2  # the others queued
    assert chunk == "written"
    assert results == ["stored"] * 6
    assert threads and all(name.startswith("web-file") for name in threads)


@pytest.mark.django_db(transaction=True)
def test_file_work_reaches_the_database_from_its_own_thread(django_user_model):
    django_user_model.objects.create_user(username="pooled", password="x")

    def count() -> tuple[int, str]:
        return django_user_model.objects.filter(username="pooled").count(), threading.current_thread().name

    found, thread = asyncio.run(file_work(count))
    assert found == 1 and thread.startswith("web-file")
