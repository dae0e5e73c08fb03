"""What the shared services take per second: observation rows written to PostgreSQL (a segment's
batches and a live frame's single inserts) and messages through the Channels Redis layer.

    DEBUG=1 DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_writes.py [--quick]

Prints one JSON object. The rows (user ``bench-writes``) are removed at the end. These are the
figures behind the "next bottleneck" rows of docs/benchmarks.md' scale table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emotionsite.settings")


CONCURRENT = 20  # recordings whose results one process sends and receives at once


def observation(session, track, frame: int):
    from inference.classes import EMOTIONS
    from sessions_app.models import Observation

    p = 1.0 / len(EMOTIONS)
    return Observation(
        session=session, track=track, time=frame / 5.0, frame_index=frame, slot=0,
        box_top=10, box_right=110, box_bottom=110, box_left=10, attention=0.5,
        yaw=0.0, pitch=0.0, roll=0.0, eye_openness=0.3, **dict.fromkeys(EMOTIONS, p),
    )  # fmt: skip


def bench_rows(batched: int, single: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from sessions_app.models import Observation, Session, Track
    from sessions_app.services.analysis import BATCH

    user_model = get_user_model()
    user_model.objects.filter(username="bench-writes").delete()
    user = user_model.objects.create_user(username="bench-writes", password=None)
    try:
        session = Session.objects.create(owner=user, title="bench", status=Session.Status.DONE)
        track = Track.objects.create(session=session, key="0:0", count=batched + single)
        rows = [observation(session, track, f) for f in range(batched)]
        t = time.perf_counter()
        with transaction.atomic():  # as a segment is stored: batches of BATCH in one transaction
            for i in range(0, len(rows), BATCH):
                Observation.objects.bulk_create(rows[i : i + BATCH], ignore_conflicts=True)
        batched_rate = batched / (time.perf_counter() - t)
        with connection.cursor() as cur:  # table + indexes per row: what a day of observations takes on disk
            cur.execute("ANALYZE sessions_app_observation")
            cur.execute("SELECT pg_total_relation_size('sessions_app_observation')")
            table_bytes = cur.fetchone()[0]
        bytes_per_row = table_bytes / max(1, Observation.objects.count())
        t = time.perf_counter()
        for f in range(batched, batched + single):  # as a live frame is stored: one insert, autocommit
            Observation.objects.bulk_create([observation(session, track, f)], ignore_conflicts=True)
        single_rate = single / (time.perf_counter() - t)
    finally:
        user_model.objects.filter(username="bench-writes").delete()
    return {
        "rows_per_s_batched": batched_rate,
        "frames_per_s_single_insert": single_rate,
        "bytes_per_row": bytes_per_row,
    }


async def bench_layer(n: int) -> dict[str, float]:
    """group_send to a group of one channel and receive each message: the path of a live result."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("bench-writes", channel)
    body = {"type": "live.result", "t": 1.0, "faces": [{"slot": 0, "box": [1, 2, 3, 4], "emotions": [0.1] * 7}]}
    window = 50  # under the layer's per-channel capacity (100): nothing dropped
    sending = receiving = 0.0
    for _ in range(0, n, window):
        t = time.perf_counter()
        for _ in range(window):
            await layer.group_send("bench-writes", body)
        sending += time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(window):
            await layer.receive(channel)
        receiving += time.perf_counter() - t
    await layer.group_discard("bench-writes", channel)

    # A process's channels share one inbox in Redis, and its capacity (100) bounds them together: more
    # waiting than that and group_send drops messages. So the recordings at once keep 80 pending in all.
    share = max(1, 80 // CONCURRENT)

    async def pair(i: int, count: int) -> None:  # one recording's results: its own group and channel
        mine = await layer.new_channel()
        await layer.group_add(f"bench-writes-{i}", mine)
        for _ in range(0, count, share):
            for _ in range(share):
                await layer.group_send(f"bench-writes-{i}", body)
            for _ in range(share):
                await layer.receive(mine)
        await layer.group_discard(f"bench-writes-{i}", mine)

    t = time.perf_counter()
    await asyncio.gather(*(pair(i, n // CONCURRENT) for i in range(CONCURRENT)))
    concurrent = (n // CONCURRENT) * CONCURRENT / (time.perf_counter() - t)
    return {
        "layer_messages_per_s_concurrent": concurrent,
        "layer_messages_per_s": n / (sending + receiving),
        "layer_sends_per_s": n / sending,
        "layer_receives_per_s": n / receiving,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    out = bench_rows(5000 if args.quick else 20000, 500 if args.quick else 2000)
    out.update(asyncio.run(bench_layer(1000 if args.quick else 5000)))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
