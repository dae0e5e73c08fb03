"""A schema-driven fuzzer (schemathesis) against the live API: the real Daphne server, a real token.

Every operation of /api/schema/ gets a bounded, derandomized number of generated requests, valid ones and
invalid ones, twice: with ids the fuzzer makes up, and with the ids of the fuzz user's own objects (a shared
project holding a session with a marker and a summary), so requests reach real rows. Every built-in check
runs on each answer: no server error, every status and content type documented, every body matching its
schema, invalid data refused, valid data accepted... What it deletes or changes is the fuzz user's own, and
every answer is checked on its own, so the order of the operations does not matter.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

MAX_EXAMPLES = 8  # per operation and mode, with the fuzz user's ids (or for paths without ids)
ANY_IDS_EXAMPLES = 3  # with made-up ids: each is a JSON 404

NOT_MEDIA = b"fuzzed bytes: no video, no image"

# Schema-valid requests these operations refuse (400) for what no schema can say: the state of the world.
REFUSES_VALID = {
    ("POST", "/api/sessions/"): "the file is no readable video or image (never, here: NOT_MEDIA)",
    ("POST", "/api/sessions/{session_id}/markers/"): "a time past the session's end",
    ("POST", "/api/sessions/{session_id}/summaries/"): "a backend this server does not run (local, remote)",
    ("POST", "/api/sessions/{session_id}/summaries/{summary_id}/cancel/"): "a summary that has finished",
    ("POST", "/api/projects/{project_id}/members/"): "a username nobody has; a personal project",
    ("GET", "/api/projects/{project_id}/study/comparison/"): "a condition label the project does not have",
    ("GET", "/api/projects/{project_id}/study/export/comparison.csv"): "a condition label the project does not have",
    # JSON Schema bounds a value by constants only, never by another parameter
    ("GET", "/api/projects/{project_id}/study/event-locked/"): "a step longer than the window",
    ("PUT", "/api/projects/{project_id}/study/baseline/"): (
        "a condition label the project does not have; markers or condition mode without the markers' notes or "
        "the condition, here or saved before"
    ),
}


@pytest.fixture
def fuzz_world(transactional_db) -> dict:
    from api_tokens.services import create_token
    from projects.models import Membership, Project
    from sessions_app.models import Marker, Session
    from summaries.models import Summary

    user = get_user_model().objects.create_user(username="fuzzer", password=None)
    get_user_model().objects.create_user(username="colleague", password=None)
    project = Project.objects.create(name="Fuzzed")
    Membership.objects.create(project=project, user=user, role="owner")
    session = Session.objects.create(
        owner=user, project=project, title="Fuzzed session", status=Session.Status.DONE, progress=1.0, duration=10.0
    )
    marker = Marker.objects.create(session=session, author=user, time=1.0, note="marked")
    summary = Summary.objects.create(session=session, requested_by=user, backend="heuristic", text="summed up")
    return {
        "token": create_token(user, "fuzz")[1],
        "ids": {
            "project_id": project.pk,
            "session_id": session.pk,
            "marker_id": marker.pk,
            "summary_id": summary.pk,
            "user_id": user.pk,
        },
    }


def _config(base: str, token: str):
    operations = [
        {
            "include-method": method,
            "include-path": path,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]}
            },
        }
        for method, path in REFUSES_VALID
    ]
    return schemathesis.config.SchemathesisConfig.from_dict(
        {
            "base-url": base,
            "headers": {"Authorization": f"Token {token}"},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "request-timeout": 30,
            "operations": operations,
        }
    )


@pytest.fixture
def subnormal_floats():
    """Hypothesis refuses to draw floats while the CPU flushes subnormals to zero, which the emotion
    classifier turns on (``torch.set_flush_denormal``, for speed) in a process that loaded it, as earlier
    tests in this one may have: off for the fuzz, back on after."""
    import sys

    def subnormals() -> bool:
        return sys.float_info.min / 2 > 0.0  # a subnormal result, or 0 when the CPU flushes it

    torch = sys.modules.get("torch")
    flushing = not subnormals()
    if flushing and torch is not None:
        torch.set_flush_denormal(False)
    assert subnormals(), "subnormal floats are flushed to zero in this process"
    yield
    if flushing and torch is not None:
        torch.set_flush_denormal(True)


def test_api_answers_as_documented(daphne_server, fuzz_world, subnormal_floats):
    schema = schemathesis.openapi.from_url(
        f"{daphne_server}/api/schema/?format=json", config=_config(daphne_server, fuzz_world["token"])
    )

    @schema.hook
    def map_case(context, case):
        # Generated files can be real pictures: one would make a session and queue its analysis for a worker of
        # later tests. The file's bytes never reach the schema checks: every upload is a file that is no media.
        if case.operation.label == "POST /api/sessions/" and isinstance(case.body, dict) and "file" in case.body:
            case.body = {**case.body, "file": NOT_MEDIA}
        return case

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19, [op.label for op in operations]
    http = requests.Session()
    failures: dict[str, str] = {}
    took: dict[str, float] = {}
    for operation in operations:
        names = set(re.findall(r"{(\w+)}", operation.path))
        own = {k: v for k, v in fuzz_world["ids"].items() if k in names}
        for ids in ({}, own) if own else ({},):
            # nothing to make invalid once the path is fixed: no query, no body (the positive run covers it)
            fixed = len(operation.query) == 0 and len(operation.body) == 0 and (ids or not names)
            modes = (GenerationMode.POSITIVE,) if fixed else (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for mode in modes:
                label = f"{operation.label} ({mode.value}, {'own ids' if ids else 'any ids'})"
                started = time.monotonic()

                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=ids))
                @settings(
                    max_examples=MAX_EXAMPLES if ids or not names else ANY_IDS_EXAMPLES,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def fuzz(case):
                    case.call_and_validate(session=http)

                try:
                    fuzz()
                except Unsatisfiable:
                    pass  # no invalid request of this shape could be made
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation runs, all reported
                    failures[label] = str(exc)[:3000]
                took[label] = time.monotonic() - started
    slowest = sorted(took.items(), key=lambda kv: -kv[1])[:5]
    print("slowest:", ", ".join(f"{k}: {v:.1f} s" for k, v in slowest))
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_live_server_answers_json_to_the_cases_found_by_the_last_fuzz(daphne_server, fuzz_world):
    """Through Daphne (whose own request handling sees bodies first): an empty or malformed multipart upload,
    an id that is no number, a method not allowed."""
    auth = {"Authorization": f"Token {fuzz_world['token']}"}
    cases = [
        ("POST", "/api/sessions/", b"", "multipart/form-data; boundary=b", 400),
        ("POST", "/api/sessions/", b"--b--\r\n", "multipart/form-data; boundary=b", 400),
        ("POST", "/api/sessions/", b"--b\r\nno headers", "multipart/form-data; boundary=b", 400),
        ("GET", "/api/sessions/null,null/", b"", None, 404),
        ("PUT", "/api/projects/", b"{}", "application/json", 405),
    ]
    for method, path, body, content_type, status in cases:
        headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
        answer = requests.request(method, f"{daphne_server}{path}", data=body, headers=headers, timeout=30)
        label = f"{method} {path} {body[:20]!r}"
        assert answer.status_code == status, (label, answer.status_code, answer.content[:200])
        assert answer.headers["Content-Type"] == "application/json", (label, answer.headers)
        assert answer.json()["detail"], label
        if path == "/api/sessions/":
            assert "file" in answer.json(), (label, answer.json())
