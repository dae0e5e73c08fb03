"""The contract between summary backends and the code that runs them.

An LLM backend turns chat messages into text (:class:`LLM`); the summarizer for a backend turns a
session's digest into a :class:`SummaryResult`. Errors meant for the user are :class:`SummaryError`
(their message is shown as is); :class:`SummaryCancelled` ends a run the user cancelled. Both backends
pass their text through :func:`clean_reply` before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Messages = list[dict[str, str]]  # [{"role": "system"|"user"|"assistant", "content": "..."}]
ProgressFn = Callable[[float], None]  # fraction done, 0..1
CancelFn = Callable[[], bool]  # True once the user asked to cancel


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\t")
_CONTROL.update({0x7F: None})


def clean_reply(text: str) -> str:
    """A model's text without control characters (NUL cannot be stored in PostgreSQL), stripped."""
    return text.replace("\r\n", "\n").translate(_CONTROL).strip()


class SummaryError(Exception):
    """A failure with a message fit to show the user (no internals, never a secret)."""


class SummaryCancelled(Exception):
    """The user cancelled; the run stops without a result."""


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str = ""  # why not, shown beside the disabled backend


@dataclass(frozen=True)
class LLMReply:
    text: str
    model: str  # the model that answered, as the backend names it


class LLM(Protocol):
    """A chat model: the local transformers model or a remote OpenAI-compatible endpoint."""

    def generate(
        self,
        messages: Messages,
        *,
        max_new_tokens: int,
        on_progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> LLMReply: ...


@dataclass(frozen=True)
class SummaryResult:
    text: str
    model_name: str = ""  # empty for the heuristic
    prompt: str = ""  # the prompt sent to an LLM, empty for the heuristic
