"""Read queries of the sessions app."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count
from django.shortcuts import get_object_or_404

from inference.classes import EMOTIONS
from projects import access
from projects.access import Action
from sessions_app import measures
from sessions_app.models import Session, Track
from sessions_app.reliability import quality_bar, reliable_q
from sessions_app.services.runs import current_observations
from sessions_app.units import percent

# The people a session's tracks point to (people.Person), reached through this app's own foreign key:
# sessions_app reads who is who through its rows and never imports the people room. A person's
# thumbnails come oldest first (their model's ordering).
Person = Track._meta.get_field("person").related_model


def visible_sessions(user: Any, action: Action = Action.VIEW):
    """Sessions of the projects where ``user``'s role allows ``action`` (staff: all)."""
    return access.visible(Session.objects.all(), user, action)


def owned_session(user: Any, session_id: Any, action: Action = Action.VIEW) -> Session | None:
    """The session if ``user`` may do ``action`` on it (a member whose role allows it, or staff), else
    None: callers answer 404 (websockets close 4404)."""
    try:
        return visible_sessions(user, action).filter(pk=int(session_id)).select_related("project").first()
    except (TypeError, ValueError):
        return None


def get_session_or_404(user: Any, session_id: Any, action: Action = Action.VIEW) -> Session:
    """The session for ``action``: 404 unless ``user`` is a member of its project (or staff), 403 when
    their role does not allow ``action`` (projects.access.require)."""
    session = get_object_or_404(Session.objects.select_related("project"), pk=session_id)
    access.require(user, session, action)
    return session


def sessions_for(user: Any) -> list[Session]:
    """The sessions of every project the user is in, newest first, each with ``people_list`` (people
    seen, with thumbnails) and its project."""
    sessions = list(_member_sessions(user))
    if not sessions:
        return sessions
    people = Person.objects.filter(tracks__session__in=sessions).distinct().prefetch_related("thumbnails")
    by_id = {p.pk: p for p in people}
    seen: dict[int, list] = {s.pk: [] for s in sessions}
    pairs = (
        Session.objects.filter(pk__in=seen, tracks__person__isnull=False).values_list("pk", "tracks__person").distinct()
    )
    for session_id, person_id in pairs:
        if person_id in by_id:
            seen[session_id].append(by_id[person_id])
    for s in sessions:
        s.people_list = sorted(seen[s.pk], key=lambda p: p.number)
    return sessions


def _means(include_unreliable: bool) -> dict[str, Any]:
    """Aggregates of one group of observations: ``n_all``, ``n_ok`` (reliable), ``n`` (counted) and
    the mean attention and probabilities over the counted ones (reliable only, unless included)."""
    ok = reliable_q()
    counted = None if include_unreliable else ok
    return {
        "n_all": Count("id"),
        "n_ok": Count("id", filter=ok),
        "n": Count("id", filter=counted),
        "attention": Avg("attention", filter=counted),
        **{f"p_{e}": Avg(e, filter=counted) for e in EMOTIONS},
        **measures.head_pose_aggregates(counted),
    }


def session_people(session: Session, include_unreliable: bool = False) -> list[dict[str, Any]]:
    """Per person seen in the session: time on screen, the share of it judged reliable, mean
    probabilities, dominant emotion and attention. The means leave out faces below the quality bar
    unless ``include_unreliable``; a person with no counted face has no means (``dominant``, ``attention`` and
    each probability None)."""
    rows = current_observations(session).values("person").annotate(**_means(include_unreliable)).order_by("-n_all")
    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in=[r["person"] for r in rows if r["person"]]).prefetch_related("thumbnails")
    }
    interval = 1.0 / session.sample_fps if session.sample_fps and session.source != Session.Source.IMAGE else 0.0
    eyes = measures.eyes_by_person(session, include_unreliable)
    eyes_status = measures.eyes_status(session)
    out = []
    for r in rows:
        # nothing counted (no reliable face): no means at all, never zeros that would drag an average down
        probs = {e: float(r[f"p_{e}"]) if r["n"] else None for e in EMOTIONS}
        person = people.get(r["person"])
        thumb = person.thumbnails.all()[0] if person is not None and person.thumbnails.all() else None
        out.append(
            {
                "person": person,
                "name": person.display_name if person else "Unidentified face",
                "thumbnail": thumb,
                "frames": r["n_all"],
                "time_on_screen": r["n_all"] * interval,
                "counted_frames": r["n"],
                "reliable_frames": r["n_ok"],
                "reliable_share": r["n_ok"] / r["n_all"] if r["n_all"] else 1.0,
                "reliable_percent": round(100 * r["n_ok"] / r["n_all"]) if r["n_all"] else 100,
                "probabilities": probs,
                "probability_rows": [(e, probs[e], percent(probs[e])) for e in EMOTIONS] if r["n"] else [],
                "dominant": max(probs, key=probs.get) if r["n"] else None,
                "attention": float(r["attention"]) if r["n"] else None,
                "attention_percent": percent(float(r["attention"])) if r["n"] else None,
                **measures.head_pose_row(r),
                "eyes": eyes.get(r["person"]),
                "eyes_status": eyes_status,
            }
        )
    return out


def _member_sessions(user: Any):
    # the home page lists the user's projects' sessions, staff's too (the admin lists everyone's)
    ids = access.project_ids(user, Action.VIEW)
    return Session.objects.filter(project__in=ids).select_related("project").order_by("-created")


# --------------------------------------------------------------------------- replay: timeline data
def _thumbnail_url(person: Any) -> str | None:
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


def timeline(session: Session, max_points: int = 600, include_unreliable: bool = False) -> dict[str, Any]:
    """JSON-ready timeline of a session, bucketed in SQL so that each series has at most ``max_points`` points.

    ``{"bucket_width", "duration", "emotions", "quality_bar", "include_unreliable", "people": [{id, name,
    thumbnail, points: [{t, n, faces, low, probabilities, attention}]}], "everyone": [...], "summary":
    [{id, name, thumbnail, frames, time_on_screen, reliable_share, probabilities, dominant, attention}]}``.
    ``t`` is the start of the bucket (seconds); ``faces`` the faces in it, ``low`` those below the quality
    bar, ``n`` those counted in the means (all, or the reliable ones by default); probabilities are lists
    in the canonical EMOTIONS order, null (with attention) for a bucket with nothing counted.
    """
    from django.db.models import F, Max
    from django.db.models.functions import Floor

    obs = current_observations(session)
    last = obs.aggregate(last=Max("time"))["last"]
    duration = max(float(session.duration or 0.0), float(last or 0.0))
    width = bucket_width(session, float(last or 0.0), max_points)
    result: dict[str, Any] = {
        "session": session.pk,
        "bucket_width": width,
        "duration": duration,
        "emotions": list(EMOTIONS),
        "quality_bar": quality_bar(),
        "include_unreliable": include_unreliable,
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
        .annotate(**_means(include_unreliable))
        .order_by("person", "bucket")
    )
    series: dict[Any, list[dict[str, Any]]] = {}
    # bucket -> [faces, low, counted, sum attention, sums of probabilities...]
    everyone: dict[int, list[float]] = {}
    for r in rows:
        b = int(r["bucket"])
        n = r["n"]
        probs = [float(r[f"p_{e}"]) for e in EMOTIONS] if n else None
        series.setdefault(r["person"], []).append(
            {
                "t": round(b * width, 6),
                "n": n,
                "faces": r["n_all"],
                "low": r["n_all"] - r["n_ok"],
                "probabilities": probs,
                "attention": float(r["attention"]) if n else None,
            }
        )
        acc = everyone.setdefault(b, [0.0] * (4 + len(EMOTIONS)))
        acc[0] += r["n_all"]
        acc[1] += r["n_all"] - r["n_ok"]
        acc[2] += n
        if n:
            acc[3] += n * float(r["attention"])
            for i, p in enumerate(probs):
                acc[4 + i] += n * p
    result["everyone"] = [
        {
            "t": round(b * width, 6),
            "n": int(acc[2]),
            "faces": int(acc[0]),
            "low": int(acc[1]),
            "probabilities": [s / acc[2] for s in acc[4:]] if acc[2] else None,
            "attention": acc[3] / acc[2] if acc[2] else None,
        }
        for b, acc in sorted(everyone.items())
    ]
    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in=[k for k in series if k is not None]).prefetch_related("thumbnails")
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
        frames = sum(pt["faces"] for pt in points)
        counted = [pt for pt in points if pt["n"]]
        n = sum(pt["n"] for pt in counted)
        k = len(EMOTIONS)
        probs = [sum(pt["n"] * pt["probabilities"][i] for pt in counted) / n if n else None for i in range(k)]
        result["summary"].append(
            {
                **ident,
                "frames": frames,
                "time_on_screen": frames * interval,
                "reliable_share": 1.0 - sum(pt["low"] for pt in points) / frames if frames else 1.0,
                "probabilities": dict(zip(EMOTIONS, probs, strict=True)),
                "dominant": EMOTIONS[max(range(len(EMOTIONS)), key=probs.__getitem__)] if n else None,
                "attention": sum(pt["n"] * pt["attention"] for pt in counted) / n if n else None,
            }
        )
    return result


def face_boxes(session: Session, max_rows: int) -> dict[str, Any]:
    """The stored face boxes for the replay's overlay: ``{"frame": [width, height], "step", "fields",
    "rows": [[t, person, top, right, bottom, left], ...]}`` in frame order. Boxes are in the analysed
    frame's pixels; ``person`` is the person's id (null: unidentified). Past ``max_rows`` boxes only
    every ``step``-th sampled frame is sent, so a long session costs a bounded answer."""
    import math

    from django.db.models import F
    from django.db.models.functions import Mod

    obs = current_observations(session)
    total = obs.count()
    step = max(1, math.ceil(total / max(1, max_rows)))
    if step > 1:
        obs = obs.annotate(keep=Mod(F("frame_index"), step)).filter(keep=0)
    fields = ["time", "person", "box_top", "box_right", "box_bottom", "box_left"]
    rows = obs.order_by("frame_index", "slot").values_list(*fields)[:max_rows]
    return {
        "frame": [session.width, session.height],
        "step": step,
        "fields": ["t", "person", "top", "right", "bottom", "left"],
        "rows": [[round(t, 4), *rest] for t, *rest in rows],
    }


def people_summary(session: Session, include_unreliable: bool = False) -> list[dict[str, Any]]:
    """JSON-ready per-person summary (as on the session page): id, name, thumbnail url and the figures."""
    out = []
    for row in session_people(session, include_unreliable):
        person = row["person"]
        out.append(
            {
                "id": person.pk if person else None,
                "name": row["name"],
                "thumbnail": _thumbnail_url(person),
                "frames": row["frames"],
                "time_on_screen": row["time_on_screen"],
                "reliable_share": row["reliable_share"],
                "probabilities": row["probabilities"],
                "dominant": row["dominant"],
                "attention": row["attention"],
                "looking_away_share": row["looking_away_share"],
                "mean_abs_yaw": row["mean_abs_yaw"],
                "mean_abs_pitch": row["mean_abs_pitch"],
                "eyes": row["eyes"],
                "eyes_status": row["eyes_status"],
            }
        )
    return out
