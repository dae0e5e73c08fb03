"""`scripts/run.sh` started as users start it, for tests that must meet the real Daphne process and its
workers (memory, body limits, streaming): :class:`RunSh` runs it in a process group of its own on the test
database and Redis, with queues of its own (:func:`stack_env`), so the session-wide test worker takes none of
its tasks.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from bench.stack import free_port, wait_serving
from conftest import ROOT

PASSWORD = "correct-horse-battery-9"
SECRETS_GIVEN = ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "EMOTION_FERNET_KEYS", "EMOTION_FERNET_KEYS_FILE")


class RunSh:
    """``bash scripts/run.sh`` in a process group of its own (a terminal's Ctrl-C reaches the whole group)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.port = int(env["EMOTION_PORT"])
        self.https_port = int(env.get("EMOTION_HTTPS_PORT", 0))
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "run.sh")],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        if not wait_serving(f"{self.http}/healthz", self.proc, 120):
            self.stop()
            pytest.fail(f"run.sh did not serve:\n{self.log()[-4000:]}")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https(self) -> str:
        return f"https://localhost:{self.https_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def ctrl_c(self, timeout: float = 60) -> list[psutil.Process]:
        """SIGINT to the foreground group, as a terminal sends it; the processes still alive afterwards."""
        procs = self.descendants()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        _, alive = psutil.wait_procs(procs, timeout=5)
        return alive

    def stop(self) -> None:
        for proc in self.ctrl_c():
            proc.kill()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)


def stack_env(service_env: dict[str, str], tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in service_env.items() if k not in SECRETS_GIVEN}
    tag = uuid.uuid4().hex[:6]
    env.update(
        EMOTION_VAR_DIR=str(tmp / "var"),
        MEDIA_ROOT=str(tmp / "media"),
        EMOTION_PORT=str(free_port()),
        EMOTION_WORKER_WARMUP="0",
        EMOTION_DEFAULT_SAMPLE_FPS="1",
        EMOTION_SEGMENT_SECONDS="2",
        EMOTION_CELERY_LOG_LEVEL="warning",
        EMOTION_LIMIT_HEALTHZ="off",  # the tests poll /healthz several times a second
        EMOTION_HEALTHZ_CACHE_SECONDS="1",  # they watch a killed worker go down and come back within seconds
        **{f"EMOTION_QUEUE_{q}": f"runsh-{tag}-{q.lower()}" for q in ("LIVE", "INFERENCE", "SUMMARIES", "DEFAULT")},
    )
    env.update(extra)
    return env


def log_in(client: httpx.Client, base: str, username: str) -> httpx.Response:
    page = client.get(f"{base}/accounts/login/")
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/", "Origin": base},
    )


def daphne_process(stack: RunSh) -> psutil.Process:
    """The Daphne process run.sh started (under its supervisor), to read its memory."""
    found = [
        p
        for p in stack.descendants()
        if "daphne" in " ".join(p.cmdline()[:3]) and "supervise.py" not in " ".join(p.cmdline()[:3])
    ]
    assert len(found) == 1, [p.cmdline() for p in found]
    return found[0]
