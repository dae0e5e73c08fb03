"""Read queries of the sessions app."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Prefetch
from django.shortcuts import get_object_or_404

from inference.classes import EMOTIONS
from sessions_app.models import Person, PersonThumbnail, Session


def _visible(user: Any):
    qs = Session.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def owned_session(user: Any, session_id: Any) -> Session | None:
    """The session if ``user`` may see it (owner or staff), else None: callers answer 404."""
    try:
        return _visible(user).filter(pk=int(session_id)).first()
    except (TypeError, ValueError):
        return None


def get_session_or_404(user: Any, session_id: Any) -> Session:
    return get_object_or_404(_visible(user), pk=session_id)


def sessions_for(user: Any) -> list[Session]:
    """The user's sessions, newest first, each with ``people_list`` (people seen, with thumbnails)."""
    sessions = list(Session.objects.filter(owner=user).order_by("-created"))
    if not sessions:
        return sessions
    people = (
        Person.objects.filter(tracks__session__in=sessions)
        .distinct()
        .prefetch_related(Prefetch("thumbnails", queryset=PersonThumbnail.objects.order_by("created")))
    )
    by_id = {p.pk: p for p in people}
    seen: dict[int, list[Person]] = {s.pk: [] for s in sessions}
    pairs = (
        Session.objects.filter(pk__in=seen, tracks__person__isnull=False).values_list("pk", "tracks__person").distinct()
    )
    for session_id, person_id in pairs:
        if person_id in by_id:
            seen[session_id].append(by_id[person_id])
    for s in sessions:
        s.people_list = sorted(seen[s.pk], key=lambda p: p.number)
    return sessions


def session_people(session: Session) -> list[dict[str, Any]]:
    """Per person seen in the session: time on screen, mean probabilities, dominant emotion, attention."""
    rows = (
        session.observations.values("person")
        .annotate(n=Count("id"), attention=Avg("attention"), **{f"p_{e}": Avg(e) for e in EMOTIONS})
        .order_by("-n")
    )
    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in=[r["person"] for r in rows if r["person"]]).prefetch_related("thumbnails")
    }
    interval = 1.0 / session.sample_fps if session.sample_fps and session.source != Session.Source.IMAGE else 0.0
    out = []
    for r in rows:
        probs = {e: float(r[f"p_{e}"] or 0.0) for e in EMOTIONS}
        person = people.get(r["person"])
        thumb = person.thumbnails.all()[0] if person is not None and person.thumbnails.all() else None
        out.append(
            {
                "person": person,
                "name": person.display_name if person else "Unidentified face",
                "thumbnail": thumb,
                "frames": r["n"],
                "time_on_screen": r["n"] * interval,
                "probabilities": probs,
                "probability_rows": [(e, probs[e], round(probs[e] * 100)) for e in EMOTIONS],
                "dominant": max(probs, key=probs.get),
                "attention": float(r["attention"] or 0.0),
            }
        )
    return out


# --------------------------------------------------------------------------- replay: timeline data
def _thumbnail_url(person: Person | None) -> str | None:
    from django.urls import reverse

    if person is None:
        return None
    thumbs = person.thumbnails.all()
    return reverse("person_thumbnail", args=[thumbs[0].pk]) if thumbs else None


def bucket_width(session: Session, last_time: float, max_points: int) -> float:
    """Seconds per bucket: one sample interval, or wider so that at most ``max_points`` buckets cover the session."""
    import math

    base = 1.0 / session.sample_fps if session.sample_fps else 1.0
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    # floor(t / w) <= max_points - 1 for every t <= last_time  <=>  w > last_time / max_points
    needed = last_time / max_points
    if needed < base:
        return base
    return math.ceil(needed * 1000 + 1) / 1000  # rounded up to whole milliseconds, strictly above `needed`


def timeline(session: Session, max_points: int = 600) -> dict[str, Any]:
    """JSON-ready timeline of a session, bucketed in SQL so that each series has at most ``max_points`` points.

    ``{"bucket_width", "duration", "emotions", "people": [{id, name, thumbnail, points: [{t, n,
    probabilities, attention}]}], "everyone": [...], "summary": [{id, name, thumbnail, frames,
    time_on_screen, probabilities, dominant, attention}]}``. ``t`` is the start of the bucket (seconds);
    probabilities are lists in the canonical EMOTIONS order.
    """
    from django.db.models import F, Max
    from django.db.models.functions import Floor

    obs = session.observations.all()
    last = obs.aggregate(last=Max("time"))["last"]
    duration = max(float(session.duration or 0.0), float(last or 0.0))
    width = bucket_width(session, float(last or 0.0), max_points)
    result: dict[str, Any] = {
        "session": session.pk,
        "bucket_width": width,
        "duration": duration,
        "emotions": list(EMOTIONS),
        "people": [],
        "everyone": [],
        "summary": [],
    }
    if last is None:
        return result
    # a tiny epsilon keeps t = k * width (k / fps in float) in bucket k
    rows = (
        obs.annotate(bucket=Floor(F("time") / width + 1e-6))
        .values("person", "bucket")
        .annotate(n=Count("id"), a=Avg("attention"), **{f"p_{e}": Avg(e) for e in EMOTIONS})
        .order_by("person", "bucket")
    )
    series: dict[Any, list[dict[str, Any]]] = {}
    everyone: dict[int, list[float]] = {}  # bucket -> [n, sum attention, sums of probabilities...]
    for r in rows:
        b = int(r["bucket"])
        probs = [float(r[f"p_{e}"]) for e in EMOTIONS]
        n = r["n"]
        series.setdefault(r["person"], []).append(
            {"t": round(b * width, 6), "n": n, "probabilities": probs, "attention": float(r["a"])}
        )
        acc = everyone.setdefault(b, [0.0] * (2 + len(EMOTIONS)))
        acc[0] += n
        acc[1] += n * float(r["a"])
        for i, p in enumerate(probs):
            acc[2 + i] += n * p
    result["everyone"] = [
        {
            "t": round(b * width, 6),
            "n": int(acc[0]),
            "probabilities": [s / acc[0] for s in acc[2:]],
            "attention": acc[1] / acc[0],
        }
        for b, acc in sorted(everyone.items())
    ]
    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in=[k for k in series if k is not None]).prefetch_related(
            Prefetch("thumbnails", queryset=PersonThumbnail.objects.order_by("created"))
        )
    }
    interval = 1.0 / session.sample_fps if session.sample_fps and session.source != Session.Source.IMAGE else 0.0

    def sort_key(pid: Any) -> tuple:
        p = people.get(pid)
        return (p is None, p.number if p else 0)

    for pid in sorted(series, key=sort_key):
        person = people.get(pid)
        points = series[pid]
        ident = {
            "id": pid,
            "name": person.display_name if person else "Unidentified face",
            "thumbnail": _thumbnail_url(person),
        }
        result["people"].append({**ident, "points": points})
        frames = sum(pt["n"] for pt in points)
        probs = [sum(pt["n"] * pt["probabilities"][i] for pt in points) / frames for i in range(len(EMOTIONS))]
        result["summary"].append(
            {
                **ident,
                "frames": frames,
                "time_on_screen": frames * interval,
                "probabilities": dict(zip(EMOTIONS, probs, strict=True)),
                "dominant": EMOTIONS[max(range(len(EMOTIONS)), key=probs.__getitem__)],
                "attention": sum(pt["n"] * pt["attention"] for pt in points) / frames,
            }
        )
    return result


def people_summary(session: Session) -> list[dict[str, Any]]:
    """JSON-ready per-person summary (as on the session page): id, name, thumbnail url and the figures."""
    out = []
    for row in session_people(session):
        person = row["person"]
        out.append(
            {
                "id": person.pk if person else None,
                "name": row["name"],
                "thumbnail": _thumbnail_url(person),
                "frames": row["frames"],
                "time_on_screen": row["time_on_screen"],
                "probabilities": row["probabilities"],
                "dominant": row["dominant"],
                "attention": row["attention"],
            }
        )
    return out
