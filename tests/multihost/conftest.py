"""One two-host stack for the module (docs/architecture.md "A worker on another machine"): the web host (this
machine's network: Daphne, and PostgreSQL, Redis and moto's S3 bound only to its end of a veth link) and a
second host (a network namespace with its own empty /tmp) running the inference and the live workers."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bench.stack import Stack
from conftest import ROOT
from tests.multihost import hosts
from tests.sessions.conftest import media_dir  # noqa: F401 - a fixture (skips without the data folder)

BUCKET = "emotion-media"
SAMPLE_FPS = "2"
WORKER_ROOT = "/tmp/worker"  # inside the second host's own /tmp
WORKER_FOLDERS = {
    "MEDIA_ROOT": f"{WORKER_ROOT}/media",
    "EMOTION_STAGING_DIR": f"{WORKER_ROOT}/staging",
    "EMOTION_VAR_DIR": f"{WORKER_ROOT}/var",
    "TMPDIR": f"{WORKER_ROOT}/tmp",  # where local copies of stored media are made
    "HOME": f"{WORKER_ROOT}/home",
}


@dataclass
class Worker:
    proc: subprocess.Popen
    node: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def files(self) -> list[str]:
        """Every file in the worker's own folders, seen through its mount namespace (/proc/<pid>/root)."""
        root = Path(f"/proc/{self.proc.pid}/root{WORKER_ROOT}")
        assert root.is_dir(), f"the worker's folders are not visible at {root}"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@dataclass
class TwoHosts:
    link: hosts.Link
    postgres: hosts.Postgres
    redis: hosts.Redis
    store: hosts.ObjectStore
    web: Stack
    web_dir: Path
    workers: dict[str, Worker] = field(default_factory=dict)
    user: dict[str, str] = field(default_factory=dict)

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        return self.web.sql(query, params)

    def logs(self) -> str:
        parts = [f"--- {name} worker ---\n{w.log()[-3000:]}" for name, w in self.workers.items()]
        daphne = self.web_dir / "daphne.log"
        if daphne.is_file():
            parts.append(f"--- daphne ---\n{daphne.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def wait_session(self, session_id: int, timeout: float = 240) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            status, error = self.sql("SELECT status, error FROM sessions_app_session WHERE id = %s", (session_id,))[0]
            if status in ("done", "failed") or time.monotonic() > deadline:
                return status, error
            time.sleep(0.5)


def _worker_env(shared: dict[str, str]) -> dict[str, str]:
    """Nothing of this process's environment but the basics: the shared configuration and its own folders."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    env.update(shared, **WORKER_FOLDERS, DEBUG="1", EMOTION_WORKER_WARMUP="1", PYTHONUNBUFFERED="1")
    return env


def _start_worker(link: hosts.Link, env: dict[str, str], name: str, queues: str, log_dir: Path) -> Worker:
    node = f"{name}-{uuid.uuid4().hex[:6]}@second-host"
    log_path = log_dir / f"worker-{name}.log"
    cmd = link.command(
        str(hosts.VENV_PYTHON), "-m", "celery", "-A", "emotionsite", "worker", "-Q", queues, "--pool=prefork",
        "-c", "1", "-n", node, "--without-gossip", "--without-mingle", "-l", "info",
        folders=tuple(WORKER_FOLDERS.values()),
    )  # fmt: skip
    with open(log_path, "wb") as log:  # opened here: the worker writes to it without seeing this folder
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Worker(proc, node, log_path)


def _wait_workers(redis_url: str, workers: dict[str, Worker], timeout: float = 120) -> None:
    from celery import Celery

    app = Celery(broker=redis_url)
    pending = {w.node for w in workers.values()}
    deadline = time.monotonic() + timeout
    try:
        while pending:
            for name, w in workers.items():
                if w.proc.poll() is not None:
                    raise RuntimeError(f"the {name} worker exited:\n{w.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not answer: {pending}")
            for reply in app.control.ping(destination=list(pending), timeout=1.0):
                pending -= set(reply)
    finally:
        app.close()


@pytest.fixture(scope="module")
def two_hosts(media_dir, tmp_path_factory) -> Iterator[TwoHosts]:  # noqa: F811 - media_dir is the fixture
    reason = hosts.unavailable()
    if reason:
        pytest.skip(f"a second host cannot be made here: {reason}")
    base = tmp_path_factory.mktemp("multihost")
    link = hosts.Link()
    services: list = []
    web = None
    workers: dict[str, Worker] = {}
    try:
        try:
            link.open()
        except subprocess.CalledProcessError as exc:  # root without the right to make one (a container)
            pytest.skip(f"a second host cannot be made here: {' '.join(exc.cmd)}: {exc.stderr.strip()}")
        postgres = hosts.Postgres(link.host_ip, link.network)
        services.append(postgres)
        postgres.start()
        redis = hosts.Redis(link.host_ip, base / "redis")
        services.append(redis)
        redis.start()
        store = hosts.ObjectStore(link.host_ip, base / "moto", BUCKET)
        services.append(store)
        store.start()
        shared = {  # the same on both hosts: configuration, not files
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "EMOTION_FERNET_KEYS": Fernet.generate_key().decode(),
            "EMOTION_MEDIA_STORAGE": "s3",
            "EMOTION_S3_ENDPOINT_URL": store.endpoint,
            "EMOTION_S3_BUCKET": BUCKET,
            "EMOTION_S3_REGION": store.region,
            "EMOTION_S3_ACCESS_KEY_ID": store.key_id,
            "EMOTION_S3_SECRET_ACCESS_KEY": store.secret,
        }
        # the workers load their models while the web host migrates the database
        worker_env = _worker_env(shared)
        workers["inference"] = _start_worker(link, worker_env, "inference", "inference,default", base)
        workers["live"] = _start_worker(link, worker_env, "live", "live", base)
        web_dir = base / "web"
        web_only = {k: v for k, v in shared.items() if k not in ("DATABASE_URL", "REDIS_URL")}  # Stack sets those
        web = Stack(
            web_dir,
            workers=[],  # no worker on the web host: every task goes to the second host
            database_url=postgres.url,
            redis_url=redis.url,
            warmup=False,
            extra_env={**web_only, "EMOTION_VAR_DIR": str(web_dir / "var"), "EMOTION_DEFAULT_SAMPLE_FPS": SAMPLE_FPS,
                       "EMOTION_WEB_NODE": "web-host", "EMOTION_LIMIT_HEALTHZ": "off",
                       "EMOTION_LIVE_RESUME_GRACE_SECONDS": "2"},  # a dropped recording is finished soon
        )  # fmt: skip
        web.start()
        stack = TwoHosts(link, postgres, redis, store, web, web_dir, workers)
        stack.user = web.user("multihost")
        _wait_workers(redis.url, workers)
        yield stack
    finally:
        if web is not None:
            web.stop()
        for w in workers.values():
            hosts.stop(w.proc, 20)
        link.close()
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.stop()
