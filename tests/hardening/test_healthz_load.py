"""/healthz under load (issue 20, finding 6): it is anonymous, and each request used to broadcast a
query to every Celery worker and hold its thread for the broadcast's second. The worker picture is
now cached in Redis for a few seconds (many requests, one broadcast) and callers are throttled.

The broadcasts are counted with a spy around the real ``inspect`` (it still asks the real broker).
"""

from __future__ import annotations

import threading

import pytest
from django.test import Client

from emotionsite import redisconn
from emotionsite.celery import app
from tests.hardening.test_limits import limit, retry_after


@pytest.fixture
def broadcasts(monkeypatch):
    """Counts the worker broadcasts; the cached picture is forgotten before and after the test."""
    calls: list[float] = []
    inspect = app.control.inspect

    def counting(*args, **kwargs):
        calls.append(kwargs.get("timeout", 0))
        return inspect(*args, **kwargs)

    monkeypatch.setattr(app.control, "inspect", counting)
    forget_health()
    yield calls
    forget_health()


def forget_health() -> None:
    r = redisconn.client(2)
    for key in r.scan_iter(match="emotion:health:*"):
        r.delete(key)


@pytest.mark.django_db
def test_many_healthz_requests_make_one_worker_broadcast(settings, broadcasts):
    settings.EMOTION_HEALTHZ_CACHE_SECONDS = 30
    answers = [Client().get("/healthz") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert all(set(a.json()["workers"]["queues"]) == {"live", "inference", "summaries", "default"} for a in answers)
    assert len(broadcasts) == 1


@pytest.mark.django_db
def test_simultaneous_requests_share_one_broadcast(settings, broadcasts):
    from emotionsite import health

    settings.EMOTION_HEALTHZ_CACHE_SECONDS = 30
    pictures: list[dict] = []
    threads = [threading.Thread(target=lambda: pictures.append(health.worker_picture())) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(pictures) == 5 and all(p == pictures[0] for p in pictures)
    assert len(broadcasts) == 1  # the others waited for its answer instead of asking the workers too


@pytest.mark.django_db
def test_healthz_is_throttled_per_address(settings, broadcasts):
    limit(settings, healthz="3/minute")
    anonymous = Client()
    assert [anonymous.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    refused = anonymous.get("/healthz")
    assert refused.status_code == 429
    retry_after(refused)
    assert "health" in refused.content.decode().lower()
    other_address = Client(REMOTE_ADDR="10.1.2.3")
    assert other_address.get("/healthz").status_code == 200  # counted per address
