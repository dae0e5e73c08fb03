"""The workers page and "made with older weights", from what the suite's real worker publishes."""

from __future__ import annotations

import time

import pytest

from emotionsite import workers
from inference.emotion.choice import default_weights, file_digest
from sessions_app.models import AnalysisRun, Session
from tests.sessions.test_analysis import _stored_session


def _reported(node: str, timeout: float = 30) -> dict:
    """The worker's report once it names its weights and no task runs (a report is published every 10 s:
    one taken while the task ran still counts it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = next((w for w in workers.published() if w["node"] == node), None)
        if row and row["weights"] and row["tasks_running"] == 0:
            return row
        time.sleep(0.2)
    raise AssertionError(f"{node} did not report its weights with no task running: {workers.published()}")


@pytest.mark.django_db(transaction=True)
def test_workers_page_and_older_weights_follow_what_the_worker_loaded(
    client, user, django_user_model, media_dir, celery_worker_proc
):
    from sessions_app.services.manage import delete_session
    from sessions_app.tasks import analyse_segment

    session = _stored_session(user, media_dir / "obama.jpg", Session.Source.IMAGE, sample_fps=2.0)
    try:
        assert analyse_segment.delay(session.pk, 0).get(timeout=120) == "done", celery_worker_proc.log()[-3000:]
        row = _reported(celery_worker_proc.name)  # its pool process loaded the models for that task
        digest = file_digest(default_weights("cpu"))
        assert row["weights"]["file"] == "emotion.pt" and row["weights"]["sha256"] == digest
        assert row["weights"]["device"] == "cpu" and row["queues"] == ["default", "inference", "live", "summaries"]
        assert (
            row["cpus"] >= 1 and row["memory_total_mb"] > 0 and row["worker_rss_mb"] > 0 and row["tasks_running"] == 0
        )
        session.refresh_from_db()
        assert session.status == "done" and session.current_run.model_versions["emotion_sha256"] == digest

        staff = django_user_model.objects.create_user(username="ops-staff", password=None, is_staff=True)
        client.force_login(staff)
        page = client.get("/staff/workers/").content.decode()
        assert f'data-node="{celery_worker_proc.name}"' in page and digest in page and "emotion.pt" in page
        assert "default, inference, live, summaries" in page and 'id="workers-mixed-weights"' not in page
        assert 'href="/staff/workers/"' in client.get("/admin/").content.decode()  # linked from the admin

        client.force_login(user)
        assert b'id="reanalyse-form"' not in client.get(f"/sessions/{session.pk}/").content  # the loaded bytes
        # the same version label, other bytes: the results were not made by what the workers load
        run = session.current_run
        AnalysisRun.objects.filter(pk=run.pk).update(model_versions={**run.model_versions, "emotion_sha256": "0" * 16})
        page = client.get(f"/sessions/{session.pk}/").content.decode()
        assert 'id="reanalyse-form"' in page and "updated since under the same name" in page
    finally:
        delete_session(session)


def test_only_inference_workers_count_and_a_stopped_worker_drops_off():
    """ "Older weights" means weights no inference worker loads: a live-only worker's do not count."""
    loaded = {"file": "emotion-large.pt", "version": "v-live", "sha256": "1" * 16, "device": "cuda", "gpu": "X"}
    node = "test-live-only@here"
    workers.publish(node, {"node": node, "host": "here", "queues": ["live"], "at": time.time()})
    workers.publish_weights(node, loaded)
    try:
        row = next(w for w in workers.published() if w["node"] == node)
        assert row["weights"] == loaded and row["age"] < 60
        assert loaded not in workers.loaded_weights()
        assert loaded in workers.loaded_weights("live")
    finally:
        workers.forget(node)
    assert node not in {w["node"] for w in workers.published()}
