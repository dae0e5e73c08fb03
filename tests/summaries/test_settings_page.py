"""The LLM settings page: write-only API key stored encrypted, URLs checked, the status panel with the
summaries worker's facts (recorded in Redis by the worker itself), backends enabled or disabled."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from summaries import availability
from summaries.backends import local
from summaries.models import AllowedLLMHost, LLMSettings

API_KEY = "sk-page-secret-0815-abcdef"
URL = reverse("llm_settings")


@pytest.fixture(autouse=True)
def no_worker_facts(request, settings):
    """Start from "no summaries worker reported", then put back what a running test worker had reported."""
    settings.EMOTION_LOCAL_LLM_MODEL = "/nonexistent/llm-folder"
    if "celery_worker_proc" in request.fixturenames:
        yield
        return
    store, key = availability._redis(), availability._facts_key()
    saved = store.hgetall(key)
    store.delete(key)
    yield
    store.delete(key)
    if saved:
        store.hset(key, mapping=saved)


def save(client, **data):
    form = {"remote_url": "", "remote_model": "", "api_key": ""} | data
    return client.post(URL, form)


def test_anonymous_is_redirected_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(URL, {"remote_url": "https://x.example/v1"}).status_code == 302
    assert not LLMSettings.objects.exists()


def test_key_is_write_only_and_encrypted(auth_client, user):
    AllowedLLMHost.objects.create(host="127.0.0.1")
    response = save(auth_client, remote_url="http://127.0.0.1:9/v1", remote_model="m1", api_key=API_KEY)
    assert response.status_code == 302 and response["Location"] == URL

    row = LLMSettings.objects.get(user=user)
    assert row.remote_url == "http://127.0.0.1:9/v1" and row.remote_model == "m1"
    assert row.api_key_encrypted and API_KEY not in row.api_key_encrypted  # the raw column is not the key
    assert row.get_api_key() == API_KEY

    page = auth_client.get(URL).content.decode()
    assert API_KEY not in page
    assert 'id="api-key-state">(set)' in page and 'id="status-api-key">set' in page
    assert 'value="http://127.0.0.1:9/v1"' in page  # URL and model are shown back, the key never

    # saving without a key keeps it; a form error re-renders without echoing the typed key either
    save(auth_client, remote_url="http://127.0.0.1:9/v1", remote_model="m2")
    assert LLMSettings.objects.get(user=user).get_api_key() == API_KEY
    response = save(auth_client, remote_url="http://127.0.0.1:9/v1", remote_model="", api_key=API_KEY)
    assert response.status_code == 200 and "Enter the model name" in response.content.decode()
    assert API_KEY not in response.content.decode()

    save(auth_client, remote_url="http://127.0.0.1:9/v1", remote_model="m2", clear_api_key="on")
    assert LLMSettings.objects.get(user=user).api_key_encrypted == ""
    assert 'id="status-api-key">not set' in auth_client.get(URL).content.decode()


def test_private_url_refused_until_allow_listed(auth_client, user):
    response = save(auth_client, remote_url="http://10.0.0.7:8000/v1", remote_model="m", api_key=API_KEY)
    body = response.content.decode()
    assert response.status_code == 200
    assert "This address is not allowed" in body and "allowed LLM hosts" in body
    assert API_KEY not in body
    assert not LLMSettings.objects.filter(user=user).exists()

    for bad, message in [("https://u:p@llm.example/v1", "credentials"), ("ftp://llm.example/", "Only http")]:
        assert message in save(auth_client, remote_url=bad, remote_model="m").content.decode()

    AllowedLLMHost.objects.create(host="10.0.0.7")
    assert save(auth_client, remote_url="http://10.0.0.7:8000/v1", remote_model="m").status_code == 302
    assert LLMSettings.objects.get(user=user).remote_url == "http://10.0.0.7:8000/v1"


def test_refusal_names_no_internal_address(auth_client, user, monkeypatch):
    from tests.summaries.test_netguard import fake_dns

    fake_dns(monkeypatch, {"db.lab": ["10.0.3.7"]})
    body = save(auth_client, remote_url="http://db.lab:5432/v1", remote_model="m").content.decode()
    assert "This address is not allowed" in body and "allowed LLM hosts" in body
    assert "10.0.3.7" not in body and "resolves to" not in body and "private address" not in body
    assert not LLMSettings.objects.filter(user=user).exists()


def test_saving_is_rate_limited(auth_client, user, settings, monkeypatch):
    """Every save resolves a host name: saves are counted per user (refused ones too), page views are not."""
    from tests.summaries.test_netguard import fake_dns

    fake_dns(monkeypatch, {"llm.example.com": ["93.184.216.34"]})
    settings.EMOTION_LIMITS = {**settings.EMOTION_LIMITS, "llm_settings": "2/hour"}
    assert save(auth_client, remote_url="http://10.0.0.7:8000/v1", remote_model="m").status_code == 200  # refused
    assert save(auth_client, remote_url="https://llm.example.com/v1", remote_model="m1").status_code == 302
    assert auth_client.get(URL).status_code == 200
    refused = save(auth_client, remote_url="https://llm.example.com/v1", remote_model="m2")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many changes of the LLM settings. Try again in" in refused.content.decode()
    assert 'value="https://llm.example.com/v1"' in refused.content.decode()  # the form is shown again
    assert LLMSettings.objects.get(user=user).remote_model == "m1"


def test_status_panel_without_a_worker_report(auth_client, admin_client):
    """Staff see the operator's facts (worker, CUDA, model cache, settings names); a user sees plain words."""
    page = auth_client.get(URL).content.decode()
    assert "<strong>Local LLM</strong>: disabled — The local model is not available on this server; ask your" in page
    for operator_word in ("CUDA", "EMOTION_", "/nonexistent/llm-folder", "cache", "summaries worker"):
        assert operator_word not in page, operator_word
    assert 'id="status-remote-url">not set' in page and "<strong>Heuristic</strong>: enabled" in page

    page = admin_client.get(URL).content.decode()
    assert "unknown (no summaries worker has reported)" in page
    assert "/nonexistent/llm-folder — folder not found" in page
    assert 'id="status-remote-url">not set' in page and 'id="status-api-key">not set' in page
    assert "<strong>Heuristic</strong>: enabled" in page
    assert "<strong>Local LLM</strong>: disabled — The model folder “/nonexistent/llm-folder” does not exist" in page
    assert "<strong>Remote LLM</strong>: disabled — No remote LLM URL set" in page
    assert "at most about 1.5B parameters" in page and "tiiuae/falcon-7b-instruct" not in page  # configured


def test_backends_for_follows_the_worker_facts(auth_client, admin_client, user, settings):
    settings.EMOTION_LOCAL_LLM_MODEL = ""
    availability._write("gpu-1@host", {"worker": "gpu-1@host", "cuda": True, "local_model": local.GPU_DEFAULT_MODEL,
                                       "local_status": "loaded", "local_device": "cuda (4-bit NF4)",
                                       "reported": time.time()})  # fmt: skip
    backends = availability.backends_for(user)
    assert backends["heuristic"].available and backends["local"].available
    assert not backends["remote"].available

    page = admin_client.get(URL).content.decode()  # the worker's facts are for staff
    assert 'id="status-cuda">available <span class="muted">(gpu-1@host' in page
    assert "tiiuae/falcon-7b-instruct — loaded in the summaries worker (cuda (4-bit NF4))" in page

    AllowedLLMHost.objects.create(host="127.0.0.1")
    LLMSettings.objects.create(user=user, remote_url="http://127.0.0.1:9/v1", remote_model="m")
    assert availability.backends_for(user)["remote"].available
    assert "<strong>Remote LLM</strong>: enabled" in auth_client.get(URL).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_real_summaries_worker_reports_its_facts(celery_worker_proc, settings):
    """The worker process records CUDA and its local model in Redis at start (this machine: no CUDA)."""
    deadline = time.monotonic() + 60
    while (facts := availability.worker_facts(celery_worker_proc.name)) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"the worker recorded no facts:\n{celery_worker_proc.log()[-3000:]}")
        time.sleep(0.3)
    assert facts["worker"] == celery_worker_proc.name
    assert facts["cuda"] is False
    assert facts["local_model"] == local.CPU_DEFAULT_MODEL  # the worker's env sets no model
    assert facts["local_status"] in ("cached", "needs_download")


def test_key_not_in_the_admin_either(admin_client, user):
    row = LLMSettings(user=user, remote_url="https://llm.example.com/v1", remote_model="m")
    row.set_api_key(API_KEY)
    row.save()
    for url in (
        reverse("admin:summaries_llmsettings_changelist"),
        reverse("admin:summaries_llmsettings_change", args=[row.pk]),
    ):
        body = admin_client.get(url).content.decode()
        assert "llm.example.com" in body
        assert API_KEY not in body and row.api_key_encrypted not in body


def test_facts_of_a_dead_worker_are_ignored(admin_client):
    """A worker re-stamps its facts every minute; one killed without clearing them is not believed."""
    old = time.time() - availability.MAX_AGE_S - 5
    availability._write("dead@host", {"worker": "dead@host", "cuda": True, "reported": old})
    assert availability.worker_facts() is None
    assert availability.worker_facts("dead@host", fresh_only=False)["cuda"] is True
    assert "unknown (no summaries worker has reported)" in admin_client.get(URL).content.decode()


def test_local_reasons_are_for_staff(user, admin_user, settings):
    """Issue 22: every session page told users about the model cache and EMOTION_LLM_ALLOW_DOWNLOAD."""
    from summaries.selectors import availability as backend_availability
    from summaries.selectors import backend_options

    settings.EMOTION_LOCAL_LLM_MODEL = "tiny-org/never-downloaded"
    settings.EMOTION_LLM_ALLOW_DOWNLOAD = False
    plain = {b["value"]: b["reason"] for b in backend_options(user)}
    assert plain["local"] == availability.LOCAL_UNAVAILABLE
    assert backend_availability("local", user).reason == availability.LOCAL_UNAVAILABLE  # what a request is told
    assert plain["remote"].startswith("No remote LLM URL set")  # the user's own settings: theirs to read

    staff = availability.backends_for(admin_user)["local"].reason
    assert "not in the local model cache" in staff and "EMOTION_LLM_ALLOW_DOWNLOAD" in staff
