"""Fixtures for the summaries tests: sessions with constructed observations (the replay helpers), an API
client per user, and a controllable stand-in LLM injected at the service level (``run_summary(llm=…)``)."""

from __future__ import annotations

import threading
import time

import pytest
from rest_framework.test import APIClient

from people.models import Person
from sessions_app.models import Marker, Session
from summaries.base import LLMReply, SummaryCancelled
from tests.replay.conftest import add_observations, api, probs  # noqa: F401 - re-exported for the tests here


def _runs(*runs):
    """(first frame, last frame inclusive, emotion, probability, attention) → add_observations samples."""
    return [(f, e, p, a) for first, last, e, p, a in runs for f in range(first, last + 1)]


def make_summary_session(owner, *, title: str = "Summaries") -> Session:
    """12 s at 5 fps. Alice (renamed from "Old name"): happy 0–4 s, a 0.4 s sad blip, happy with low
    attention 4.4–8 s, sad 8–12 s. Person 2 (no name): angry 2–6 s, attentive. An unattributed face:
    neutral 10–11 s, inattentive. Two markers."""
    session = Session.objects.create(
        owner=owner, title=title, status=Session.Status.DONE, progress=1.0, duration=12.0, sample_fps=5.0
    )
    number = (Person.objects.filter(owner=owner).order_by("-number").values_list("number", flat=True).first() or 0) + 1
    alice = Person.objects.create(owner=owner, number=number, name="Old name")
    other = Person.objects.create(owner=owner, number=number + 1, name="")
    add_observations(
        session,
        alice,
        _runs(
            (0, 19, "happy", 0.8, 0.9),
            (20, 21, "sad", 0.6, 0.9),
            (22, 39, "happy", 0.7, 0.2),
            (40, 59, "sad", 0.9, 0.5),
        ),
        0,
        "0:1",
    )
    add_observations(session, other, _runs((10, 29, "angry", 0.7, 0.8)), 1, "0:2")
    add_observations(session, None, _runs((50, 54, "neutral", 0.6, 0.3)), 2, "0:3")
    Person.objects.filter(pk=alice.pk).update(name="Alice")  # the summary must use the current name
    Marker.objects.create(session=session, author=owner, time=9.5, note="question")
    Marker.objects.create(session=session, author=owner, time=3.2, note="intro")
    session.alice, session.other = alice, other
    return session


@pytest.fixture
def summary_session(user):
    return make_summary_session(user)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="summaries-other", password="another-pass-123")


@pytest.fixture
def other_api(other_user):
    c = APIClient()
    c.force_login(other_user)
    return c


class FakeLLM:
    """A stand-in chat model that behaves like the real backends towards the runner: it reports progress,
    polls ``should_cancel`` and raises SummaryCancelled when asked to stop. ``steps`` × ``step_s`` is how
    long it "generates"; ``error`` is raised instead of answering."""

    def __init__(self, text: str = "At 00:02 Alice smiles; at 00:08 she turns sad.", *, steps: int = 3,
                 step_s: float = 0.01, error: Exception | None = None, model: str = "fake-model") -> None:  # fmt: skip
        self.text, self.steps, self.step_s, self.error, self.model = text, steps, step_s, error, model
        self.started = threading.Event()
        self.messages = None
        self.cancel_seen_after: float | None = None

    def generate(self, messages, *, max_new_tokens, on_progress=None, should_cancel=None) -> LLMReply:
        self.messages, self.max_new_tokens = messages, max_new_tokens
        self.started.set()
        t0 = time.monotonic()
        for i in range(self.steps):
            if should_cancel and should_cancel():
                self.cancel_seen_after = time.monotonic() - t0
                raise SummaryCancelled()
            if on_progress:
                on_progress((i + 1) / self.steps)
            time.sleep(self.step_s)
        if self.error is not None:
            raise self.error
        return LLMReply(text=self.text, model=self.model)
