"""Staff pages of the infrastructure: the workers page."""

from __future__ import annotations

import redis
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from emotionsite import workers


@login_required
def workers_page(request):
    """Each worker host with its queues, device, weights and load, as the workers publish them."""
    if not request.user.is_staff:
        raise Http404  # the page names hosts: it does not exist for users
    try:
        rows, unavailable = workers.published(), False
    except (redis.RedisError, OSError):
        rows, unavailable = [], True
    weights = {(w["weights"] or {}).get("sha256") for w in rows} - {None}
    return render(
        request,
        "staff/workers.html",
        {"workers": rows, "unavailable": unavailable, "mixed_weights": len(weights) > 1},
    )
