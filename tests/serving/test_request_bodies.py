"""Request bodies meet run.sh's own Daphne: one over the limit is refused (413) after at most the limit's
bytes, with Daphne's memory and temporary files flat; a declared length over it is refused before a byte of
the body is read; a large legitimate upload reaches the application without Daphne holding it in memory.

Bodies are sent over a raw socket, as a client that watches for an early answer does (curl, browsers): it
stops sending once the answer arrives. A thread samples Daphne's resident memory and the size of the
regular files it has open (its request temp files are unlinked, so only ``/proc/<pid>/fd`` sees them).
"""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest
from django.contrib.auth import get_user_model

from tests.runstack import PASSWORD, RunSh, daphne_process, log_in

pytestmark = pytest.mark.django_db(transaction=True)
MB = 1024 * 1024
REQUEST_LIMIT = 10 * MB  # EMOTION_REQUEST_MAX_MB's default, which web_stack keeps
ENDLESS = 3 * 1024 * MB
SLACK = 48 * MB  # socket buffers between the client's send and Daphne's read (tcp_rmem may reach 32 MB)
GROWTH_CAP = 100 * MB
BLOCK = b"emotion!" * (MB // 8)


class Watch:
    """Peak resident memory and peak size of the open regular files of a process, sampled in a thread."""

    def __init__(self, proc: psutil.Process) -> None:
        self.proc = proc
        self.rss0, self.files0 = proc.memory_info().rss, self.open_file_bytes()
        self.rss_peak, self.files_peak = self.rss0, self.files0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def open_file_bytes(self) -> int:
        total = 0
        fd_dir = f"/proc/{self.proc.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                info = os.stat(f"{fd_dir}/{fd}")  # follows the link, also to an unlinked temp file
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_blocks * 512
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss_peak = max(self.rss_peak, self.proc.memory_info().rss)
            self.files_peak = max(self.files_peak, self.open_file_bytes())
            time.sleep(0.01)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def rss_growth(self) -> int:
        return self.rss_peak - self.rss0

    @property
    def files_growth(self) -> int:
        return self.files_peak - self.files0


def _chunked(total: int) -> Iterator[bytes]:
    for _ in range(total // len(BLOCK)):
        yield b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK)
    yield b"0\r\n\r\n"


def _raw_post(stack: RunSh, path: str, headers: dict[str, str], body: Iterator[bytes]) -> tuple[int, int, bytes]:
    """POST over a raw socket, stopping when an answer arrives; (body bytes sent, status, answer body)."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{stack.port}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", stack.port), timeout=15) as sock:
        sock.sendall(head.encode())
        try:
            for piece in body:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered early: stop sending, as curl and browsers do
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert answer.startswith(b"HTTP/1.1 "), f"no answer after {sent} bytes sent: {answer[:200]!r}"
    head_bytes, _, payload = answer.partition(b"\r\n\r\n")
    return sent, int(head_bytes.split()[1]), payload


def _warm(stack: RunSh) -> None:
    """One page first, so lazy imports of the first request do not count as growth."""
    assert httpx.get(f"{stack.http}/accounts/login/", timeout=30).status_code == 200


def test_endless_chunked_body_is_refused_at_the_limit(web_stack):
    _warm(web_stack)
    with Watch(daphne_process(web_stack)) as watch:
        started = time.monotonic()
        sent, status, payload = _raw_post(
            web_stack, "/accounts/login/",
            {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"},
            _chunked(ENDLESS),
        )  # fmt: skip
        took = time.monotonic() - started
    figures = (
        f"sent {sent / MB:.0f} MB in {took:.1f} s; Daphne RSS +{watch.rss_growth / MB:.0f} MB, "
        f"open files +{watch.files_growth / MB:.0f} MB"
    )
    assert status == 413, figures
    assert b"too large" in payload.lower()
    assert sent <= REQUEST_LIMIT + SLACK, figures
    assert watch.rss_growth < GROWTH_CAP, figures
    assert watch.files_growth < GROWTH_CAP, figures


def test_declared_length_over_the_limit_is_refused_before_the_body(web_stack):
    _warm(web_stack)
    started = time.monotonic()
    # no body follows the headers: a server that waited for it would never answer
    sent, status, payload = _raw_post(
        web_stack, "/accounts/login/",
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(ENDLESS), "Expect": "100-continue"},
        iter(()),
    )  # fmt: skip
    assert (status, sent) == (413, 0)
    assert payload.startswith(b"The request is too large: the limit is 10 MB.")
    # the API's upload path has the upload limit (2 GB and room for the multipart framing), answered in JSON
    sent, status, payload = _raw_post(
        web_stack, "/api/sessions/",
        {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(ENDLESS)},
        iter(()),
    )  # fmt: skip
    assert status == 413
    assert json.loads(payload)["detail"] == "The request is too large: the limit is 2049 MB."
    assert time.monotonic() - started < 10


def test_large_upload_reaches_the_application_in_bounded_memory(web_stack):
    """300 MB to the API's upload path, under its limit: through Daphne to Django (401: no user), and Daphne
    hands the body over as the application reads it, not all at once."""
    _warm(web_stack)
    size = 300 * MB
    boundary = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
    tail = b"\r\n--xyz--\r\n"
    body = [boundary, *([BLOCK] * (size // len(BLOCK))), tail]
    length = sum(map(len, body))
    with Watch(daphne_process(web_stack)) as watch:
        sent, status, _ = _raw_post(
            web_stack, "/api/sessions/",
            {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(length)},
            iter(body),
        )  # fmt: skip
    assert (sent, status) == (length, 401)
    assert watch.rss_growth < GROWTH_CAP, f"Daphne RSS +{watch.rss_growth / MB:.0f} MB"


def test_ordinary_post_still_works(web_stack):
    user = get_user_model().objects.create_user(username="bodies", password=PASSWORD)
    with httpx.Client(timeout=30) as client:
        answer = log_in(client, web_stack.http, user.username)
        assert answer.status_code == 302, answer.text[:500]
        assert client.get(f"{web_stack.http}/").status_code == 200
