"""The real stack in subprocesses, for benchmarks and fault tests: private PostgreSQL and Redis (the
embedded services supervisor, in a folder of its own) or given URLs, migrations, Daphne, Celery workers.

    stack = Stack(Path("/tmp/run"), workers=[("live", "live", 1)])
    stack.start(); ...; stack.stop()

The private services can be restarted (``restart_redis`` / ``restart_postgres``) without touching the
machine's shared servers; the supervisor brings each back on the same port / socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_serving(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Poll ``url`` until it answers 200 (True), or until ``proc`` exits or ``timeout`` s pass (False)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


class Stack:
    def __init__(
        self,
        workdir: Path,
        *,
        workers: list[tuple[str, str, int]] = (("all", "live,inference,summaries,default", 1),),
        database_url: str | None = None,
        redis_url: str | None = None,
        warmup: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """``workers``: (name, queues, concurrency). Without both URLs, private embedded services start."""
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.worker_specs = list(workers)
        self.database_url, self.redis_url = database_url, redis_url
        self.embedded = not (database_url and redis_url)
        self.warmup = warmup
        self.extra_env = dict(extra_env or {})
        self.services: subprocess.Popen | None = None
        self.daphne: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.worker_names: dict[str, str] = {}
        self.port = 0
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Stack:
        try:
            if self.embedded:
                self._start_services()
            self.env = dict(os.environ)
            self.env.update(
                DATABASE_URL=self.database_url,
                REDIS_URL=self.redis_url,
                DEBUG="1",
                MEDIA_ROOT=str(self.dir / "media"),
                EMOTION_STAGING_DIR=str(self.dir / "staging"),
                EMOTION_WORKER_WARMUP="1" if self.warmup else "0",
                PYTHONUNBUFFERED="1",
                **self.extra_env,
            )
            self.manage("migrate", "--noinput", timeout=300)
            self.start_daphne()
            for spec in self.worker_specs:
                self.start_worker(*spec)
            self.wait_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_services(self) -> None:
        data = self.dir / "services"
        data.mkdir(exist_ok=True)
        log = open(self.dir / "services.log", "wb")  # noqa: SIM115 - the supervisor keeps it
        self.services = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "embedded_services.py"), "--dir", str(data)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not (data / "services.env").exists():
            if self.services.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded services did not start; see {self.dir / 'services.log'}")
            time.sleep(0.2)
        urls = read_env_file(data / "services.env")
        self.database_url, self.redis_url = urls["DATABASE_URL"], urls["REDIS_URL"]

    def start_daphne(self) -> None:
        self.port = self.port or free_port()
        log = open(self.dir / "daphne.log", "ab")  # noqa: SIM115
        self.daphne = subprocess.Popen(
            [str(BIN / "python"), "-m", "emotionsite.daphne_server", "-b", "127.0.0.1", "-p", str(self.port),
             "emotionsite.asgi:application"],  # Daphne as run.sh starts it
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        if not wait_serving(f"{self.base}/accounts/login/", self.daphne, 90):
            raise RuntimeError(f"daphne did not start; see {self.dir / 'daphne.log'}")

    def start_worker(self, name: str, queues: str, concurrency: int) -> subprocess.Popen:
        node = f"{name}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        log = open(self.dir / f"worker-{name}.log", "ab")  # noqa: SIM115
        cmd = [
            str(BIN / "celery"), "-A", "emotionsite", "worker", "-Q", queues, "--pool=prefork",
            "-c", str(concurrency), "-n", node, "--without-gossip", "--without-mingle", "-l", "info",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers[name], self.worker_names[name] = proc, node
        return proc

    def wait_workers(self, timeout: float = 180) -> None:
        """Until every worker answers a ping and (with warm-up) its pool processes have loaded the models."""
        from celery import Celery

        app = Celery(broker=self.redis_url)
        deadline = time.monotonic() + timeout
        pending = set(self.worker_names.values())
        while pending:
            for name, proc in self.workers.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {name} exited; see {self.dir / f'worker-{name}.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not answer: {pending}")
            replies = app.control.ping(destination=list(pending), timeout=1.0)
            for reply in replies:
                pending -= set(reply)
        if self.warmup:  # the models load in each pool process after the ping answers
            while time.monotonic() < deadline:
                logs = [(self.dir / f"worker-{n}.log").read_text(errors="replace") for n in self.workers]
                if all("ready." in text for text in logs):
                    break
                time.sleep(0.5)
            time.sleep(2)
        app.close()

    def stop(self) -> None:
        procs = [*self.workers.values(), self.daphne]
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in procs:
            if proc is not None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.workers.clear()
        if self.services is not None and self.services.poll() is None:
            self.services.send_signal(signal.SIGTERM)
            try:
                self.services.wait(60)
            except subprocess.TimeoutExpired:
                self.services.kill()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def upload(self, token: str, path: Path, timeout: float = 60) -> int:
        """Upload ``path`` through the REST API with a token; the new session's id."""
        import httpx

        with open(path, "rb") as fh:
            r = httpx.post(
                f"{self.base}/api/sessions/",
                headers={"Authorization": f"Token {token}"},
                files={"file": (path.name, fh, "video/mp4")},
                timeout=timeout,
            )
        if r.status_code != 201:
            raise RuntimeError(f"upload of {path.name} refused ({r.status_code}): {r.text[:500]}")
        return r.json()["id"]

    def user(self, username: str) -> dict[str, str]:
        """Create (or reuse) a user; returns its session ``cookie`` header value and API ``token``."""
        code = (
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.sessions.backends.db import SessionStore\n"
            "from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY\n"
            "from api_tokens.services import create_token\n"
            f"u, _ = get_user_model().objects.get_or_create(username={username!r})\n"
            "s = SessionStore()\n"
            "s[SESSION_KEY] = str(u.pk)\n"
            "s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
            "s[HASH_SESSION_KEY] = u.get_session_auth_hash()\n"
            "s.create()\n"
            "print('RESULT', s.session_key, create_token(u, 'bench')[1], u.pk)\n"
        )
        out = self.manage("shell", "-c", code)
        _, key, token, pk = next(line for line in out.splitlines() if line.startswith("RESULT")).split()
        return {"cookie": f"sessionid={key}", "token": token, "id": pk}

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        url = self.database_url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def worker_pids(self, name: str) -> list[int]:
        """The worker's main process and its pool processes."""
        import psutil

        proc = self.workers[name]
        return [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children())]

    # ------------------------------------------------------------------ faults
    def restart_redis(self, down_seconds: float = 0.0) -> None:
        """Stop the private Redis (SIGTERM: it writes its AOF) and let the supervisor start it again."""
        import redis

        if not self.embedded:
            raise RuntimeError("only the private embedded Redis may be restarted")
        client = redis.Redis.from_url(self.redis_url)
        pid = client.info("server")["process_id"]
        os.kill(pid, signal.SIGTERM)
        self._wait_gone(pid)
        time.sleep(down_seconds)
        self._wait_until(lambda: client.ping(), "redis to come back")

    def restart_postgres(self, mode: str = "fast") -> None:
        """Stop the private PostgreSQL (``fast``: SIGINT, ``immediate``: SIGQUIT, a crash) and let the
        supervisor start it again."""
        if not self.embedded:
            raise RuntimeError("only the private embedded PostgreSQL may be restarted")
        pid = int((self.dir / "services" / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT if mode == "fast" else signal.SIGQUIT)
        self._wait_gone(pid)
        try:
            self._wait_until(lambda: self.sql("SELECT 1"), "postgres to come back", timeout=90)
        except RuntimeError as exc:
            raise RuntimeError(
                f"{exc}; the supervisor's log ends:\n{self._log_tail('services.log')}\n"
                f"PostgreSQL's log ends:\n{self._log_tail('services/pgdata/log')}"
            ) from None

    def _log_tail(self, name: str, lines: int = 40) -> str:
        path = self.dir / name
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else "(none)"

    @staticmethod
    def _wait_gone(pid: int, timeout: float = 30) -> None:
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).wait(timeout)

    @staticmethod
    def _wait_until(check, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - still coming up
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.2)


def run(coro):
    return asyncio.run(coro)
