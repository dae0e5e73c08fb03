"""Read side of summaries: the JSON shape shared by the API and the websocket, and the backends' availability."""

from __future__ import annotations

import logging
from typing import Any

from summaries.base import Availability
from summaries.models import Summary

logger = logging.getLogger(__name__)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def summary_data(summary: Summary) -> dict[str, Any]:
    """One summary as JSON (the API's body and the ``summary`` of a ``summary.state`` message)."""
    return {
        "id": summary.pk,
        "session": summary.session_id,
        "backend": summary.backend,
        "include_unreliable": summary.include_unreliable,
        "backend_label": summary.get_backend_display(),
        "model_name": summary.model_name,
        "status": summary.status,
        "status_label": summary.get_status_display(),
        "progress": round(float(summary.progress), 4),
        "text": summary.text,
        "error": summary.error,
        "requested_by": summary.requested_by.get_username() if summary.requested_by_id else None,
        "cancel_requested": summary.cancel_requested,
        "created": _iso(summary.created),
        "started": _iso(summary.started),
        "finished": _iso(summary.finished),
        # merges, splits, undos and deletions of people after it was made: its names and counts may be old
        "made_before_people_changed": summary.made_before_people_changed,
        "people_changed_at": _iso(summary.session.people_changed_at),
    }


def summary_message(summary: Summary) -> dict[str, Any]:
    return {"type": "summary.state", "session_id": summary.session_id, "summary": summary_data(summary)}


def summaries_of(session: Any):
    return Summary.objects.filter(session=session).select_related("requested_by", "session").order_by("-created", "-pk")


def _availabilities(user: Any) -> dict[str, Availability]:
    from summaries.availability import backends_for  # the LLM side's view, worker facts included

    try:
        return backends_for(user)
    except Exception:  # noqa: BLE001 - a broken check must not break the page; the heuristic still works
        logger.warning("could not check the LLM backends", exc_info=True)
        return {Summary.Backend.HEURISTIC: Availability(True)}


def availability(backend: str, user: Any) -> Availability:
    """Whether ``backend`` can run for ``user`` now, and why not."""
    if backend == Summary.Backend.HEURISTIC:
        return Availability(True)
    if backend not in Summary.Backend.values:
        return Availability(False, "Unknown backend.")
    return _availabilities(user).get(backend) or Availability(False, "This backend is not installed on this site yet.")


def backend_options(user: Any) -> list[dict[str, Any]]:
    """Every backend with its label and availability, for the form on the replay page."""
    found = _availabilities(user)
    out = []
    for value, label in Summary.Backend.choices:
        avail = found.get(value) or Availability(False, "This backend is not installed on this site yet.")
        out.append({"value": value, "label": label, "available": avail.available, "reason": avail.reason})
    return out
