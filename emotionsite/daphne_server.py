"""Daphne with request bodies bounded inside its own request handling: ``python -m emotionsite.daphne_server``
takes Daphne's command line unchanged (``-b``, ``-p``, ``-e``, the websocket flags, the application path).

Daphne (Twisted) writes a request's whole body to a temporary file before the application is called, with
no cap, and then puts all of it into an in-memory queue at once; ``emotionsite.bodylimit`` could only see it
afterwards. Here, per request:

- the limit is ``bodylimit.limit_for`` (the same rule as the ASGI middleware), known once the headers are in;
- a declared ``Content-Length`` over it is answered 413 before a byte of the body is read (and no
  ``100 Continue`` is sent), a body without one is counted as it arrives and answered 413 at the limit, so
  the temporary file never holds more than the limit;
- after a 413 the connection stops reading into anything: what still arrives is discarded for a short
  grace period (so the client reads the answer instead of a reset), then the connection is cut;
- an accepted body is not parsed by Twisted (its form parsing reads a multipart body whole and takes about
  twelve times its size in memory), and is handed to the application a chunk at a time, as the application
  asks for it, so a 2 GB upload is never in memory;
- a response body is sent no faster than the client reads it (``emotionsite.daphne_flow``), so a streamed
  video or export holds about one buffer in this process.

HTTP/1.1 only: Twisted's HTTP/2 is not installed (no ``h2``), so Daphne never negotiates it.
"""

from __future__ import annotations

import daphne.server  # isort: skip  (installs Twisted's asyncio reactor before anything else imports Twisted)

import asyncio
import io
import logging
import sys
from functools import partial
from typing import IO, Any
from urllib.parse import unquote

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.internet import reactor
from twisted.internet.abstract import FileDescriptor

from emotionsite import bodylimit, daphne_flow, logredact

logger = logging.getLogger("emotionsite.daphne_server")  # run as __main__

BODY_CHUNK = 64 * 1024  # bytes of an accepted body handed to the application per receive()
REFUSED_GRACE_SECONDS = 2.0  # how long a refused connection's further bytes are read and dropped


class BodyReceiver:
    """One request's ``receive``: Daphne's own messages (a disconnect) through a queue; the body read from
    Twisted's content file one chunk per call, only when the application asks for it."""

    def __init__(self, body: IO[bytes] | None) -> None:
        self._body = body
        self._messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        if body is not None:
            body.seek(0)

    def put_nowait(self, message: dict[str, Any]) -> None:
        if self._body is not None and message["type"] == "http.request":
            return  # Daphne's one empty body message: the real body comes from the file
        self._messages.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        body = self._body
        if body is not None and not body.closed and self._messages.empty():
            chunk = body.read(BODY_CHUNK)
            more = len(chunk) == BODY_CHUNK
            if not more:
                body.close()  # frees the temporary file as soon as the application has it all
            return {"type": "http.request", "body": chunk, "more_body": more}
        return await self._messages.get()


class BoundedRequest(WebRequest):
    """Daphne's request with the body limit applied while the body arrives (see the module's docstring)."""

    _limit = 0
    _received = 0
    _refused = False
    _grace = None
    body_file: IO[bytes] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twisted would parse a whole form or multipart body into memory (request.args: about twelve times a
        # 300 MB upload) before Daphne runs; Daphne never reads args, and Django parses the body itself.
        super().__init__(*args, **kwargs, parsePOSTFormSubmission=False)

    def gotLength(self, length: int | None) -> None:
        super().gotLength(length)
        method, path = self._target()
        self._limit = bodylimit.limit_for(method, path, self._header(b"content-type"))
        if length is not None and length > self._limit:
            self._refuse(path)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > self._limit:
            self._refuse(self._target()[1])
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:  # a refused body that ends within the grace period reaches no application
            super().requestReceived(command, path, version)

    def process(self) -> Any:
        upgrade = self.requestHeaders.getRawHeaders(b"upgrade") or [b""]
        if upgrade[0].lower() != b"websocket":  # Daphne hands a websocket's bytes on itself
            # Daphne's loop reads the whole content into its queue at once: give it an empty one, and the
            # application the real file through BodyReceiver.
            self.body_file, self.content = self.content, io.BytesIO()
        return super().process()

    def finish(self) -> None:
        super().finish()
        self._close_body()

    def connectionLost(self, reason: Any) -> None:
        if self._grace is not None and self._grace.active():
            self._grace.cancel()
        super().connectionLost(reason)
        self._close_body()

    def _close_body(self) -> None:
        if self.body_file is not None:
            self.body_file.close()

    def _header(self, name: bytes) -> str:
        values = self.requestHeaders.getRawHeaders(name)
        return values[-1].decode("latin-1") if values else ""

    def _target(self) -> tuple[str, str]:
        # Twisted sets the request's method and path once the body is in; until then only the channel has them.
        method = getattr(self.channel, "_command", b"").decode("latin-1")
        uri = getattr(self.channel, "_path", b"")
        return method, unquote(uri.split(b"?", 1)[0].decode("latin-1"))  # as Daphne's scope["path"]

    def _refuse(self, path: str) -> None:
        self._refused = True
        self.requestHeaders.removeHeader(b"expect")  # no "100 Continue" for a body that will not be read
        self.content.close()  # drops what the temporary file held
        self.content = io.BytesIO()
        body, content_type = bodylimit.refusal(path, self._limit)
        channel, transport = self.channel, self.channel.transport
        transport.write(
            b"HTTP/1.1 413 Content Too Large\r\ncontent-type: %s\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (content_type, len(body), body)
        )
        channel.persistent = False
        channel.dataReceived = _drop  # whatever still arrives is read and dropped, never buffered
        if isinstance(transport, FileDescriptor):  # the socket itself (TLS wraps it, buffering its writes)
            transport.loseWriteConnection()  # our side ends once the answer is out
        self._grace = reactor.callLater(REFUSED_GRACE_SECONDS, transport.abortConnection)
        logger.warning("413: %s %s over its %d-byte body limit", self._target()[0], path, self._limit)
        peer = transport.getPeer()
        self.server.log_action(
            "http", "complete",
            {"path": path, "status": 413, "method": self._target()[0], "size": len(body),
             "client": f"{getattr(peer, 'host', '')}:{getattr(peer, 'port', '')}", "time_taken": 0},
        )  # fmt: skip


def _redacted_action(log: Any, protocol: str, action: str, details: dict[str, Any]) -> None:
    if "path" in details:
        details = {**details, "path": logredact.redact(str(details["path"]))}
    log(protocol, action, details)


def _drop(data: bytes) -> None:
    return None


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        return protocol


class BoundedServer(daphne.server.Server):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.action_logger is not None:  # the access log: invitation tokens in paths are not written
            self.action_logger = partial(_redacted_action, self.action_logger)

    async def handle_reply(self, protocol: Any, message: dict[str, Any]) -> None:
        # streamed responses wait for the client instead of filling Twisted's buffers (daphne_flow)
        await daphne_flow.reply(super().handle_reply, self.connections, protocol, message)

    def run(self) -> None:
        # Server.run() builds its HTTP factory from this module-level name; Daphne has no option for another.
        daphne.server.HTTPFactory = BoundedHTTPFactory
        super().run()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> BodyReceiver | None:
        """Daphne's own, with a BodyReceiver in place of its unbounded queue as the application's receive."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = BodyReceiver(getattr(protocol, "body_file", None))
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            instance, loop=asyncio.get_event_loop()
        )
        return input_queue


class BoundedCommandLine(CommandLineInterface):
    server_class = BoundedServer


def main(argv: list[str] | None = None) -> None:
    BoundedCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
