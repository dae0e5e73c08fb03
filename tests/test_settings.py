from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from conftest import ROOT
from emotionsite.celery import needs_vision_models
from emotionsite.queues import Queue


def test_production_settings_pass_deploy_check():
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY="p" * 20 + "-production-secret-key-with-enough-entropy-" + "q" * 20,
        EMOTION_FERNET_KEYS="ZGV2LW9ubHktZmVybmV0LWtleS0zMi1ieXRlcy0hISE=",
        ALLOWED_HOSTS="emotion.example.org",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_missing_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "SECRET_KEY_FILE"}}
    env.update(DEBUG="0", EMOTION_VAR_DIR=str(tmp_path))  # no generated var/secrets/ either
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_queues_and_routes(settings):
    from emotionsite.celery import app

    assert {q.value for q in Queue} == {"live", "inference", "summaries", "default"}
    router = app.amqp.router
    assert router.route({}, "sessions_app.analyse_frame")["queue"].name == "live"
    assert router.route({}, "sessions_app.analyse_segment")["queue"].name == "inference"
    assert router.route({}, "summaries.summarize_session")["queue"].name == "summaries"
    assert router.route({}, "sessions_app.record_heartbeat")["queue"].name == "default"
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    longest = max(settings.CELERY_TASK_TIME_LIMIT, settings.EMOTION_SUMMARY_TIME_LIMIT)
    assert app.conf.broker_transport_options["visibility_timeout"] > longest


def test_warmup_only_on_vision_queues():
    assert needs_vision_models({"live"})
    assert needs_vision_models({"inference", "default"})
    assert needs_vision_models(set())  # no -Q: every queue
    assert not needs_vision_models({"summaries"})
    assert not needs_vision_models({"default"})


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_time_limits_follow_the_queue(settings):
    from emotionsite.celery import app

    @app.task(name="summaries.probe_limits", shared=False)
    def summary_probe():
        return None

    @app.task(name="sessions_app.analyse_frame", shared=False)
    def live_probe():
        return None

    @app.task(name="summaries.probe_own_limit", time_limit=7, shared=False)
    def own_limit():
        return None

    assert summary_probe.time_limit == settings.EMOTION_SUMMARY_TIME_LIMIT
    assert live_probe.time_limit == settings.EMOTION_LIVE_TIME_LIMIT
    assert live_probe.soft_time_limit < live_probe.time_limit
    assert own_limit.time_limit == 7
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
