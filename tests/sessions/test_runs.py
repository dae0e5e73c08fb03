"""Analysis runs: a re-analysis keeps the current results until its run completes; a failed one leaves them."""

from __future__ import annotations

import time
import uuid

import pytest

from emotionsite import workers
from inference.emotion.choice import default_weights, file_digest
from sessions_app.models import AnalysisRun, Observation, Session
from sessions_app.services.runs import current_observations, current_weights_version
from tests.sessions.test_analysis import _stored_session
from tests.streamed import read_body


def _reanalyse(client, session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the queueing is not run here
        response = client.post(f"/sessions/{session.pk}/reanalyse/")
    assert response.status_code == 302
    session.refresh_from_db()
    return session


@pytest.fixture
def reporting_worker():
    """This test process analyses in-process; it reports what it loaded as an inference worker's pool does."""
    node = f"test-runs-{uuid.uuid4().hex[:6]}@here"
    workers.publish(node, {"node": node, "host": "here", "queues": ["inference"], "at": time.time()})
    yield node
    workers.forget(node)


OLD = {"emotion": "0-old"}  # a run from before hashes were recorded: compared by version


@pytest.mark.django_db
def test_reanalysis_switches_only_when_complete_and_a_failure_keeps_the_old_run(
    client, user, media_dir, django_capture_on_commit_callbacks, reporting_worker
):
    from sessions_app.tasks import analyse_segment

    client.force_login(user)
    session = _stored_session(user, media_dir / "obama.jpg", Session.Source.IMAGE, sample_fps=2.0)
    assert analyse_segment(session.pk, 0) == "done"
    session.refresh_from_db()
    first = session.current_run
    assert workers.report_loaded_weights(reporting_worker)
    assert first.status == "done" and first.weights_version == current_weights_version() != ""
    assert first.model_versions["emotion_sha256"] == file_digest(default_weights("cpu"))
    assert b'id="reanalyse-form"' not in client.get(f"/sessions/{session.pk}/").content  # current weights
    # results made by older weights: the page offers a re-analysis
    AnalysisRun.objects.filter(pk=first.pk).update(weights_version="0-old", model_versions=OLD)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="reanalyse-form"' in page and "0-old" in page
    old_obs = list(current_observations(session).values_list("pk", flat=True))
    assert len(old_obs) == 1

    session = _reanalyse(client, session, django_capture_on_commit_callbacks)
    second = AnalysisRun.objects.filter(session=session).latest("pk")
    assert session.status == "queued" and second.status == "running" and second.pk != first.pk
    # until the new run completes, the old run's results are what the session shows and exports
    assert session.current_run_id == first.pk
    assert list(current_observations(session).values_list("pk", flat=True)) == old_obs
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="reanalysing"' in page and "0-old" in page and 'id="reanalyse-form"' not in page
    csv = read_body(client.get(f"/sessions/{session.pk}/export/observations.csv")).decode()
    assert csv.count("\n") == 2 and "0-old" in csv

    assert analyse_segment(session.pk, 0) == "done"
    session.refresh_from_db()
    assert session.status == "done" and session.current_run_id == second.pk
    new_obs = list(current_observations(session).values_list("pk", flat=True))
    assert len(new_obs) == 1 and new_obs != old_obs
    assert not Observation.objects.filter(pk__in=old_obs).exists()  # the previous run's rows went
    assert session.emotion_weights_version == current_weights_version()
    assert current_observations(session).get().person_id is not None  # people matched as before
    assert b'id="reanalyse-form"' not in client.get(f"/sessions/{session.pk}/").content

    # a run that fails leaves the current one and its results untouched
    AnalysisRun.objects.filter(pk=second.pk).update(weights_version="0-old", model_versions=OLD)
    session = _reanalyse(client, session, django_capture_on_commit_callbacks)
    third = AnalysisRun.objects.filter(session=session).latest("pk")
    session.original.storage.delete(session.original.name)  # the stored file vanished mid-way
    assert analyse_segment(session.pk, 0) == "failed"
    session.refresh_from_db()
    third.refresh_from_db()
    assert third.status == "failed" and session.current_run_id == second.pk
    assert session.status == "done" and "Re-analysis failed" in session.error
    assert list(current_observations(session).values_list("pk", flat=True)) == new_obs
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="run-error"' in page and 'id="reanalyse-form"' in page


@pytest.mark.django_db
def test_reanalyse_button_is_for_the_owner_only(client, user, django_user_model):
    session = Session.objects.create(owner=user, title="mine", status=Session.Status.DONE)
    other = django_user_model.objects.create_user(username="other-runs", password="x-long-password-1")
    client.force_login(other)
    assert client.post(f"/sessions/{session.pk}/reanalyse/").status_code == 404
    assert not AnalysisRun.objects.filter(session=session).exists()
