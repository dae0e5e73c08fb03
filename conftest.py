"""Project-wide fixtures that reach the real services. Reuse these in later tests:

- ``service_env``: environment for a subprocess (worker, Daphne) that must use the *test* database
  and the test run's Redis.
- ``celery_worker_proc``: one real Celery worker (prefork, -c 1) on all four queues for the whole test
  session; use with ``@pytest.mark.django_db(transaction=True)`` so the worker sees your rows.
- ``daphne_server``: the real ASGI app served by a Daphne subprocess; yields its base URL.
- ``browser_page``: a Playwright page in headless system Chromium (skips without /usr/bin/chromium);
  ``logged_in_page``: the same, signed in as ``user``. ``log_in(page, base, username, password)`` and
  ``with chromium_page(*args) as page`` for tests that check the database after the browser is closed.
- ``user`` / ``password``, ``auth_client``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.stack import free_port, wait_serving

os.environ.setdefault("DEBUG", "1")

ROOT = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery-9"


def pytest_configure(config) -> None:
    _retry_flush_on_deadlock()


def _retry_flush_on_deadlock() -> None:
    """A transactional test ends with a flush (TRUNCATE of every table). The session-wide Celery worker
    may still be finishing a task the test started (a live frame, a finishing recording), holding its
    read locks: PostgreSQL then aborts one side as a deadlock, sometimes the TRUNCATE. The worker's
    transaction goes on and ends, so the flush is tried again (a few times, briefly apart)."""
    from django.db import OperationalError
    from django.test import testcases

    original = testcases.TransactionTestCase._fixture_teardown

    def teardown(self) -> None:
        for attempt in range(5):
            try:
                return original(self)
            except Exception as exc:  # noqa: BLE001 - flush wraps the database error in a CommandError
                cause = exc.__cause__ or exc.__context__
                if attempt == 4 or not isinstance(cause, OperationalError) or "deadlock" not in str(cause):
                    raise
                time.sleep(0.5)

    testcases.TransactionTestCase._fixture_teardown = teardown


def _stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def service_env(django_db_setup) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    from emotionsite.env import with_database_name

    env = dict(os.environ)
    env.update(
        DATABASE_URL=with_database_name(settings.DATABASE_URL, connection.settings_dict["NAME"]),
        REDIS_URL=settings.REDIS_URL,
        DEBUG="1",
        EMOTION_WORKER_WARMUP="0",  # foundation tests need no vision models
        PYTHONUNBUFFERED="1",
    )
    return env


class WorkerHandle:
    def __init__(self, proc: subprocess.Popen, name: str, log_path: Path) -> None:
        self.proc, self.name, self.log_path = proc, name, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def celery_worker_proc(service_env, tmp_path_factory) -> Iterator[WorkerHandle]:
    from emotionsite.celery import app

    name = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    cmd = [
        str(VENV_BIN / "celery"), "-A", "emotionsite", "worker",
        "-Q", "live,inference,summaries,default", "--pool=prefork", "-c", "1", "-n", name,
        "--without-gossip", "--without-mingle", "-l", "info",
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=service_env, stdout=log_file, stderr=subprocess.STDOUT)
    handle = WorkerHandle(proc, name, log_path)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"celery worker did not start:\n{handle.log()[-4000:]}")
        yield handle
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def daphne_server(service_env, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("daphne") / "daphne.log"
    cmd = [str(VENV_BIN / "python"), "-m", "emotionsite.daphne_server", "-b", "127.0.0.1", "-p", str(port)]
    cmd.append("emotionsite.asgi:application")  # Daphne as run.sh starts it
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=service_env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_serving(f"{base}/accounts/login/", proc, 60):
            pytest.fail(f"daphne did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
        yield base
    finally:
        _stop(proc)


@pytest.fixture
def _browser() -> Iterator[object]:
    """Per test, not per session: sync Playwright keeps an event loop running in this thread, and
    Django's ORM (the database flush after a transactional test included) refuses to run beside it."""
    if not CHROMIUM.exists():
        pytest.skip("system Chromium not found at /usr/bin/chromium (install Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser) -> Iterator[object]:
    context = _browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the login form and wait for the session list."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_selector("#session-list")


@contextmanager
def chromium_page(*extra_args: str, errors: list[str] | None = None) -> Iterator[object]:
    """A fresh headless Chromium page, for tests that check the database afterwards: use it in a
    ``with`` block and query the ORM after it (the ORM refuses to run beside Playwright's event loop).
    Uncaught page errors, Content-Security-Policy violations and dialogs go to ``errors`` when given. Under the
    policy, ``page.wait_for_function`` needs a function (``"() => ..."``): it evaluates a bare expression with
    ``eval`` at each poll, which the policy refuses."""
    if not CHROMIUM.exists():
        pytest.skip("system Chromium not found at /usr/bin/chromium (install Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(15000)
            if errors is not None:
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
                page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
            yield page
        finally:
            browser.close()


@pytest.fixture
def logged_in_page(user, password, daphne_server, browser_page):
    """``browser_page`` signed in as ``user``; request it after the fixtures that write to the database."""
    log_in(browser_page, daphne_server, user.username, password)
    return browser_page


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request) -> None:
    """Tests that reach the database start with no rate-limit counts: user ids and 127.0.0.1 repeat across
    tests and runs, and the counters live in Redis (emotionsite/ratelimit.py)."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db:
        from emotionsite import ratelimit

        with contextlib.suppress(Exception):  # no Redis in this test: nothing is counted either
            ratelimit.reset()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db, password):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=f"user{uuid.uuid4().hex[:6]}", password=password)


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client


def pytest_collection_modifyitems(config, items) -> None:
    """Skip tests marked ``gpu`` where CUDA is absent (torch is imported only if such tests exist)."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason="needs CUDA, which is absent here"))
