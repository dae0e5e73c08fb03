"""Every answer under /api/ is JSON, and the schema documents it: the role each operation needs and every
status it can answer (emotionsite/apijson.py). The fuzzer (test_schema_fuzz.py) checks the same against the
live server with generated requests; these are the cases found by hand, named."""

from __future__ import annotations

import pytest
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseServerError
from django.test import RequestFactory

from emotionsite.apijson import as_json
from projects.access import Action, least_role
from projects.models import Project
from sessions_app.models import Session


def _json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


@pytest.mark.parametrize(
    "path",
    ["/api/sessions/null,null/", "/api/nothing/", "/api/sessions/1/markers/x/", "/api/projects/-1/members/"],
)
def test_unmatched_api_paths_are_json_404(team, path):
    assert _json_error(team.api("owner").get(path), 404) == {"detail": "Not found."}
    assert team.api("owner").get("/no/such/page/")["Content-Type"].startswith("text/html")  # pages stay pages


def test_unknown_ids_and_methods_are_json(team):
    api = team.api("owner")
    assert _json_error(api.get("/api/sessions/987654/"), 404)
    not_allowed = _json_error(api.put("/api/sessions/"), 405)
    assert "POST" in api.put("/api/sessions/")["Allow"] and not_allowed["detail"]
    assert _json_error(team.api(None).get("/api/projects/"), 401)
    assert api.get("/api/docs/")["Content-Type"].startswith("text/html")  # the docs are a page


def test_empty_or_malformed_upload_is_a_json_400_naming_the_file(team):
    api = team.api("owner")
    for body, content_type in (
        (b"", "multipart/form-data"),  # no boundary, no body
        (b"", "multipart/form-data; boundary=xyz"),
        (b"--xyz\r\nnot a part", "multipart/form-data; boundary=xyz"),
    ):
        answer = _json_error(api.generic("POST", "/api/sessions/", body, content_type=content_type), 400)
        assert "file" in answer, answer


def test_title_length_as_the_schema_says(team, tmp_path, settings):
    """200 characters pass the form (the schema's maxLength, Session.title's); 201 are refused by name."""
    settings.EMOTION_STAGING_DIR = tmp_path
    api = team.api("owner")
    schema = api.get("/api/schema/?format=json").json()
    title = schema["components"]["schemas"]["UploadRequest"]["properties"]["title"]
    assert title["maxLength"] == Session._meta.get_field("title").max_length == 200
    name = schema["components"]["schemas"]["ProjectInputRequest"]["properties"]["name"]
    assert name["maxLength"] == Project._meta.get_field("name").max_length

    def upload(text: str) -> dict:
        data = {"file": ("clip.mp4", b"not a video", "video/mp4"), "title": text}
        return api.post("/api/sessions/", {k: v if k == "title" else _file(*v) for k, v in data.items()}).json()

    assert "title" not in upload("t" * 200)  # refused for its file only
    assert "title" in upload("t" * 201)


def _file(name: str, content: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def test_errors_of_other_middleware_become_json():
    request = RequestFactory().get("/api/sessions/")
    limited = HttpResponse("Too many uploads. Try again in 5 s.", status=429, content_type="text/plain")
    limited["Retry-After"] = "5"
    answer = as_json(request, limited)
    assert (answer.status_code, answer["Retry-After"], answer["Content-Type"]) == (429, "5", "application/json")
    assert answer.content == b'{"detail": "Too many uploads. Try again in 5 s."}'
    crashed = as_json(request, HttpResponseServerError("<h1>Server Error (500)</h1>"))
    assert (
        crashed.status_code == 500 and b"<h1>" not in crashed.content and crashed["Content-Type"] == "application/json"
    )
    page = RequestFactory().get("/sessions/1/")
    assert as_json(page, HttpResponseNotFound("<h1>Not found</h1>")).content == b"<h1>Not found</h1>"


def test_rate_limit_answers_json(team, settings):
    settings.EMOTION_LIMITS = {**settings.EMOTION_LIMITS, "api": "1/minute"}
    api = team.api("owner")
    assert api.get("/api/projects/").status_code == 200
    refused = api.get("/api/projects/")
    _json_error(refused, 429)
    assert int(refused["Retry-After"]) >= 1


def test_schema_documents_roles_and_statuses(team):
    schema = team.api(None).get("/api/schema/?format=json").json()
    roles = {least_role(a) for a in Action} | {"any signed-in user"}
    seen = {}
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            label = f"{method.upper()} {path}"
            role = op.get("x-required-role")
            assert role and role.split(" (")[0] in roles, f"{label}: x-required-role {role!r}"
            assert op["description"].startswith(f"**Required role:** {role}."), label
            for status in ("400", "401", "403", "404", "405", "413", "429"):
                content = op["responses"][status]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/Error"}, (label, status)
            assert all(s.startswith(("2", "4")) or s == "507" for s in op["responses"]), (label, op["responses"])
            seen[label] = role
    assert seen["GET /api/sessions/{session_id}/"] == "viewer"
    assert seen["POST /api/sessions/{session_id}/markers/"] == "analyst"
    assert seen["POST /api/sessions/"] == "analyst"
    assert seen["PATCH /api/projects/{project_id}/"] == "owner"
    assert seen["DELETE /api/projects/{project_id}/"] == "owner"
    assert seen["GET /api/projects/"] == "any signed-in user"
    upload = schema["paths"]["/api/sessions/"]["post"]["responses"]
    assert {"201", "400", "413", "415", "507"} <= upload.keys()
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
