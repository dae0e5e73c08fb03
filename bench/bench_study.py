"""How long a study comparison takes: 50 sessions of 10 minutes, two people each at 5 frames per second
(300,000 observations), two conditions, 2,000 bootstrap resamples of participants.

    DEBUG=1 DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_study.py [--quick]

Prints one JSON object (``python -m bench --only study`` runs it against a private embedded PostgreSQL).
The rows (user ``bench-study``) are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emotionsite.settings")

SESSIONS, MINUTES, PEOPLE_PER_SESSION, FPS, PARTICIPANTS, RESAMPLES = 50, 10, 2, 5.0, 20, 2000


def cleanup(user_model) -> None:
    from projects.models import Project
    from sessions_app.models import Session

    for user in user_model.objects.filter(username="bench-study"):
        projects = list(Project.objects.filter(name="bench-study"))
        Session.objects.filter(project__in=projects).delete()
        for p in projects:
            p.people.all().delete()
            p.delete()
        user.delete()


def build(sessions: int, minutes: float) -> tuple:
    """The project: participants P01..P20, session i shows two of them; sessions of the first half carry
    condition A, the rest B (so every participant appears in both)."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection

    from inference.classes import EMOTIONS
    from people.models import Person
    from projects.models import Membership, Project
    from sessions_app.models import AnalysisRun, Observation, Session, Track
    from studies.models import Condition, Participant, ParticipantLink, SessionCondition

    users = get_user_model()
    cleanup(users)
    user = users.objects.create_user(username="bench-study", password=None)
    project = Project.objects.create(name="bench-study")
    Membership.objects.create(project=project, user=user, role="owner")
    people = []
    for i in range(PARTICIPANTS):
        person = Person.objects.create(owner=user, project=project, number=i + 1)
        ParticipantLink.objects.create(
            person=person, participant=Participant.objects.create(project=project, code=f"P{i + 1:02d}")
        )
        people.append(person)
    a, b = (Condition.objects.create(project=project, label=x) for x in ("A", "B"))
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * FPS)
    t0 = time.perf_counter()
    for s in range(sessions):
        session = Session.objects.create(owner=user, project=project, title=f"s{s}", status="done", sample_fps=FPS)
        run = AnalysisRun.objects.create(session=session, status="done")
        Session.objects.filter(pk=session.pk).update(current_run=run)
        SessionCondition.objects.create(session=session, condition=a if s < sessions // 2 else b)
        rows = []
        for slot in range(PEOPLE_PER_SESSION):
            person = people[(PEOPLE_PER_SESSION * s + slot) % PARTICIPANTS]
            track = Track.objects.create(session=session, run=run, person=person, key=f"0:{slot}", count=n)
            probs = rng.dirichlet(np.ones(len(EMOTIONS)), size=n)
            quality = rng.uniform(0, 1, size=n)
            for i in range(n):
                rows.append(
                    Observation(
                        session=session, run=run, track=track, person=person, time=i / FPS, frame_index=i,
                        slot=slot, box_top=0, box_right=10, box_bottom=10, box_left=0, attention=float(quality[i]),
                        yaw=0.0, pitch=0.0, roll=0.0, eye_openness=0.3, quality=float(quality[i]),
                        **{e: float(probs[i, j]) for j, e in enumerate(EMOTIONS)},
                    )
                )  # fmt: skip
        Observation.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE sessions_app_observation")
    return user, project, time.perf_counter() - t0


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10 sessions of 2 minutes")
    args = ap.parse_args()
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from studies.models import StudySettings
    from studies.services import compare

    sessions, minutes = (10, 2) if args.quick else (SESSIONS, MINUTES)
    user, project, build_s = build(sessions, minutes)
    try:
        opts = compare.options(None, False, False, RESAMPLES)
        plain_s, result = timed(lambda: compare.compare(project, ["A", "B"], opts), 5)
        StudySettings.objects.create(project=project, mode="first", first_seconds=30)
        corrected = compare.options(None, True, False, RESAMPLES)
        baseline_s, _ = timed(lambda: compare.compare(project, ["A", "B"], corrected), 5)
        frames = sum(c["n_frames"] for c in result["conditions"])
        print(
            json.dumps(
                {
                    "sessions": sessions,
                    "minutes": minutes,
                    "observations": frames,
                    "build_s": round(build_s, 1),
                    "comparison_s": round(plain_s, 3),
                    "comparison_baseline_s": round(baseline_s, 3),
                    "participants": result["conditions"][0]["n_participants"],
                }
            )
        )
    finally:
        cleanup(get_user_model())


if __name__ == "__main__":
    main()
