"""Benchmark the replay timeline selector on a one-hour, three-person session at 5 samples/s (54,000 rows).

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/emotion_bench .venv/bin/python bench/bench_timeline.py

The database named by DATABASE_URL is created if missing and migrated; the benchmark's rows (a user
``bench-timeline`` and its session) are replaced on every run and removed at the end (``--keep`` keeps
them). ``timeline()`` is timed five times after one warm-up call; the median is printed, with the
target of 300 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emotionsite.settings")

HOUR, FPS, PEOPLE, TARGET_MS = 3600, 5.0, 3, 300.0


def ensure_database() -> None:
    """Create the database of DATABASE_URL if it does not exist, then migrate it."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    kwargs = {k: db[K] for k, K in [("host", "HOST"), ("port", "PORT"), ("user", "USER"), ("password", "PASSWORD")]}
    kwargs = {k: v for k, v in kwargs.items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **kwargs) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0, interactive=False)


def build_session():
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from inference.classes import EMOTIONS
    from people.models import Person
    from sessions_app.models import Observation, Session, Track

    User = get_user_model()
    User.objects.filter(username="bench-timeline").delete()
    user = User.objects.create_user(username="bench-timeline", password=None)
    rng = random.Random(6)
    frames = int(HOUR * FPS)
    with transaction.atomic():
        session = Session.objects.create(
            owner=user, title="bench", status=Session.Status.DONE, duration=HOUR, sample_fps=FPS, progress=1.0
        )
        rows = []
        for slot in range(PEOPLE):
            person = Person.objects.create(owner=user, number=slot + 1, name=f"Bench {slot + 1}")
            track = Track.objects.create(session=session, person=person, key=f"0:{slot}", count=frames)
            for f in range(frames):
                raw = [rng.random() for _ in EMOTIONS]
                total = sum(raw)
                rows.append(
                    Observation(
                        session=session,
                        track=track,
                        person=person,
                        time=f / FPS,
                        frame_index=f,
                        slot=slot,
                        box_top=10,
                        box_right=110,
                        box_bottom=110,
                        box_left=10,
                        attention=rng.random(),
                        yaw=0.0,
                        pitch=0.0,
                        roll=0.0,
                        eye_openness=0.3,
                        **{e: r / total for e, r in zip(EMOTIONS, raw, strict=True)},
                    )
                )
        Observation.objects.bulk_create(rows, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE sessions_app_observation")
    return user, session, len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-points", type=int, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark session afterwards")
    args = parser.parse_args()

    import django

    django.setup()
    from sessions_app.selectors import timeline

    ensure_database()
    t0 = time.perf_counter()
    user, session, n = build_session()
    print(f"built session {session.pk}: {n} observations, {PEOPLE} people, in {time.perf_counter() - t0:.1f} s")
    try:
        data = timeline(session, max_points=args.max_points)  # warm-up
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            data = timeline(session, max_points=args.max_points)
            times.append((time.perf_counter() - t) * 1000)
        points = [len(p["points"]) for p in data["people"]]
        median = statistics.median(times)
        print(f"bucket width {data['bucket_width']} s; points per person {points}; everyone {len(data['everyone'])}")
        print(f"timeline(): median {median:.1f} ms of {args.repeat} (min {min(times):.1f}, max {max(times):.1f})")
        print(f"target < {TARGET_MS:.0f} ms: {'PASS' if median < TARGET_MS else 'FAIL'}")
    finally:
        if not args.keep:
            user.delete()
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
