from __future__ import annotations

import pytest

from sessions_app.models import Heartbeat
from sessions_app.tasks import record_heartbeat


@pytest.mark.django_db(transaction=True)
def test_real_worker_writes_to_postgres(celery_worker_proc):
    pk = record_heartbeat.delay("end-to-end").get(timeout=60)
    row = Heartbeat.objects.get(pk=pk)
    assert row.note == "end-to-end"
    assert row.worker


@pytest.mark.django_db(transaction=True)
def test_healthz_sees_the_worker(client, celery_worker_proc):
    body = client.get("/healthz").json()
    assert body["database"] == "up" and body["redis"] == "up"
    assert celery_worker_proc.name in body["workers"]["names"]
