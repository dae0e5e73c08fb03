"""The remote LLM backend against a small real HTTP server that speaks OpenAI chat completions.

The first path segment of the base URL picks the server's behaviour: ``http://127.0.0.1:PORT/<mode>/v1``.
Loopback is refused unless staff allow-listed it, which is exactly what these tests rely on (and test).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from summaries.backends.remote import RemoteLLM, chat_completions_url, remote_availability, remote_llm_for
from summaries.base import SummaryCancelled, SummaryError
from summaries.models import AllowedLLMHost, LLMSettings
from summaries.netguard import UnsafeURLError

API_KEY = "sk-test-very-secret-4711"
MESSAGES = [{"role": "system", "content": "Summarize."}, {"role": "user", "content": "Alice: happy 00:02."}]
STREAM_WORDS = [f"w{i} " for i in range(20)]


class ChatHandler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def _send(self, code: int, body: bytes, content_type: str = "application/json", headers: dict | None = None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client timed out first
            self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        mode = self.path.strip("/").split("/")[0]
        ChatHandler.seen.append({"path": self.path, "headers": dict(self.headers), "body": body, "mode": mode})
        completion = {
            "id": "c1", "object": "chat.completion", "model": "served-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "At 00:02 Alice smiles."}}],
        }  # fmt: skip
        if mode == "ok" and body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for word in STREAM_WORDS:
                    event = {"model": "served-model", "choices": [{"index": 0, "delta": {"content": word}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.02)
                self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):  # the client cancelled
                pass
        elif mode == "ok":
            self._send(200, json.dumps(completion).encode())
        elif mode == "badkey":
            error = {"error": {"message": f"Incorrect API key provided: {API_KEY}", "type": "invalid_request_error"}}
            self._send(401, json.dumps(error).encode())
        elif mode == "ratelimit":
            self._send(429, b'{"error": {"message": "Too many requests"}}', headers={"Retry-After": "7"})
        elif mode == "slow":
            time.sleep(1.5)
            self._send(200, json.dumps(completion).encode())
        elif mode == "newparam" and "max_tokens" in body:
            message = "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens' instead."
            self._send(400, json.dumps({"error": {"message": message}}).encode())
        elif mode == "newparam":
            self._send(200, json.dumps(completion).encode())
        elif mode == "controls":
            reply = dict(completion, choices=[{"message": {"content": " A\u0000B at 00:02\r\nnext\u0007 "}}])
            self._send(200, json.dumps(reply).encode())
        elif mode == "notjson":
            self._send(200, b"<html>Welcome to nginx</html>", content_type="text/html")
        elif mode == "wrongshape":
            self._send(200, b'{"result": "hello"}')
        elif mode == "echo":
            self._send(502, json.dumps({"error": {"message": f"upstream refused key {API_KEY}"}}).encode())
        elif mode == "broken":
            self._send(500, b'{"error": {"message": "CUDA out of memory"}}')
        elif mode == "huge":  # a reply far over the byte cap, in one JSON document
            reply = dict(completion, choices=[{"message": {"content": "blah " * 400_000}}])
            self._send(200, json.dumps(reply).encode())
        elif mode == "hugestream":  # an endless-looking stream of events
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            event = {"choices": [{"index": 0, "delta": {"content": "blah " * 200}}]}
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading
                for _ in range(2000):
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
        elif mode in ("driphead", "dripbody"):  # one byte at a time, each well inside the read timeout
            self._drip(b"HTTP/1.1 200 OK\r\n" if mode == "driphead" else b": keep-alive\n")
        elif mode == "redirect":
            self._send(302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        else:
            self._send(404, b'{"error": {"message": "model not found"}}')

    def _drip(self, pattern: bytes) -> None:
        if pattern.startswith(b": "):  # a valid streamed reply whose events never come
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            for i in range(100):  # 30 s at most
                self.wfile.write(pattern[i % len(pattern) : i % len(pattern) + 1])
                self.wfile.flush()
                time.sleep(DRIP_S)
        self.close_connection = True


DRIP_S = 0.3


@pytest.fixture(scope="module")
def llm_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def allowed(db, settings):
    settings.EMOTION_LLM_READ_TIMEOUT = 5.0
    settings.EMOTION_LLM_CONNECT_TIMEOUT = 2.0
    ChatHandler.seen.clear()
    AllowedLLMHost.objects.create(host="127.0.0.1", note="test server")


def llm(base: str, mode: str, *, stream: bool = False) -> RemoteLLM:
    return RemoteLLM(url=f"{base}/{mode}/v1", model="test-model", api_key=API_KEY, stream=stream)


def error_of(base: str, mode: str, **kwargs) -> str:
    with pytest.raises(SummaryError) as info:
        llm(base, mode, **kwargs).generate(MESSAGES, max_new_tokens=64)
    message = str(info.value)
    assert API_KEY not in message and API_KEY not in repr(info.value)
    return message


def test_chat_completion_success(llm_server, allowed):
    reply = llm(llm_server, "ok").generate(MESSAGES, max_new_tokens=64)
    assert reply.text == "At 00:02 Alice smiles."
    assert reply.model == "served-model"
    (request,) = ChatHandler.seen
    assert request["path"] == "/ok/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["Host"] == llm_server.removeprefix("http://")
    assert request["body"] == {"model": "test-model", "messages": MESSAGES, "max_tokens": 64, "stream": False}


def test_streaming_reports_progress_and_cancels_mid_reply(llm_server, allowed):
    progress: list[float] = []
    reply = llm(llm_server, "ok", stream=True).generate(MESSAGES, max_new_tokens=40, on_progress=progress.append)
    assert reply.text == "".join(STREAM_WORDS).strip()
    assert progress == [pytest.approx((i + 1) / 40) for i in range(20)]

    progress.clear()
    started = time.monotonic()
    with pytest.raises(SummaryCancelled):
        llm(llm_server, "ok", stream=True).generate(
            MESSAGES, max_new_tokens=40, on_progress=progress.append, should_cancel=lambda: len(progress) >= 3
        )
    assert len(progress) == 3  # stopped after the third piece, not after twenty
    assert time.monotonic() - started < 0.3


def test_max_completion_tokens_where_the_server_asks_for_it(llm_server, allowed):
    assert llm(llm_server, "newparam").generate(MESSAGES, max_new_tokens=32).text == "At 00:02 Alice smiles."
    first, second = ChatHandler.seen
    assert first["body"]["max_tokens"] == 32 and "max_completion_tokens" not in first["body"]
    assert second["body"]["max_completion_tokens"] == 32 and "max_tokens" not in second["body"]


def test_control_characters_are_removed(llm_server, allowed):
    """NUL and other control characters cannot be stored in PostgreSQL text; line breaks stay."""
    assert llm(llm_server, "controls").generate(MESSAGES, max_new_tokens=8).text == "AB at 00:02\nnext"


def test_wrong_key(llm_server, allowed):
    message = error_of(llm_server, "badkey")
    assert "refused the API key (HTTP 401)" in message
    assert "Incorrect API key" not in message  # the server's text is left out: it may echo part of the key


def test_rate_limited_with_retry_after(llm_server, allowed):
    message = error_of(llm_server, "ratelimit")
    assert "rate limiting requests (HTTP 429)" in message and "Retry after 7 s." in message


def test_timeout(llm_server, allowed, settings):
    settings.EMOTION_LLM_READ_TIMEOUT = 0.3
    started = time.monotonic()
    message = error_of(llm_server, "slow")
    assert time.monotonic() - started < 1.4
    assert "did not answer within 0.3 s" in message


@pytest.mark.parametrize("mode", ["driphead", "dripbody"])
def test_total_deadline_against_a_slow_drip(llm_server, allowed, settings, mode):
    """A server that sends one byte now and then never trips the read timeout; the whole exchange
    (headers or body) still ends at EMOTION_LLM_TOTAL_TIMEOUT with a clear message."""
    settings.EMOTION_LLM_TOTAL_TIMEOUT = 1.0
    started = time.monotonic()
    message = error_of(llm_server, mode, stream=True)
    took = time.monotonic() - started
    assert 1.0 <= took < 1.0 + 2 * DRIP_S, took
    assert message == (
        f"The LLM server at {llm_server.removeprefix('http://')} did not finish its reply within 1 s "
        "(EMOTION_LLM_TOTAL_TIMEOUT); the summary was stopped."
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("notjson", "not a valid chat completion (not JSON)"),
        ("wrongshape", "not a valid chat completion (no choices[0].message.content)"),
        ("broken", "The LLM server failed (HTTP 500); try again later. The server said: CUDA out of memory"),
        ("missing", "(HTTP 404): check the base URL and the model name"),
        ("echo", "(HTTP 502); try again later. The server said: upstream refused key ***"),  # scrubbed
        ("redirect", "redirect (HTTP 302); redirects are not followed"),
    ],
)
def test_malformed_and_failed_replies(llm_server, allowed, mode, expected):
    assert expected in error_of(llm_server, mode)


@pytest.mark.parametrize("mode, stream", [("huge", False), ("hugestream", True)])
def test_reply_over_the_byte_cap_is_refused(llm_server, allowed, settings, mode, stream):
    settings.EMOTION_LLM_REPLY_MAX_BYTES = 64 * 1024
    message = error_of(llm_server, mode, stream=stream)
    assert "longer than" in message and "64 KB" in message


def test_unreachable_host(allowed):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    message = error_of(f"http://127.0.0.1:{port}", "ok")
    assert message.startswith(f"Could not connect to the LLM server at 127.0.0.1:{port}")


def test_loopback_refused_unless_allow_listed(llm_server, db):
    ChatHandler.seen.clear()
    with pytest.raises(UnsafeURLError) as info:
        llm(llm_server, "ok").generate(MESSAGES, max_new_tokens=8)
    assert "not allowed" in str(info.value) and "127.0.0.1" not in str(info.value)
    assert ChatHandler.seen == []  # refused before any connection

    AllowedLLMHost.objects.create(host="127.0.0.1")
    assert llm(llm_server, "ok").generate(MESSAGES, max_new_tokens=8).text == "At 00:02 Alice smiles."


def test_per_user_settings(llm_server, allowed, user):
    assert remote_availability(user).reason == "No remote LLM URL set (LLM settings page)."
    row = LLMSettings(user=user, remote_url=f"{llm_server}/ok/v1", remote_model="")
    row.set_api_key(API_KEY)
    row.save()
    assert remote_availability(user).reason == "No remote model name set (LLM settings page)."
    row.remote_model = "test-model"
    row.save()
    assert remote_availability(user).available

    backend = remote_llm_for(user)
    assert API_KEY not in repr(backend)
    assert backend.generate(MESSAGES, max_new_tokens=16).text == "".join(STREAM_WORDS).strip()  # streams by default
    assert ChatHandler.seen[-1]["headers"]["Authorization"] == f"Bearer {API_KEY}"

    AllowedLLMHost.objects.all().delete()  # a literal loopback address is caught without DNS
    availability = remote_availability(user)
    assert not availability.available and "not allowed" in availability.reason


def test_chat_completions_url():
    assert chat_completions_url("https://api.openai.com/v1") == "https://api.openai.com/v1/chat/completions"
    assert chat_completions_url("https://api.openai.com/v1/") == "https://api.openai.com/v1/chat/completions"
    assert chat_completions_url("http://llm.lan:8000") == "http://llm.lan:8000/v1/chat/completions"
    assert chat_completions_url("http://llm.lan/openai/v1") == "http://llm.lan/openai/v1/chat/completions"
    assert chat_completions_url("http://llm.lan/v1/chat/completions") == "http://llm.lan/v1/chat/completions"


def _self_signed(folder, name: str):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_host_name_pinned_to_the_checked_address(llm_server, allowed, monkeypatch):
    """The request goes to the address that was checked, with the URL's name in Host; a name that
    resolves elsewhere at request time than when saved (DNS rebinding) is refused before connecting."""
    from tests.summaries.test_netguard import fake_dns

    port = llm_server.rsplit(":", 1)[1]
    answers = {"llm.test": ["127.0.0.1"], "public.test": ["93.184.216.34"]}
    fake_dns(monkeypatch, answers)
    AllowedLLMHost.objects.create(host="llm.test")
    reply = RemoteLLM(url=f"http://llm.test:{port}/ok/v1", model="m", api_key=API_KEY).generate(
        MESSAGES, max_new_tokens=8
    )
    assert reply.text
    assert ChatHandler.seen[-1]["headers"]["Host"] == f"llm.test:{port}"

    from summaries.netguard import validate_llm_url

    assert validate_llm_url(f"http://public.test:{port}/ok/v1")  # public when saved...
    answers["public.test"] = ["127.0.0.1"]  # ...loopback when used
    seen = len(ChatHandler.seen)
    with pytest.raises(UnsafeURLError, match="not allowed"):
        RemoteLLM(url=f"http://public.test:{port}/ok/v1", model="m").generate(MESSAGES, max_new_tokens=8)
    assert len(ChatHandler.seen) == seen


def test_https_checks_the_certificate_for_the_name(allowed, monkeypatch, settings, tmp_path):
    """Connecting to the pinned address still verifies the TLS certificate against the URL's name (SNI)."""
    import ssl

    from tests.summaries.test_netguard import fake_dns

    cert, key = _self_signed(tmp_path, "llm.test")
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        fake_dns(monkeypatch, {"llm.test": ["127.0.0.1"]})
        AllowedLLMHost.objects.create(host="llm.test")
        backend = RemoteLLM(url=f"https://llm.test:{port}/ok/v1", model="m", api_key=API_KEY, stream=False)

        with pytest.raises(SummaryError, match="TLS certificate of the LLM server at llm.test:.* is not trusted"):
            backend.generate(MESSAGES, max_new_tokens=8)  # self-signed: not trusted by default

        settings.EMOTION_LLM_CA_BUNDLE = str(cert)
        assert backend.generate(MESSAGES, max_new_tokens=8).text == "At 00:02 Alice smiles."
        assert ChatHandler.seen[-1]["headers"]["Host"] == f"llm.test:{port}"
    finally:
        server.shutdown()
        server.server_close()
