"""`scripts/run.sh` as users run it: the README's LAN recipe without debug, a worker killed under it,
then Ctrl-C and a plain localhost start.

One stack serves the module (starting one costs seconds): the recipe as written (every interface,
HTTPS with the generated self-signed certificate, no DEBUG, no secrets given) with the three workers,
on the test database and Redis (so no embedded services start), with queues of its own so the
session-wide test worker takes none of its tasks. The first test SIGKILLs its inference worker; the
last stops it with Ctrl-C and starts run.sh again on plain HTTP. Heavy (marked slow): about a minute.
"""

from __future__ import annotations

import re
import ssl
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from django.contrib.auth import get_user_model

from bench.stack import free_port
from sessions_app.models import Segment, Session
from tests.runstack import PASSWORD, RunSh, log_in, stack_env
from tests.sessions.conftest import CLIP, wait_for_session

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DEBUG_PAGE = re.compile(rb"URLconf|Traceback|DEBUG = True|technical_500|Request Method", re.I)


@pytest.fixture(scope="module")
def lan_stack(service_env, tmp_path_factory) -> Iterator[RunSh]:
    """The README's "Serving other machines" recipe, with free ports and a private var/ folder."""
    tmp = tmp_path_factory.mktemp("runsh")
    https_port = free_port()
    env = stack_env(
        service_env,
        tmp,
        EMOTION_BIND="0.0.0.0",
        EMOTION_HTTPS="1",
        EMOTION_HTTPS_PORT=str(https_port),
        EMOTION_TLS_HOSTS="emotion.lan",
        ALLOWED_HOSTS="emotion.lan,localhost,127.0.0.1",
        EMOTION_CSRF_TRUSTED_ORIGINS=f"https://emotion.lan:{https_port}",
    )
    stack = RunSh(env, tmp / "run.log")
    yield stack
    stack.stop()


def _tls(stack: RunSh) -> ssl.SSLContext:
    """Trust exactly the certificate run.sh generated."""
    return ssl.create_default_context(cafile=str(Path(stack.env["EMOTION_VAR_DIR"]) / "tls" / "cert.pem"))


def _healthz(client: httpx.Client, base: str) -> dict:
    answer = client.get(f"{base}/healthz", timeout=10)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


def _wait_queues(client: httpx.Client, base: str, want: dict[str, str], timeout: float) -> dict:
    """Poll /healthz until its queues report ``want`` (e.g. {"inference": "down"}); the last report."""
    deadline = time.monotonic() + timeout
    while True:
        report = _healthz(client, base)
        queues = report["workers"]["queues"]
        if all(queues.get(name) == state for name, state in want.items()) or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def _worker_main(stack: RunSh, node: str) -> psutil.Process:
    """The main process of the Celery worker named ``node@%h`` (its pool processes are its children)."""
    procs = [p for p in stack.descendants() if f"{node}@%h" in p.cmdline() and "supervise.py" not in p.cmdline()[1]]
    mains = [p for p in procs if p.ppid() not in {q.pid for q in procs}]
    assert len(mains) == 1, [p.cmdline() for p in procs]
    return mains[0]


def _assert_no_debug_page(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert not DEBUG_PAGE.search(response.content), response.text[:1000]


def _secrets(stack: RunSh) -> dict[str, tuple[bytes, int]]:
    folder = Path(stack.env["EMOTION_VAR_DIR"]) / "secrets"
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir())}


def test_killed_worker_is_restarted_while_the_site_serves(media_dir, lan_stack):
    """SIGKILL of the inference worker's main process (what the out-of-memory killer does) while it
    analyses an upload: the site keeps answering, /healthz says the inference queue is down while the
    live and summaries workers stay up, run.sh starts the worker again, and the upload completes."""
    username = f"kill{uuid.uuid4().hex[:6]}"
    get_user_model().objects.create_user(username=username, password=PASSWORD)
    base = lan_stack.https
    with httpx.Client(verify=_tls(lan_stack), timeout=60) as client:
        assert log_in(client, base, username).status_code == 302
        everyone = {"live": "up", "inference": "up", "summaries": "up", "default": "up"}
        report = _wait_queues(client, base, everyone, 120)
        assert report["workers"]["queues"] == everyone, report
        with open(media_dir / CLIP, "rb") as fh:
            answer = client.post(
                f"{base}/api/sessions/",
                files={"file": (CLIP, fh, "video/mp4")},
                headers={"X-CSRFToken": client.cookies["csrftoken"], "Origin": base, "Referer": f"{base}/"},
            )
        assert answer.status_code == 201, answer.text[:500]
        session_id = answer.json()["id"]
        deadline = time.monotonic() + 60
        while not Segment.objects.filter(session_id=session_id, status=Segment.Status.RUNNING).exists():
            assert time.monotonic() < deadline, "no segment started"
            time.sleep(0.1)

        worker = _worker_main(lan_stack, "inference")
        worker.kill()
        down = _wait_queues(client, base, {"inference": "down"}, 10)
        assert down["workers"]["queues"] == {**everyone, "inference": "down", "default": "down"}, down
        assert client.get(f"{base}/accounts/login/").status_code == 200
        assert lan_stack.proc.poll() is None, lan_stack.log()[-3000:]

        back = _wait_queues(client, base, everyone, 120)
        assert back["workers"]["queues"] == everyone, lan_stack.log()[-3000:]
        assert _worker_main(lan_stack, "inference").pid != worker.pid
    session = wait_for_session(session_id, timeout=180)
    assert session.status == Session.Status.DONE, f"{session.error}\n{lan_stack.log()[-3000:]}"
    assert session.frames_analysed > 0
    assert not Segment.objects.filter(session_id=session_id).exclude(status=Segment.Status.DONE).exists()


def test_lan_recipe_serves_without_debug_and_keeps_its_secrets(lan_stack, tmp_path):
    """The recipe as written: no debug page, HTTP sent to the HTTPS port, a login over HTTPS with the
    generated certificate and per-install secrets (0600); after Ctrl-C, a plain `run.sh` on localhost
    HTTP reuses those secrets (the HTTPS login's session is still valid there) and logs in over HTTP."""
    username = f"lan{uuid.uuid4().hex[:6]}"
    get_user_model().objects.create_user(username=username, password=PASSWORD)

    # every interface: a 404 shows the site's page, not Django's debug page with the URL patterns
    moved = httpx.get(f"{lan_stack.http}/no-such-page/?a=1", headers={"Host": f"emotion.lan:{lan_stack.port}"})
    assert moved.status_code == 301
    assert moved.headers["location"] == f"https://emotion.lan:{lan_stack.https_port}/no-such-page/?a=1"
    with httpx.Client(verify=_tls(lan_stack), timeout=10) as client:
        _assert_no_debug_page(client.get(f"{lan_stack.https}/no-such-page/"))
        css = client.get(f"{lan_stack.https}/static/css/site.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        answer = log_in(client, lan_stack.https, username)
        assert answer.status_code == 302 and answer.headers["location"] == "/", answer.text[:500]
        assert "secure" in answer.headers["set-cookie"].lower()
        assert client.get(f"{lan_stack.https}/").status_code == 200
        session_cookie = client.cookies["sessionid"]

    secrets = _secrets(lan_stack)
    assert set(secrets) == {"secret_key", "fernet_keys"}
    assert all(mode == 0o600 for _, mode in secrets.values()), secrets
    assert all(len(value.strip()) >= 40 for value, _ in secrets.values())
    assert b"django-insecure" not in secrets["secret_key"][0]

    # Ctrl-C stops every process of the stack
    left = lan_stack.ctrl_c()
    assert lan_stack.proc.returncode is not None and not left, [p.cmdline() for p in left]

    # a plain start on localhost over HTTP: same secrets, no redirect, cookies that work over HTTP
    env = stack_env(lan_stack.env, tmp_path, EMOTION_WORKERS="0")
    for name in ("EMOTION_BIND", "EMOTION_HTTPS", "EMOTION_HTTPS_PORT", "EMOTION_TLS_HOSTS", "ALLOWED_HOSTS"):
        env.pop(name)
    env["EMOTION_VAR_DIR"] = lan_stack.env["EMOTION_VAR_DIR"]
    local = RunSh(env, tmp_path / "run-local.log")
    try:
        assert _secrets(local) == secrets
        reused = httpx.get(f"{local.http}/", headers={"Cookie": f"sessionid={session_cookie}"})
        assert reused.status_code == 200, "the HTTPS login's session must stay valid: the same SECRET_KEY"
        with httpx.Client(timeout=10) as client:
            _assert_no_debug_page(client.get(f"{local.http}/no-such-page/"))
            answer = log_in(client, local.http, username)
            assert answer.status_code == 302 and answer.headers["location"] == "/", answer.text[:500]
            assert client.get(f"{local.http}/").status_code == 200
    finally:
        local.stop()
