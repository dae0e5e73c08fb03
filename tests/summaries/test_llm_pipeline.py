"""The LLM backends inside the summaries pipeline: a summary requested through the REST API and run by
``run_summary`` against the test's chat-completions server or a tiny local model; the API key never
appears in an API response, the stored prompt or the stored error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from summaries.backends import local
from summaries.models import AllowedLLMHost, Summary
from summaries.services import run_summary
from tests.summaries.test_local import CHAT_TEMPLATE, _build_tiny_model
from tests.summaries.test_remote import API_KEY, ChatHandler, llm_server  # noqa: F401 - the server fixture

pytestmark = pytest.mark.django_db


def _request(api, session, backend: str, capture) -> dict:
    with capture(execute=False):
        response = api.post(f"/api/sessions/{session.pk}/summaries/", {"backend": backend}, format="json")
    assert response.status_code == 201, response.content
    assert API_KEY not in response.content.decode()
    return response.json()


def _configure_remote(client, base: str, mode: str) -> None:
    client.post(
        reverse("llm_settings"),
        {"remote_url": f"{base}/{mode}/v1", "remote_model": "test-model", "api_key": API_KEY},
    )


@pytest.fixture
def remote_ready(llm_server, settings, auth_client):  # noqa: F811
    settings.EMOTION_LLM_STREAM = False
    ChatHandler.seen.clear()
    AllowedLLMHost.objects.create(host="127.0.0.1")
    return llm_server


def test_remote_summary_through_the_api(
    remote_ready, auth_client, api, summary_session, django_capture_on_commit_callbacks
):
    _configure_remote(auth_client, remote_ready, "ok")
    created = _request(api, summary_session, "remote", django_capture_on_commit_callbacks)
    assert created["backend"] == "remote"

    assert run_summary(created["id"]) == "done"
    response = api.get(f"/api/sessions/{summary_session.pk}/summaries/{created['id']}/")
    body = response.json()
    assert body["text"] == "At 00:02 Alice smiles." and body["model_name"] == "served-model"
    assert API_KEY not in response.content.decode()
    assert API_KEY not in api.get(f"/api/sessions/{summary_session.pk}/summaries/").content.decode()

    (request,) = ChatHandler.seen
    assert request["body"]["model"] == "test-model" and request["body"]["max_tokens"] > 0
    assert "Alice" in request["body"]["messages"][-1]["content"]  # the person's current name
    assert API_KEY not in Summary.objects.get(pk=created["id"]).prompt


def test_remote_wrong_key_fails_with_a_clear_message(
    remote_ready, auth_client, api, summary_session, django_capture_on_commit_callbacks
):
    _configure_remote(auth_client, remote_ready, "badkey")
    created = _request(api, summary_session, "remote", django_capture_on_commit_callbacks)
    assert run_summary(created["id"]) == "failed"
    response = api.get(f"/api/sessions/{summary_session.pk}/summaries/{created['id']}/")
    assert "refused the API key (HTTP 401)" in response.json()["error"]
    assert API_KEY not in response.content.decode()


def test_local_summary_through_the_api(settings, tmp_path, api, summary_session, django_capture_on_commit_callbacks):
    folder = tmp_path / "tiny-llama"
    _build_tiny_model(folder, chat_template=CHAT_TEMPLATE, llama=True)  # rotary positions: any prompt length
    settings.EMOTION_LOCAL_LLM_MODEL = str(folder)
    settings.EMOTION_LOCAL_LLM_DEVICE = "cpu"
    local.unload_local_llm()
    try:
        created = _request(api, summary_session, "local", django_capture_on_commit_callbacks)
        assert run_summary(created["id"]) == "done"
    finally:
        local.unload_local_llm()
    summary = Summary.objects.get(pk=created["id"])
    assert summary.model_name == str(folder)
    assert summary.text.strip() and summary.progress == pytest.approx(1.0)
    assert "Alice" in summary.prompt and "\x00" not in summary.text
