"""The remote LLM backend: any OpenAI-compatible chat-completions endpoint, per-user URL, model and key.

The URL the user enters is a *base* URL; :func:`chat_completions_url` turns it into the endpoint:
a URL that already ends in ``/chat/completions`` is used as is; a URL with a path (``/v1``,
``/openai/v1``, ``/api/v1``...) gets ``/chat/completions`` appended; a bare host (no path) gets
``/v1/chat/completions``, the usual OpenAI layout (OpenAI, vLLM, llama.cpp, Ollama, LM Studio).

Every request re-checks the address through :mod:`summaries.netguard` and connects to the checked
address; redirects are not followed and proxies from the environment are ignored (they would bypass
the check). With ``EMOTION_LLM_STREAM`` (default on) the reply is streamed (server-sent events), so
progress is reported and a cancel stops the reply mid-way; a server that ignores ``stream`` and
answers plain JSON is accepted too. A reply (streamed or not) longer than ``EMOTION_LLM_REPLY_MAX_KB``
is cut off and refused: a server cannot fill the worker's memory. The API key is sent only in the
``Authorization`` header, only to the URL it was entered with
(:meth:`summaries.models.LLMSettings.get_api_key`) and only over https or to an allow-listed host; it
is scrubbed from anything the server echoes and never put in a message, a log line or an exception.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from cryptography.fernet import InvalidToken
from django.conf import settings

from summaries import netguard
from summaries.backends.deadline import CallDeadline
from summaries.base import (
    Availability,
    CancelFn,
    LLMReply,
    Messages,
    ProgressFn,
    SummaryCancelled,
    SummaryError,
    clean_reply,
)

logger = logging.getLogger(__name__)

_SERVER_TEXT_LIMIT = 200  # how much of a server's own error message is shown to the user


class _UseMaxCompletionTokens(SummaryError):
    """The server wants ``max_completion_tokens`` instead of ``max_tokens`` (OpenAI's newer models)."""


def chat_completions_url(base: str) -> str:
    base = base.strip()
    path = netguard.parse_url(base).path.rstrip("/")
    stem = base.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    if path.endswith("/chat/completions"):
        return stem
    if not path:
        return f"{stem}/v1/chat/completions"
    return f"{stem}/chat/completions"


def _settings_row(user):
    from summaries.models import LLMSettings

    return LLMSettings.objects.filter(user=user).first()


def remote_availability(user) -> Availability:
    """Whether ``user`` has a usable remote endpoint (no DNS here; requests re-check the address)."""
    row = _settings_row(user)
    if row is None or not row.remote_url:
        return Availability(False, "No remote LLM URL set (LLM settings page).")
    if not row.remote_model:
        return Availability(False, "No remote model name set (LLM settings page).")
    problem = netguard.quick_problem(row.remote_url)
    if problem:
        return Availability(False, problem)
    return Availability(True)


def remote_llm_for(user) -> RemoteLLM:
    from summaries.models import APIKeyNotBound

    row = _settings_row(user)
    availability = remote_availability(user)
    if not availability.available:
        raise SummaryError(availability.reason)
    try:
        api_key = row.get_api_key()
    except InvalidToken:  # encrypted under a Fernet key no longer configured
        raise SummaryError("The stored API key cannot be decrypted; enter it again on the LLM settings page.") from None
    except APIKeyNotBound:  # the URL was changed around the settings service: the key stays where it was meant
        raise SummaryError(
            "The stored API key was entered for another URL; enter it again on the LLM settings page."
        ) from None
    return RemoteLLM(url=row.remote_url, model=row.remote_model, api_key=api_key)


@dataclass
class RemoteLLM:
    url: str
    model: str
    api_key: str = field(default="", repr=False)
    stream: bool | None = None  # None: EMOTION_LLM_STREAM

    def __repr__(self) -> str:  # never the key
        return f"RemoteLLM(url={self.url!r}, model={self.model!r}, api_key={'set' if self.api_key else 'not set'})"

    def _scrub(self, text: str) -> str:
        text = str(text)
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return text[:_SERVER_TEXT_LIMIT]

    def generate(
        self,
        messages: Messages,
        *,
        max_new_tokens: int,
        on_progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> LLMReply:
        if should_cancel and should_cancel():
            raise SummaryCancelled()
        stream = settings.EMOTION_LLM_STREAM if self.stream is None else self.stream
        endpoint = chat_completions_url(self.url)
        target = netguard.pin(endpoint)
        if self.api_key:  # checked before each request, before any connection
            problem = netguard.key_transport_problem(endpoint)
            if problem:
                raise SummaryError(problem)
        headers = {"Host": target.host_header, "Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": self.model, "messages": messages, "max_tokens": max_new_tokens, "stream": stream}
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        connect_s, read_s = settings.EMOTION_LLM_CONNECT_TIMEOUT, settings.EMOTION_LLM_READ_TIMEOUT
        total_s = settings.EMOTION_LLM_TOTAL_TIMEOUT
        timeout = httpx.Timeout(connect=min(connect_s, total_s), read=read_s, write=read_s, pool=connect_s)
        bundle = settings.EMOTION_LLM_CA_BUNDLE
        verify = ssl.create_default_context(cafile=bundle) if bundle else True
        where = target.host_header
        logger.info("remote LLM request to %s (model %s, stream=%s)", where, self.model, stream)
        deadline = CallDeadline(total_s)
        extensions["trace"] = deadline.trace
        try:
            with (
                deadline,
                httpx.Client(timeout=timeout, verify=verify, follow_redirects=False, trust_env=False) as client,
            ):
                reply = self._exchange(
                    client, target.url, body, headers, extensions,
                    stream=stream, max_new_tokens=max_new_tokens, on_progress=on_progress, should_cancel=should_cancel,
                )  # fmt: skip
        except (httpx.HTTPError, SummaryError) as exc:
            if deadline.expired:  # a cut connection looks like a broken or short reply: say what happened
                raise self._too_slow(where, total_s) from None
            if isinstance(exc, SummaryError):
                raise
            raise self._request_error(exc, where, connect_s, read_s) from None
        if deadline.expired:  # the cut may also end a reply that has no length early, as if complete
            raise self._too_slow(where, total_s)
        return reply

    def _exchange(
        self,
        client: httpx.Client,
        url: str,
        body: dict,
        headers: dict,
        extensions: dict,
        *,
        stream: bool,
        max_new_tokens: int,
        on_progress: ProgressFn | None,
        should_cancel: CancelFn | None,
    ) -> LLMReply:
        """POST the request (twice at most: see _UseMaxCompletionTokens) and read the reply."""
        endpoint = chat_completions_url(self.url)
        for attempt in range(2):
            request = client.build_request("POST", url, json=body, headers=headers, extensions=extensions)
            response = client.send(request, stream=True)
            try:
                self._raise_for_status(response, endpoint)
                content_type = response.headers.get("content-type", "")
                if stream and content_type.startswith("text/event-stream"):
                    return self._read_stream(response, max_new_tokens, on_progress, should_cancel)
                return self._parse_json(self._read_capped(response))
            except _UseMaxCompletionTokens:
                if attempt:
                    raise
                # newer OpenAI models refuse max_tokens and name its successor: ask once more
                body["max_completion_tokens"] = body.pop("max_tokens")
            finally:
                response.close()
        raise AssertionError("unreachable")  # the second attempt returns or raises

    @staticmethod
    def _too_slow(where: str, total_s: float) -> SummaryError:
        return SummaryError(
            f"The LLM server at {where} did not finish its reply within {total_s:g} s "
            "(EMOTION_LLM_TOTAL_TIMEOUT); the summary was stopped."
        )

    def _request_error(self, exc: httpx.HTTPError, where: str, connect_s: float, read_s: float) -> SummaryError:
        """A message for the user; the socket's own error text goes to the log only."""
        if isinstance(exc, httpx.ConnectTimeout):
            return SummaryError(f"Timed out connecting to the LLM server at {where} after {connect_s:g} s.")
        if isinstance(exc, httpx.ReadTimeout):
            return SummaryError(
                f"The LLM server at {where} did not answer within {read_s:g} s (EMOTION_LLM_READ_TIMEOUT)."
            )
        if isinstance(exc, httpx.TimeoutException):
            return SummaryError(f"The request to the LLM server at {where} timed out.")
        if isinstance(exc, httpx.ConnectError):
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                return SummaryError(
                    f"The TLS certificate of the LLM server at {where} is not trusted for that name "
                    "(for a private CA, set EMOTION_LLM_CA_BUNDLE on the summaries worker)."
                )
            logger.warning("remote LLM at %s unreachable: %s", where, self._scrub(exc))
            return SummaryError(
                f"Could not connect to the LLM server at {where}: "
                "is it running and reachable from the summaries worker?"
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            logger.warning("connection to the remote LLM at %s broke: %s", where, self._scrub(exc))
            return SummaryError(f"The connection to the LLM server at {where} broke before the reply was complete.")
        return SummaryError(f"The request to the LLM server at {where} failed.")

    def _capped(self, response: httpx.Response) -> Iterator[bytes]:
        """The reply's bytes, refused once they pass EMOTION_LLM_REPLY_MAX_BYTES."""
        cap, total = settings.EMOTION_LLM_REPLY_MAX_BYTES, 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > cap:
                raise SummaryError(
                    f"The LLM server's reply was longer than {max(1, cap // 1024)} KB (EMOTION_LLM_REPLY_MAX_KB); "
                    "it was cut off."
                )
            yield chunk

    def _read_capped(self, response: httpx.Response) -> bytes:
        return b"".join(self._capped(response))

    def _lines(self, response: httpx.Response) -> Iterator[str]:
        """Lines of a streamed reply; a line never grows past the cap either (unlike httpx's iter_lines)."""
        pending = b""
        for chunk in self._capped(response):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")

    def _server_message(self, response: httpx.Response) -> str:
        try:
            data = json.loads(self._read_capped(response))
            message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
            message = message or data.get("message") or data.get("detail") or ""
        except (ValueError, AttributeError, httpx.HTTPError, SummaryError):
            message = ""
        message = self._scrub(message).strip()
        return f" The server said: {message}" if message else ""

    def _raise_for_status(self, response: httpx.Response, endpoint: str) -> None:
        code = response.status_code
        if code < 300:
            return
        if code < 400:
            raise SummaryError(
                f"The LLM server answered with a redirect (HTTP {code}); redirects are not followed. "
                "Enter the final URL on the LLM settings page."
            )
        said = self._server_message(response)
        if code == 400 and "max_completion_tokens" in said:
            raise _UseMaxCompletionTokens(f"The LLM server rejected the request (HTTP 400).{said}")
        if code in (401, 403):  # without the server's text: it often echoes part of the key
            raise SummaryError(
                f"The LLM server refused the API key (HTTP {code}). Check the key on the LLM settings page."
            )
        if code == 429:
            retry = response.headers.get("retry-after", "").strip()
            when = f" Retry after {retry} s." if retry.isdigit() else f" Retry after {retry}." if retry else ""
            raise SummaryError(f"The LLM server is rate limiting requests (HTTP 429).{when}{said}")
        if code == 404:
            raise SummaryError(
                f"No chat-completions endpoint or model found at {endpoint} (HTTP 404): check the base URL "
                f"and the model name.{said}"
            )
        if code >= 500:
            raise SummaryError(f"The LLM server failed (HTTP {code}); try again later.{said}")
        raise SummaryError(f"The LLM server rejected the request (HTTP {code}).{said}")

    def _malformed(self, what: str) -> SummaryError:
        return SummaryError(f"The LLM server's reply was not a valid chat completion ({what}).")

    def _parse_json(self, content: bytes) -> LLMReply:
        try:
            data = json.loads(content)
        except ValueError:
            raise self._malformed("not JSON") from None
        if not isinstance(data, dict):
            raise self._malformed("not a JSON object")
        if "error" in data and "choices" not in data:
            error = data["error"]
            message = error.get("message", "") if isinstance(error, dict) else error
            raise SummaryError(f"The LLM server reported an error: {self._scrub(message)}")
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._malformed("no choices[0].message.content") from None
        if not isinstance(text, str):
            raise self._malformed("the content is not text")
        text = clean_reply(text)
        if not text:
            raise SummaryError("The LLM server returned an empty reply.")
        model = data.get("model") if isinstance(data.get("model"), str) else ""
        return LLMReply(text=text, model=model or self.model)

    def _read_stream(
        self,
        response: httpx.Response,
        max_new_tokens: int,
        on_progress: ProgressFn | None,
        should_cancel: CancelFn | None,
    ) -> LLMReply:
        parts: list[str] = []
        model = ""
        chunks = 0
        for line in self._lines(response):
            if should_cancel and should_cancel():
                raise SummaryCancelled()
            if not line.startswith("data:"):
                continue  # comments, event names, keep-alives
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            try:
                event = json.loads(payload)
            except ValueError:
                raise self._malformed("a streamed event is not JSON") from None
            if not isinstance(event, dict):
                raise self._malformed("a streamed event is not a JSON object")
            if "error" in event:
                error = event["error"]
                message = error.get("message", "") if isinstance(error, dict) else error
                raise SummaryError(f"The LLM server reported an error: {self._scrub(message)}")
            try:
                delta = event["choices"][0].get("delta") or {}
            except (KeyError, IndexError, TypeError, AttributeError):
                raise self._malformed("a streamed event has no choices[0].delta") from None
            piece = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(event.get("model"), str):
                model = event["model"]
            if isinstance(piece, str) and piece:
                parts.append(piece)
                chunks += 1  # servers send about one token per event
                if on_progress:
                    on_progress(min(0.99, chunks / max(1, max_new_tokens)))
        text = clean_reply("".join(parts))
        if not text:
            raise SummaryError("The LLM server returned an empty reply.")
        return LLMReply(text=text, model=model or self.model)
