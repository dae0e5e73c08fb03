"""Client addresses through the real ASGI app (issue 13, finding 1).

Forwarded headers count only with ``EMOTION_BEHIND_PROXY`` and only from a peer listed in
``EMOTION_TRUSTED_PROXIES``; django-axes, the audit log and the HTTPS redirect then see the same
address and scheme. A username tried from many addresses is slowed down, never locked for good.
Requests go through ``emotionsite.asgi.application`` with ``ApplicationCommunicator`` (the Django test
client bypasses the ASGI middleware), with the peer address in the scope as Daphne puts it there.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from channels.testing import ApplicationCommunicator
from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from emotionsite.asgi import application
from sessions_app.models import Session

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CSRF = "c" * 32  # an unmasked CSRF secret: Django accepts the same value in the cookie and the form
PASSWORD = "right-Horse-42"
PROXY = "10.0.0.1"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: str


def request(
    method: str, path: str, *, peer: str, headers: dict[str, str] | None = None, form=None, cookies=None
) -> Reply:
    """One request through the ASGI application, from ``peer`` (the TCP peer Daphne would report)."""
    body = urlencode(form).encode() if form is not None else b""
    jar = {"csrftoken": CSRF, **(cookies or {})}
    raw = [(b"host", b"localhost"), (b"cookie", "; ".join(f"{k}={v}" for k, v in jar.items()).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if form is not None:
        raw += [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": (peer, 50123),
        "server": ("127.0.0.1", 8000),
    }

    async def run() -> Reply:
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(10)
        content = b""
        while True:
            chunk = await communicator.receive_output(10)
            content += chunk.get("body", b"")
            if not chunk.get("more_body"):
                break
        await communicator.wait(5)
        pairs = [(k.decode().lower(), v.decode()) for k, v in start.get("headers", [])]
        jar = SimpleCookie()
        for key, value in pairs:
            if key == "set-cookie":
                jar.load(value)
        cookies = {k: m.value for k, m in jar.items()}
        return Reply(start["status"], dict(pairs), cookies, content.decode(errors="replace"))

    return async_to_sync(run)()


def log_in(username: str, password: str, *, peer: str, headers=None, cookies=None) -> Reply:
    form = {"username": username, "password": password, "csrfmiddlewaretoken": CSRF}
    return request("POST", "/accounts/login/", peer=peer, headers=headers, form=form, cookies=cookies)


@pytest.fixture
def account(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast: many log-ins here
    settings.EMOTION_BEHIND_PROXY = True
    settings.EMOTION_TRUSTED_PROXIES = [PROXY, "fd00:1::/64"]
    return get_user_model().objects.create_user(username=f"target{uuid.uuid4().hex[:8]}", password=PASSWORD)


def attempt_addresses(username: str) -> set[str]:
    return set(AccessAttempt.objects.filter(username=username).values_list("ip_address", flat=True))


def test_forwarded_for_from_an_untrusted_peer_is_ignored(account, settings):
    from emotionsite import settings as configured

    assert configured.EMOTION_TRUSTED_PROXIES == ["127.0.0.1", "::1"]  # the default: a proxy on this host
    # Daphne must hand the app the TCP peer: its --proxy-headers trusts the header from anyone.
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    assert "--proxy-headers" not in run_sh
    peer = "198.51.100.7"
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        forged = {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"203.0.113.{i + 50}"}
        assert log_in(account.username, "wrong", peer=peer, headers=forged).status == 200
    reply = log_in(account.username, "wrong", peer=peer, headers={"X-Forwarded-For": "203.0.113.99"})
    assert reply.status == 429 and "Too many failed log-in attempts" in reply.body
    assert log_in(account.username, PASSWORD, peer=peer, headers={"X-Forwarded-For": "192.0.2.1"}).status == 429
    assert attempt_addresses(account.username) == {peer}


def test_forwarded_for_from_a_trusted_proxy_names_the_client(account, settings):
    # Right to left, trusted proxies skipped: the first untrusted address is the client; what lies
    # to its left was written by the client and does not count.
    for i in range(settings.AXES_FAILURE_LIMIT):
        chain = f"6.6.6.6, 203.0.113.{i + 1}, {PROXY}"
        assert log_in(account.username, "wrong", peer=PROXY, headers={"X-Forwarded-For": chain}).status == 200
    assert attempt_addresses(account.username) == {f"203.0.113.{i + 1}" for i in range(settings.AXES_FAILURE_LIMIT)}
    reply = log_in(account.username, PASSWORD, peer=PROXY, headers={"X-Forwarded-For": "203.0.113.1"})
    assert reply.status == 302

    # The audit log records the same address (staff viewing another user's session page write entries).
    get_user_model().objects.filter(pk=account.pk).update(is_staff=True)
    owner = get_user_model().objects.create_user(username=f"owner{uuid.uuid4().hex[:8]}", password=PASSWORD)
    session = Session.objects.create(owner=owner, title="Theirs", status=Session.Status.DONE, progress=1.0)
    forwarded = {"X-Forwarded-For": "2001:db8::7"}
    page = request("GET", f"/sessions/{session.pk}/", peer="fd00:1::9", cookies=reply.cookies, headers=forwarded)
    assert page.status == 200
    assert list(AuditEntry.objects.filter(actor=account).values_list("ip", flat=True)) == ["2001:db8::7"] * 2

    # With EMOTION_BEHIND_PROXY off, not even a listed proxy is believed.
    settings.EMOTION_BEHIND_PROXY = False
    log_in(account.username, "wrong", peer=PROXY, headers={"X-Forwarded-For": "203.0.113.200"})
    assert PROXY in attempt_addresses(account.username)


def test_forwarded_proto_counts_only_from_a_trusted_proxy(account, settings):
    # Django's CSRF check compares Origin with the request's scheme: a page served over https
    # (Origin https://...) posts through the proxy, and the app must see https only from the proxy.
    def post(peer: str, proto: str) -> int:
        headers = {"X-Forwarded-Proto": proto, "Origin": "https://localhost"}
        return log_in(account.username, "wrong", peer=peer, headers=headers).status

    assert post("198.51.100.7", "https") == 403
    assert post(PROXY, "https") == 200
    assert post(PROXY, "http") == 403
    settings.EMOTION_BEHIND_PROXY = False
    assert post(PROXY, "https") == 403


def test_a_username_tried_from_many_addresses_is_slowed_down(account, settings):
    from accounts.login_throttle import delay_after

    assert settings.EMOTION_LOGIN_USERNAME_FAILURE_LIMIT == 20  # the default
    settings.EMOTION_LOGIN_USERNAME_FAILURE_LIMIT = limit = 4
    # A browser that logged in as the user before keeps its way in (a signed known-device cookie).
    known = log_in(account.username, PASSWORD, peer="192.0.2.200")
    assert known.status == 302
    device = {k: v for k, v in known.cookies.items() if k == "emotion_known_device"}
    assert device

    for i in range(limit):  # one try per address: django-axes never locks any of them
        assert log_in(account.username, "wrong", peer=f"198.51.100.{i + 1}").status == 200
    slowed = log_in(account.username, PASSWORD, peer="198.51.100.77")
    assert slowed.status == 429 and slowed.headers["retry-after"] == "1"
    assert "Too many failed log-ins for this account" in slowed.body
    assert log_in(account.username, PASSWORD, peer="198.51.100.78", cookies=device).status == 302
    # Another user is not affected.
    other = get_user_model().objects.create_user(username=f"other{uuid.uuid4().hex[:8]}", password=PASSWORD)
    assert log_in(other.username, PASSWORD, peer="198.51.100.77").status == 302

    # The delay passes: no one can lock the account for good.
    time.sleep(1.1)
    assert log_in(account.username, PASSWORD, peer="198.51.100.79").status == 302
    # The delay grows with each further failure, up to a cap; the count lapses after the window.
    assert [delay_after(limit + k, limit, 60) for k in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert delay_after(limit - 1, limit, 60) == 0


def test_other_spellings_of_a_slowed_username_are_slowed_too(account, settings):
    """The log-in form strips and NFKC-normalises the name, so `alice `, `ａlice` and `alice` are one
    account: failures under any spelling slow down every spelling."""
    settings.EMOTION_LOGIN_USERNAME_FAILURE_LIMIT = limit = 4
    name = account.username
    fullwidth = chr(ord(name[0]) - ord("a") + ord("ａ")) + name[1:]  # the first letter as its fullwidth form
    spellings = [f"{name} ", fullwidth, f"  {fullwidth}\t"]
    for i in range(limit):  # failures under any spelling count for the account
        assert log_in(spellings[i % len(spellings)], "wrong", peer=f"2001:db8::{i + 1}").status == 200
    settings.EMOTION_LOGIN_USERNAME_FAILURE_LIMIT = 1  # 4 failures over a limit of 1: an 8 s wait, ample here
    for i, spelling in enumerate([name, *spellings]):
        slowed = log_in(spelling, PASSWORD, peer=f"2001:db8::1:{i}")
        assert slowed.status == 429, repr(spelling)
        assert 0 < int(slowed.headers["retry-after"]) <= 8
