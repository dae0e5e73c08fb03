"""A small asyncio websocket client (RFC 6455): enough for the benchmarks and fault tests to talk to Daphne
as a browser does (Origin and cookie headers, masked text/binary frames), with no extra dependency."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from urllib.parse import urlsplit

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"websocket closed ({code})")
        self.code = code


class WebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.close_code: int | None = None

    @classmethod
    async def connect(cls, url: str, *, cookie: str = "", origin: str | None = None, timeout: float = 10) -> WebSocket:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 80
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=2**24), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parts.path or '/'} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: {origin or f'http://{host}:{port}'}",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            writer.close()
            raise Closed(int(status.split()[1]) if len(status.split()) > 1 else None)
        return cls(reader, writer)

    async def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, mask)
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def send_json(self, message: dict) -> None:
        await self._send(TEXT, json.dumps(message).encode())

    async def send_bytes(self, data: bytes) -> None:
        await self._send(BINARY, data)

    async def recv(self, timeout: float | None = None) -> str | bytes:
        """The next text (str) or binary (bytes) message; raises Closed when the server closes."""
        while True:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", await self.reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(n)
            if opcode == TEXT:
                return payload.decode()
            if opcode == BINARY:
                return payload
            if opcode == PING:
                await self._send(PONG, payload)
            elif opcode == CLOSE:
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise Closed(self.close_code)

    async def recv_json(self, timeout: float | None = None) -> dict:
        return json.loads(await self.recv(timeout))

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._send(CLOSE, struct.pack(">H", 1000))
        self.writer.close()


def _mask_fast(payload: bytes, mask: bytes) -> bytes:
    import numpy as np

    data = np.frombuffer(payload, np.uint8)
    key = np.frombuffer(mask * (len(payload) // 4 + 1), np.uint8)[: len(payload)]
    return (data ^ key).tobytes()
