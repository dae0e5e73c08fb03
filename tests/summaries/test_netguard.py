"""URL checks for remote LLMs: schemes, credentials, every resolved address, the staff allow-list, and a
request-time re-check that pins the connection to the checked address (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from summaries import netguard
from summaries.models import AllowedLLMHost
from summaries.netguard import UnsafeURLError

NOT_ALLOWED = (  # the user-facing words, written out: a test of what users read
    "This address is not allowed: the server connects only to public addresses. "
    "Ask staff to add the host to the allowed LLM hosts if it is meant to be used."
)


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    """getaddrinfo answering names from ``answers`` (no network in tests); IP literals as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
            return real(host, port, *args, **kwargs)  # what the HTTP client does with a pinned address
        except ValueError:
            pass
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(netguard.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the URL"),
        ("ftp://llm.example.com/v1", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("https://user:pw@llm.example.com/v1", "Do not put credentials in the URL"),
        ("https://sk-123@llm.example.com/v1", "Do not put credentials in the URL"),
        ("https:///v1", "no host name"),
        ("http://llm.example.com:99999/v1", "not valid"),
    ],
)
def test_malformed_urls(url, message):
    with pytest.raises(UnsafeURLError, match=message):
        netguard.parse_url(url)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", ""),
        ("2606:4700:4700::1111", ""),
    ],
)
def test_address_classes(address, problem):
    assert netguard.address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.django_db
def test_private_literal_refused_then_allowed_by_staff():
    with pytest.raises(UnsafeURLError) as info:
        netguard.validate_llm_url("http://192.168.1.20:8000/v1")
    assert str(info.value) == NOT_ALLOWED
    AllowedLLMHost.objects.create(host=" 192.168.1.20 ")  # stored stripped, lower case
    assert netguard.validate_llm_url("http://192.168.1.20:8000/v1") == "http://192.168.1.20:8000/v1"


@pytest.mark.django_db
def test_every_resolved_address_is_checked(monkeypatch):
    fake_dns(monkeypatch, {"llm.example.com": ["93.184.216.34", "10.0.0.5"], "public.example.com": ["93.184.216.34"]})
    with pytest.raises(UnsafeURLError, match="not allowed"):
        netguard.validate_llm_url("https://llm.example.com/v1")
    assert netguard.validate_llm_url("https://public.example.com/v1") == "https://public.example.com/v1"
    with pytest.raises(UnsafeURLError, match="could not be resolved"):
        netguard.validate_llm_url("https://nowhere.example.com/v1")


@pytest.mark.django_db
def test_pin_connects_to_the_checked_address_and_rechecks(monkeypatch):
    answers = {"llm.example.com": ["93.184.216.34"]}
    fake_dns(monkeypatch, answers)
    pinned = netguard.pin("https://llm.example.com/v1/chat/completions")
    assert pinned.url == "https://93.184.216.34/v1/chat/completions"
    assert pinned.host_header == "llm.example.com"
    assert pinned.sni_hostname == "llm.example.com"  # TLS still checks the certificate of the name

    pinned = netguard.pin("http://llm.example.com:8080/v1/chat/completions?x=1")
    assert (pinned.url, pinned.host_header, pinned.sni_hostname) == (
        "http://93.184.216.34:8080/v1/chat/completions?x=1",
        "llm.example.com:8080",
        None,
    )

    answers["llm.example.com"] = ["127.0.0.1"]  # the name now points inside: refused at request time
    with pytest.raises(UnsafeURLError, match="not allowed"):
        netguard.pin("https://llm.example.com/v1/chat/completions")

    assert netguard.pin("http://[2606:4700:4700::1111]:81/v1").url == "http://[2606:4700:4700::1111]:81/v1"


@pytest.mark.django_db
def test_quick_problem_needs_no_dns(monkeypatch):
    monkeypatch.setattr(netguard.socket, "getaddrinfo", lambda *a, **k: pytest.fail("DNS was used"))
    assert netguard.quick_problem("https://llm.example.com/v1") == ""
    assert netguard.quick_problem("http://[::1]:8000/v1") == NOT_ALLOWED
    assert "Only http" in netguard.quick_problem("gopher://x")


@pytest.mark.django_db
def test_refusals_name_no_internal_address(monkeypatch, caplog):
    """The user learns only that the address is not allowed; which address it resolved to goes to the log."""
    fake_dns(monkeypatch, {"db.lab": ["10.0.3.7"]})
    messages = []
    for check in (
        lambda: netguard.validate_llm_url("http://db.lab:5432/v1"),  # saving the settings
        lambda: netguard.pin("http://db.lab:5432/v1/chat/completions"),  # each request
    ):
        with pytest.raises(UnsafeURLError) as info:
            check()
        messages.append(str(info.value))
    messages.append(netguard.quick_problem("http://10.0.3.7:8000/v1"))  # the status panel, no DNS
    assert messages == [NOT_ALLOWED] * 3
    assert "db.lab resolves to a private address (10.0.3.7)" in caplog.text
