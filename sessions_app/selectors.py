"""Read queries of the sessions app."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Avg, Count, Exists, OuterRef, Subquery
from django.db.models.functions import Lower
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404

from inference.classes import EMOTIONS
from projects import access
from projects.access import Action
from sessions_app import measures
from sessions_app.forms import SORTS, parse_filters
from sessions_app.models import Observation, Session, Track
from sessions_app.reliability import quality_bar, reliable_q
from sessions_app.services.runs import current_observations
from sessions_app.units import percent

# The people a session's tracks point to (people.Person), reached through this app's own foreign key:
# sessions_app reads who is who through its rows and never imports the people room. A person's
# thumbnails come oldest first (their model's ordering).
Person = Track._meta.get_field("person").related_model
Thumbnail = Person._meta.get_field("thumbnails").related_model


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


# --------------------------------------------------------------------------- the workspace (sessions list)
WORKSPACE_PAGE_SIZE = 20
WORKSPACE_FACES = 4  # people shown per session row
_ORDER = {  # forms.SORTS names these
    "newest": ("-created", "-pk"),
    "oldest": ("created", "pk"),
    "title": (Lower("title"), "pk"),
    "duration": ("-duration", "-created", "-pk"),
}


def workspace(user: Any, params: Any, page_size: int = WORKSPACE_PAGE_SIZE) -> dict[str, Any]:
    """The sessions list: the user's projects (the switcher), the checked filters, one page of sessions
    (each with ``faces``: up to WORKSPACE_FACES people with thumbnail and dominant emotion), the notes on
    ignored values, and what the controls need. A ``project`` the user is not a member of: Http404.

    Lists the projects the user is a member of (staff too: the admin lists everyone's)."""
    values, notes = parse_filters(params)
    projects = list(access.projects_for(user))
    project = None
    if values["project"] is not None:
        project = next((p for p in projects if p.pk == values["project"]), None)
        if project is None:  # another project's id, or none such: unknown, as everywhere else
            raise Http404("no such project")
    project_ids = [project.pk] if project else [p.pk for p in projects]
    people, person = [], None
    names = Person.objects.only("pk", "project_id", "number", "name")  # never their embeddings
    if project is not None:  # the person filter's choices: the chosen project's people
        people = list(names.filter(project=project).order_by("number")[:500])
    if values["person"] is not None:
        person = next((p for p in people if p.pk == values["person"]), None)
        if person is None:
            person = names.filter(pk=values["person"], project__in=project_ids).first()
        if person is None:
            notes.append("Ignored the person filter: no such person in the projects shown.")
    sessions = workspace_sessions(project_ids, values, person)
    page = Paginator(sessions, page_size).get_page(params.get("page"))
    rows = list(page.object_list)
    attach_faces(rows)
    kept = QueryDict(mutable=True)  # the filters the page links keep (valid values only)
    for name in ("project", "q", "status", "kind", "since", "until", "sort"):
        value = values[name]
        if value not in (None, "") and not (name == "sort" and value == "newest"):
            kept[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if person is not None:
        kept["person"] = str(person.pk)
    recordable = {p.pk for p in access.projects_for(user, Action.RECORD)}
    filtered = any(values[k] for k in ("q", "status", "kind", "since", "until")) or person is not None
    return {
        "projects": projects,
        "project": project,
        "people": people,
        "person": person,
        "filters": values,
        "notes": notes,
        "page": page,
        "sessions": rows,
        "query": kept.urlencode(),
        "filtered": filtered,
        "can_record": bool(recordable & set(project_ids)) if project_ids else False,
        "status_choices": Session.Status.choices,
        "kind_choices": Session.Source.choices,
        "sorts": list(SORTS.items()),
    }


def workspace_sessions(project_ids: list[int], values: dict[str, Any], person: Any = None):
    """The sessions of ``project_ids`` matching ``values`` (parsed by forms.parse_filters), sorted."""
    qs = Session.objects.filter(project__in=project_ids).select_related("project")
    if values.get("q"):
        qs = qs.filter(title__icontains=values["q"])
    if values.get("status"):
        qs = qs.filter(status=values["status"])
    if values.get("kind"):
        qs = qs.filter(source=values["kind"])
    if values.get("since"):
        qs = qs.filter(created__date__gte=values["since"])
    if values.get("until"):
        qs = qs.filter(created__date__lte=values["until"])
    if person is not None:  # seen in the results the session shows (its current run)
        seen = Track.objects.filter(session=OuterRef("pk"), run_id=OuterRef("current_run_id"), person=person)
        qs = qs.filter(Exists(seen))
    return qs.order_by(*_ORDER.get(values.get("sort") or "newest", _ORDER["newest"]))


def attach_faces(sessions: list[Session], limit: int = WORKSPACE_FACES) -> None:
    """Set ``faces`` on each session: the people most on screen in its current run (at most ``limit``),
    each ``{"person", "name", "thumbnail", "dominant"}`` (thumbnail: the oldest one's id or None; dominant:
    the emotion with the highest mean over reliable faces, or None). Two queries for the whole page."""
    for s in sessions:
        s.faces = []
    runs = {s.current_run_id: s for s in sessions if s.current_run_id}
    if not runs:
        return
    rows = (
        Observation.objects.filter(run_id__in=runs, person__isnull=False)
        .values("run", "person")
        .annotate(**_means(False))
        .order_by("run", "-n_all", "person")
    )
    picked: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        chosen = picked.setdefault(r["run"], [])
        if len(chosen) < limit:
            chosen.append(r)
    first_thumb = Thumbnail.objects.filter(person=OuterRef("pk")).order_by("created", "pk").values("pk")[:1]
    ids = {r["person"] for chosen in picked.values() for r in chosen}
    named = Person.objects.filter(pk__in=ids).only("pk", "number", "name")
    people = {p.pk: p for p in named.annotate(thumb=Subquery(first_thumb))}
    for run_id, chosen in picked.items():
        for r in chosen:
            person = people.get(r["person"])
            if person is None:
                continue
            means = {e: r[f"p_{e}"] for e in EMOTIONS}
            runs[run_id].faces.append(
                {
                    "person": person,
                    "name": person.display_name,
                    "thumbnail": person.thumb,
                    "dominant": max(means, key=means.get) if r["n"] else None,
                }
            )


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
                **measures.affect_row(probs),
                **measures.head_pose_row(r),
                "eyes": eyes.get(r["person"]),
                "eyes_status": eyes_status,
            }
        )
    return out


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
                "valence_estimate": row["valence_estimate"],
                "arousal_estimate": row["arousal_estimate"],
                "looking_away_share": row["looking_away_share"],
                "mean_abs_yaw": row["mean_abs_yaw"],
                "mean_abs_pitch": row["mean_abs_pitch"],
                "eyes": row["eyes"],
                "eyes_status": row["eyes_status"],
            }
        )
    return out
