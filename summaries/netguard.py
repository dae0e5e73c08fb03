"""Checks on users' remote LLM URLs, so the summaries worker cannot be pointed at internal services (SSRF).

A URL must be http(s), carry no credentials, and its host must resolve only to public addresses;
loopback, private, link-local, multicast, reserved, unspecified and shared (CGNAT) addresses, and the
IPv4-mapped/NAT64 forms of those, are refused unless staff put the host on the allow-list
(:class:`summaries.models.AllowedLLMHost`). The check runs when the settings are saved and again for
every request (DNS may have changed); :func:`pin` then gives the request a URL whose host is the checked
address, with the original name kept for the ``Host`` header and TLS (SNI and certificate check), so a
second DNS answer cannot swap the address between check and connect (DNS rebinding).

An API key goes only over https, or over plain http to an allow-listed host (:func:`key_transport_problem`).
A refusal says only that the address is not allowed (:data:`NOT_ALLOWED`); the address is logged.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from summaries.base import SummaryError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# The same words for every refused address: naming the address a host resolved to, or its kind, would
# let users map the internal network through the settings page.
NOT_ALLOWED = (
    "This address is not allowed: the server connects only to public addresses. "
    "Ask staff to add the host to the allowed LLM hosts if it is meant to be used."
)


class UnsafeURLError(SummaryError):
    """The URL is malformed or points somewhere the server must not connect to."""


@dataclass(frozen=True)
class ParsedURL:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str
    query: str


@dataclass(frozen=True)
class PinnedURL:
    """A request target whose host is an already checked address."""

    url: str  # the URL to request, host replaced by the checked address
    host_header: str  # the original host[:port], for the Host header
    sni_hostname: str | None  # the original host name for TLS, None for plain http or an IP literal
    address: str


def parse_url(url: str) -> ParsedURL:
    """Syntax checks only (no DNS): scheme, no credentials, a host, a valid port."""
    url = (url or "").strip()
    if not url:
        raise UnsafeURLError("Enter the URL of the LLM server.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURLError("This URL is not valid (check the host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError("Only http:// and https:// URLs are allowed.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURLError("Do not put credentials in the URL; enter the API key in its own field.")
    host = (parts.hostname or "").strip().lower().rstrip(".")
    if not host:
        raise UnsafeURLError("The URL has no host name.")
    if parts.fragment:
        raise UnsafeURLError("The URL must not contain a #fragment.")
    return ParsedURL(scheme, host, port or (443 if scheme == "https" else 80), parts.path, parts.query)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def address_problem(address: IPAddress) -> str:
    """Why the server must not connect to ``address`` ("" when it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for name, hit in checks:
        if hit:
            return name
    if not address.is_global:  # e.g. 100.64.0.0/10 (carrier-grade NAT), documentation ranges
        return "non-public"
    return ""


def is_allow_listed(host: str) -> bool:
    from summaries.models import AllowedLLMHost

    return AllowedLLMHost.objects.filter(host=host.strip().lower()).exists()


def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeURLError(f"The host name “{host}” could not be resolved.") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURLError(f"The host name “{host}” has no address.")
    return addresses


def check_host(parsed: ParsedURL) -> list[IPAddress]:
    """Resolve the host (every address) and refuse it unless all are public or staff allow-listed it."""
    addresses = _resolve(parsed.host, parsed.port)
    if is_allow_listed(parsed.host):
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem:
            # the user hears only "not allowed": which internal address a name has is for the log
            logger.warning("LLM URL refused: %s resolves to a %s address (%s)", parsed.host, problem, address)
            raise UnsafeURLError(NOT_ALLOWED)
    return addresses


def key_transport_problem(url: str) -> str:
    """Why an API key must not be sent to ``url`` ("" when it may): https, or plain http to an allow-listed host.

    On plain http anyone on the path reads the bearer token; staff allow-list hosts on a network they trust."""
    parsed = parse_url(url)
    if parsed.scheme == "https" or is_allow_listed(parsed.host):
        return ""
    return (
        f"An API key is sent only over https, and “{parsed.host}” is reached over plain http. Use an https URL, "
        "leave the key empty, or ask staff to add this host to the allowed LLM hosts."
    )


def validate_llm_url(url: str) -> str:
    """Full check (syntax, DNS, addresses) of a URL about to be saved; returns it stripped."""
    check_host(parse_url(url))
    return url.strip()


def quick_problem(url: str) -> str:
    """Syntax and IP-literal checks without DNS, cheap enough for every page view ("" when fine)."""
    try:
        parsed = parse_url(url)
    except UnsafeURLError as exc:
        return str(exc)
    literal = _literal(parsed.host)
    if literal is not None and address_problem(literal) and not is_allow_listed(parsed.host):
        return NOT_ALLOWED
    return ""


def pin(url: str) -> PinnedURL:
    """Check ``url`` now and return it with the host replaced by the first checked address."""
    parsed = parse_url(url)
    address = check_host(parsed)[0]
    host_literal = f"[{address}]" if address.version == 6 else str(address)
    default_port = 443 if parsed.scheme == "https" else 80
    netloc = host_literal if parsed.port == default_port else f"{host_literal}:{parsed.port}"
    original_host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    host_header = original_host if parsed.port == default_port else f"{original_host}:{parsed.port}"
    sni = parsed.host if parsed.scheme == "https" and _literal(parsed.host) is None else None
    pinned = urlunsplit((parsed.scheme, netloc, parsed.path, parsed.query, ""))
    return PinnedURL(url=pinned, host_header=host_header, sni_hostname=sni, address=str(address))
