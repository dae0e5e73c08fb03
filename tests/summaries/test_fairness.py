"""One user cannot hold the single summaries worker (issue 20, finding 3): heuristic summaries go to a
queue the LLM worker does not serve, and each user has at most one LLM summary queued or running."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from celery.signals import before_task_publish
from django.test import Client
from rest_framework.test import APIClient

from summaries.models import AllowedLLMHost, LLMSettings, Summary
from summaries.services import GENERIC_ERROR, request_summary, run_summary

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def remote_ready(user):
    """A remote backend that is available (a literal allow-listed address: no DNS, nothing is sent)."""
    AllowedLLMHost.objects.create(host="127.0.0.1")
    LLMSettings.objects.create(user=user, remote_url="http://127.0.0.1:9/v1", remote_model="m")


def run_sh_queues() -> dict[str, set[str]]:
    """Which queues each worker of scripts/run.sh consumes (the defaults of its -Q list)."""
    text = (ROOT / "scripts" / "run.sh").read_text()
    found = re.findall(r'-- (\w+) "\$\{worker\[@\]\}" -Q "([^"]+)"', text)
    return {name: set(re.findall(r":-(\w+)\}", queues)) for name, queues in found}


@pytest.mark.django_db
def test_heuristic_summaries_never_queue_behind_llm_ones(summary_session, user, remote_ready,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    published: dict[str, str] = {}

    def record(sender=None, headers=None, routing_key=None, **kwargs):
        published[headers["id"]] = routing_key

    before_task_publish.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            remote = request_summary(summary_session, "remote", user)
            heuristic = request_summary(summary_session, "heuristic", user)
    finally:
        before_task_publish.disconnect(record)
    assert published == {remote.task_id: "summaries", heuristic.task_id: "default"}

    workers = run_sh_queues()
    assert workers["summaries"] == {"summaries"}  # the one LLM process takes nothing else...
    assert any("default" in queues for name, queues in workers.items() if name != "summaries")  # ...default has one


@pytest.mark.django_db
def test_one_llm_summary_per_user_at_a_time(summary_session, user, remote_ready, django_capture_on_commit_callbacks):
    api = APIClient()
    api.force_login(user)
    url = f"/api/sessions/{summary_session.pk}/summaries/"
    with django_capture_on_commit_callbacks(execute=False):
        first = api.post(url, {"backend": "remote"}, format="json")
        assert first.status_code == 201, first.content
        refused = api.post(url, {"backend": "remote"}, format="json")
        assert refused.status_code == 429 and refused["Retry-After"] == "60"
        assert refused.json()["detail"] == (
            "You already have an LLM summary queued or running (at most 1 at a time). Try again in 60 s."
        )
        assert api.post(url, {"backend": "heuristic"}, format="json").status_code == 201  # not held back

        page = Client()
        page.force_login(user)
        refused_page = page.post(f"/sessions/{summary_session.pk}/summaries/", {"backend": "remote"})
        assert refused_page.status_code == 429 and "already have an LLM summary" in refused_page.content.decode()

        Summary.objects.filter(pk=first.json()["id"]).update(backend="local")  # the local model counts too
        assert api.post(url, {"backend": "remote"}, format="json").status_code == 429
        assert api.post(f"{url}{first.json()['id']}/cancel/").status_code == 200  # the first one ends...
        assert api.post(url, {"backend": "remote"}, format="json").status_code == 201  # ...the next may go
    assert list(Summary.objects.order_by("pk").values_list("backend", "status")) == [
        ("local", "cancelled"), ("heuristic", "queued"), ("remote", "queued"),
    ]  # fmt: skip


@pytest.mark.django_db
def test_the_heuristic_task_never_runs_an_llm(summary_session, user):
    """The default queue's worker is a vision worker: an LLM row sent there by mistake fails, and no model runs."""
    from summaries.tasks import generate_heuristic_summary
    from tests.summaries.conftest import FakeLLM

    llm = FakeLLM()
    row = Summary.objects.create(session=summary_session, requested_by=user, backend="remote", task_id="t")
    assert run_summary(row.pk, llm=llm, heuristic_only=True) == "failed"
    assert not llm.started.is_set() and Summary.objects.get(pk=row.pk).error == GENERIC_ERROR
    row = Summary.objects.create(session=summary_session, requested_by=user, backend="heuristic", task_id="h")
    assert generate_heuristic_summary(row.pk) == "done"
    assert Summary.objects.get(pk=row.pk).text.startswith("00:12.0 of video")
