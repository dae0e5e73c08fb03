"""Requesting, running and cancelling summaries through the services, with a stand-in LLM where a model
would answer (injected at the service level: ``run_summary(id, llm=…)``); ownership rules."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from sessions_app.models import Session
from summaries.base import SummaryError
from summaries.models import Summary
from summaries.services import GENERIC_ERROR, cancel_summary, request_summary, run_summary
from tests.summaries.conftest import FakeLLM


@pytest.mark.django_db
def test_request_queues_on_commit_and_runs_heuristic(summary_session, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        summary = request_summary(summary_session, "heuristic", user)
    assert len(callbacks) == 1  # the task is sent only once the row is committed
    assert summary.status == "queued" and summary.requested_by == user and summary.task_id
    assert run_summary(summary.pk) == "done"
    summary.refresh_from_db()
    assert summary.status == "done" and summary.progress == 1.0
    assert summary.text.startswith("00:12.0 of video, 3 people seen.") and summary.model_name == ""
    assert summary.started <= summary.finished
    assert run_summary(summary.pk) == "done"  # idempotent: a second delivery changes nothing
    assert Summary.objects.get(pk=summary.pk).finished == summary.finished


@pytest.mark.django_db
def test_request_refusals(summary_session, user, other_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        with pytest.raises(SummaryError, match="where you are an owner or analyst"):
            request_summary(summary_session, "heuristic", other_user)
        with pytest.raises(SummaryError, match="Choose one of the backends"):
            request_summary(summary_session, "oracle", user)
        running = Session.objects.create(owner=user, title="Running", status=Session.Status.ANALYSING)
        with pytest.raises(SummaryError, match="Only a finished session can be summarized"):
            request_summary(running, "heuristic", user)
        with pytest.raises(SummaryError) as exc:
            request_summary(summary_session, "remote", user)  # no remote settings for this user
        assert str(exc.value)
    assert not Summary.objects.exists()


@pytest.mark.django_db
def test_staff_may_summarize_any_session(summary_session, django_user_model, django_capture_on_commit_callbacks):
    staff = django_user_model.objects.create_user(username="staff-s", password="x-pass-12345", is_staff=True)
    with django_capture_on_commit_callbacks(execute=False):
        assert request_summary(summary_session, "heuristic", staff).requested_by == staff


@pytest.mark.django_db
def test_cancel_queued(summary_session, user, other_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        summary = request_summary(summary_session, "heuristic", user)
    with pytest.raises(SummaryError):
        cancel_summary(summary, other_user)
    cancelled = cancel_summary(summary, user)
    assert cancelled.status == "cancelled" and cancelled.finished is not None
    assert run_summary(summary.pk) == "cancelled"  # a delivery that escaped the revoke does nothing
    summary.refresh_from_db()
    assert summary.status == "cancelled" and summary.text == "" and summary.started is None
    with pytest.raises(SummaryError, match="already cancelled"):
        cancel_summary(summary, user)


def _llm_summary(session, user, backend="remote") -> Summary:
    return Summary.objects.create(session=session, requested_by=user, backend=backend, task_id="t")


@pytest.mark.django_db
def test_llm_run_stores_text_model_and_prompt(summary_session, user):
    summary = _llm_summary(summary_session, user)
    llm = FakeLLM()
    assert run_summary(summary.pk, llm=llm) == "done"
    summary.refresh_from_db()
    assert summary.text == llm.text and summary.model_name == "fake-model" and summary.progress == 1.0
    assert "Person: Alice." in summary.prompt and llm.messages[1]["content"] in summary.prompt
    assert llm.max_new_tokens > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (SummaryError("The API key was refused (401)."), "The API key was refused (401)."),
        (RuntimeError("secret internals at /srv/x.py line 3"), GENERIC_ERROR),
    ],
)
def test_llm_errors_become_user_messages(summary_session, user, error, shown, caplog):
    summary = _llm_summary(summary_session, user)
    assert run_summary(summary.pk, llm=FakeLLM(error=error)) == "failed"
    summary.refresh_from_db()
    assert summary.error == shown and summary.text == ""
    assert "Traceback" not in summary.error


@pytest.mark.django_db
def test_empty_reply_fails(summary_session, user):
    summary = _llm_summary(summary_session, user)
    assert run_summary(summary.pk, llm=FakeLLM(text="  ")) == "failed"
    assert Summary.objects.get(pk=summary.pk).error == "The model answered with an empty text."


@pytest.mark.django_db(transaction=True)
def test_cancel_running(summary_session, user):
    """A running generation stops at its next check once the user cancels; nothing is stored."""
    summary = _llm_summary(summary_session, user, backend="local")
    llm = FakeLLM(steps=400, step_s=0.025)  # 10 s unless cancelled
    outcome: list[str] = []

    def work():
        try:
            outcome.append(run_summary(summary.pk, llm=llm))
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    assert llm.started.wait(10)
    row = Summary.objects.get(pk=summary.pk)
    assert row.status == "running" and row.started is not None
    t0 = time.monotonic()
    after = cancel_summary(row, user)
    assert after.status == "running" and after.cancel_requested  # flagged; the run stops itself
    worker.join(15)
    assert not worker.is_alive()
    assert time.monotonic() - t0 < 3  # the runner looks at most every half second
    assert outcome == ["cancelled"] and llm.cancel_seen_after is not None
    row.refresh_from_db()
    assert row.status == "cancelled" and row.text == "" and row.finished is not None
    assert 0 < row.progress < 1  # progress was stored while it ran


@pytest.mark.django_db
def test_task_for_another_users_session_is_refused(summary_session, other_user):
    """Even a row that bypassed request_summary is refused where it runs, and nothing is computed."""
    summary = Summary.objects.create(session=summary_session, requested_by=other_user, backend="heuristic")
    assert run_summary(summary.pk) == "failed"
    summary.refresh_from_db()
    assert (
        summary.error == "You can only summarize sessions of projects where you are an owner or analyst."
        and summary.text == ""
    )


def test_task_goes_to_the_summaries_queue_and_acks_late():
    from emotionsite.celery import app
    from summaries.tasks import generate_summary

    assert generate_summary.name == "summaries.generate" and generate_summary.acks_late
    assert app.amqp.router.route({}, generate_summary.name, args=(1,), kwargs={})["queue"].name == "summaries"
