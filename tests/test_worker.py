from __future__ import annotations

import pytest

from emotionsite import health
from sessions_app.models import Heartbeat
from sessions_app.tasks import record_heartbeat


@pytest.mark.django_db(transaction=True)
def test_real_worker_writes_to_postgres(celery_worker_proc):
    pk = record_heartbeat.delay("end-to-end").get(timeout=60)
    row = Heartbeat.objects.get(pk=pk)
    assert row.note == "end-to-end"
    assert row.worker


@pytest.mark.django_db(transaction=True)
def test_healthz_sees_the_worker_and_names_it_to_staff_only(client, celery_worker_proc, user):
    health.forget_workers()  # a picture cached before this worker started would be stale for a few seconds
    anonymous = client.get("/healthz")
    body = anonymous.json()
    assert body["database"] == "up" and body["redis"] == "up"
    assert body["workers"]["queues"] == {"live": "up", "inference": "up", "summaries": "up", "default": "up"}
    assert set(body["workers"]) == {"status", "queues"}  # no worker or host names for anonymous visitors
    assert celery_worker_proc.name.encode() not in anonymous.content
    user.is_staff = True
    user.save()
    client.force_login(user)
    staff = client.get("/healthz").json()
    assert celery_worker_proc.name in staff["workers"]["names"]
    assert sorted(staff["workers"]["nodes"][celery_worker_proc.name]) == ["default", "inference", "live", "summaries"]
