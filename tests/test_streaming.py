"""emotionsite.streaming: a synchronous source sent as an asynchronous iterator, in batches, closed early."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from emotionsite.streaming import BATCH_BYTES, aiterate, streaming_response


def _lines(log: list[str], count: int, width: int = 5):
    try:
        for i in range(count):
            log.append(f"read {i}")
            yield f"{i:04d}".ljust(width - 1) + "\n"
    finally:
        log.append("closed")


def test_batches_join_items_up_to_the_limit():
    async def collect() -> list[str]:
        return [batch async for batch in aiterate(_lines([], 10), batch_bytes=12)]

    assert async_to_sync(collect)() == ["0000\n0001\n0002\n", "0003\n0004\n0005\n", "0006\n0007\n0008\n", "0009\n"]


def test_a_consumer_that_stops_closes_the_source_and_reads_no_further():
    log: list[str] = []

    async def first_then_leave() -> bytes:
        response = streaming_response(_lines(log, 1000, width=128 * 1024), content_type="text/plain")
        assert response.is_async  # Django sends it as read, not as a list
        stream = aiter(response)
        first = await anext(stream)
        await stream.aclose()  # what Django does when the client goes
        return first

    assert len(async_to_sync(first_then_leave)()) == BATCH_BYTES  # two lines make a batch
    assert log == ["read 0", "read 1", "closed"]
