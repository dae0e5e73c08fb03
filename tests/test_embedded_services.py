"""The embedded PostgreSQL and Redis: start, supervise, keep data across restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery

from conftest import ROOT
from emotionsite.env import read_env_file


def _start(data: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "embedded_services.py"), "--dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (data / "services.env").exists():
        assert proc.poll() is None, "supervisor exited early"
        assert time.monotonic() < deadline, "embedded services did not start"
        time.sleep(0.2)
    return proc, read_env_file(data / "services.env")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def _pg(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


@pytest.fixture
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedded")


def test_services_start_supervise_and_keep_data(data_dir):
    proc, urls = _start(data_dir)
    try:
        with _pg(urls["DATABASE_URL"]) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('survives')")

        # A task queued before Redis dies is still queued after the supervisor restarts it.
        sender = Celery(broker=urls["REDIS_URL"])
        sender.send_task("sessions_app.record_heartbeat", args=["queued"], queue="live")
        client = redis.Redis.from_url(urls["REDIS_URL"])
        assert client.llen("live") == 1
        old_pid = client.info("server")["process_id"]
        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.info("server")["process_id"] != old_pid:
                    break
            except redis.ConnectionError:
                pass
            assert time.monotonic() < deadline, "redis was not restarted"
            time.sleep(0.2)
        assert client.llen("live") == 1
        client.close()
    finally:
        _stop(proc)
    assert not (data_dir / "services.env").exists()

    proc, urls2 = _start(data_dir)
    try:
        with _pg(urls2["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT v FROM kept").fetchall() == [("survives",)]
        assert redis.Redis.from_url(urls2["REDIS_URL"]).llen("live") == 1
    finally:
        _stop(proc)
