"""The one place where forwarded headers count: an ASGI middleware around HTTP and websockets.

Daphne hands the application the TCP peer as ``scope["client"]``; Django takes ``REMOTE_ADDR`` and
``request.is_secure()`` from the scope, and django-axes, the audit log and the HTTPS redirect read
those. Only with ``EMOTION_BEHIND_PROXY`` on, and only when the peer is one of
``EMOTION_TRUSTED_PROXIES`` (addresses or networks), is the client taken from ``X-Forwarded-For``
(walked right to left, trusted hops skipped: what lies left of the first untrusted address was written
by the client itself) and the scheme from ``X-Forwarded-Proto``. The forwarding headers are then
removed, whoever sent them, so no later code can read a forged one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-real-ip", b"forwarded"})
SCHEMES = {"http": {"http": "http", "https": "https"}, "websocket": {"http": "ws", "https": "wss"}}


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs -> networks; raises ValueError naming a bad entry (settings use this)."""
    entries = tuple(entries)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return _networks(entries)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Any, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in networks)


def forwarded_client(chain: list[str], networks: tuple[Network, ...]) -> str | None:
    """The client a trusted proxy names: the rightmost address of the chain that is not a trusted proxy.
    None when the chain is empty or its first untrusted entry is not an address."""
    for entry in reversed(chain):
        address = _address(entry)
        if address is None:
            return None
        if not _trusted(address, networks):
            return str(address)
    return str(_address(chain[0])) if chain else None  # every hop a trusted proxy: the farthest one


def _header_values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    values = [value.decode("latin-1") for key, value in headers if key.lower() == name]
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def resolve(scope: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``scope`` with the client and scheme a trusted proxy vouches for, forwarding headers removed."""
    headers = list(scope.get("headers") or [])
    scope = {**scope, "headers": [(k, v) for k, v in headers if k.lower() not in FORWARDING_HEADERS]}
    if not getattr(settings, "EMOTION_BEHIND_PROXY", False):
        return scope
    networks = parse_networks(getattr(settings, "EMOTION_TRUSTED_PROXIES", ()))
    peer = scope.get("client")
    if not peer or not _trusted(_address(str(peer[0])), networks):
        return scope
    client = forwarded_client(_header_values(headers, b"x-forwarded-for"), networks)
    if client is not None:
        scope["client"] = (client, 0)  # the client's port is not forwarded
    protos = _header_values(headers, b"x-forwarded-proto")
    scheme = SCHEMES.get(scope["type"], {}).get(protos[-1].lower()) if protos else None
    if scheme:  # the value the nearest proxy set
        scope["scheme"] = scheme
    return scope


class TrustedProxyMiddleware:
    """Wraps the HTTP and websocket applications (emotionsite/asgi.py)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] in ("http", "websocket"):
            scope = resolve(scope)
        return await self.inner(scope, receive, send)
