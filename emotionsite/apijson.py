"""Every answer under ``/api/`` is JSON and documented: the middleware, DRF's exception handler and the schema hook.

- :func:`api_json_errors` (middleware): an error answered under ``/api/`` by Django rather than by a DRF view (an
  unmatched path or id such as ``/api/sessions/null,null/``, an uncaught error, a plain-text refusal of another
  middleware) becomes ``{"detail": ...}`` with ``application/json``, status and headers kept. The browsable docs
  (``/api/docs/``) stay HTML.
- :func:`exception_handler` (DRF): the rate limits' refusals as 429 (``ratelimit.api_exception_handler``), and
  every error body carries ``detail`` (a serializer's field errors stay beside it).
- :func:`postprocess_schema` (drf-spectacular hook): every operation documents the role it needs
  (``x-required-role``, also at the head of its description) and the statuses any API request can get, each
  with the JSON ``Error`` schema; views document only what is their own (201, 409, 507...).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse
from django.utils.decorators import sync_and_async_middleware

from emotionsite import ratelimit

API_PREFIX = "/api/"
HTML_PAGES = ("/api/docs/",)  # Swagger UI: a page, not an API answer
ROLE_KEY = "x-required-role"  # viewer, analyst or owner (projects.access.least_role), or:
SIGNED_IN = "any signed-in user"  # what it lists or makes is the user's own

# What a client reads for an error Django answered (its own pages are HTML, or empty).
MESSAGES = {
    400: "The request could not be read.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The request is too large.",
    429: "Too many requests.",
    500: "Something went wrong on the server; it has been logged.",
}
REPLACED_HEADERS = {"content-type", "content-length"}


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX) and not path.startswith(HTML_PAGES)


def _is_json(response: HttpResponse) -> bool:
    return (response.get("Content-Type") or "").split(";")[0].strip().lower().endswith("json")


def as_json(request: Any, response: HttpResponse) -> HttpResponse:
    """``response`` as a JSON error when it is a non-JSON error under ``/api/``; else unchanged."""
    if response.status_code < 400 or getattr(response, "streaming", False) or not is_api(request.path):
        return response
    if _is_json(response) and response.content:
        return response
    detail = MESSAGES.get(response.status_code)
    if detail is None:
        detail = MESSAGES[500] if response.status_code >= 500 else HTTPStatus(response.status_code).phrase + "."
    if (response.get("Content-Type") or "").startswith("text/plain") and response.content:
        detail = response.content.decode("utf-8", "replace").strip()[:500]  # a refusal in words (429)
    answer = HttpResponse(json.dumps({"detail": detail}), status=response.status_code, content_type="application/json")
    for name, value in response.headers.items():
        if name.lower() not in REPLACED_HEADERS:  # Retry-After, Allow, security headers...
            answer[name] = value
    return answer


@sync_and_async_middleware
def api_json_errors(get_response):
    """Middleware: Django's own error answers under ``/api/`` (HTML 404 pages, empty 400s...) become JSON."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return as_json(request, await get_response(request))

    else:

        def middleware(request):
            return as_json(request, get_response(request))

    return middleware


def exception_handler(exc, context):
    """DRF's exception handler: rate limits as 429, and a ``detail`` in every error body."""
    response = ratelimit.api_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": "Check the fields named below.", **response.data}
    elif response is not None and not isinstance(response.data, dict):
        response.data = {"detail": "Check the request.", "errors": response.data}
    return response


# --------------------------------------------------------------------------- the schema
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` says what went wrong in words; a refused field also has its own key "
    "with a list of messages.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "additionalProperties": True,
}
# status -> when every operation can get it
COMMON = {
    400: "The request could not be read (a malformed body, a field refused: `detail` says which).",
    401: "No valid credentials: sign in, or send `Authorization: Token <key>`.",
    403: "Your role in the object's project does not allow this (or a browser request without its CSRF token).",
    404: "No such object, or not in a project you are a member of (the same answer: ids of other projects stay "
    "unknown); also any unmatched path under /api/.",
    405: "The method is not allowed on this path.",
    413: "The request body is over the limit (`EMOTION_REQUEST_MAX_MB`; uploads `EMOTION_UPLOAD_MAX_MB`).",
    429: "Over a rate limit (`EMOTION_LIMIT_API`, and the operation's own): `Retry-After` says when to try again.",
}
WITH_BODY = {415: "The request body's content type is not one this operation reads."}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


# What DRF's text fields refuse beyond their lengths, said in the request schemas: a NUL character, and (a
# required field, trimmed of its spaces) nothing but spaces.
NO_NUL = "^[^\\x00]*$"
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"


def _text_rules(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop and "pattern" not in prop:
            prop["pattern"] = NOT_BLANK if prop.get("minLength", 0) >= 1 else NO_NUL


def postprocess_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular's POSTPROCESSING_HOOKS entry (after its enum hook)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: what clients send
            _text_rules(schema)
    schemas["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            role = operation.get(ROLE_KEY)
            if role:
                head = f"**Required role:** {role}."
                operation["description"] = f"{head}\n\n{operation.get('description', '')}".strip()
            responses = operation["responses"]
            statuses = {**COMMON, **(WITH_BODY if "requestBody" in operation else {})}
            for status, description in statuses.items():
                responses.setdefault(str(status), _error(description))
            for status, answer in responses.items():
                if status.startswith(("4", "5")):  # a view's own 400/409/507: the same Error body
                    answer["content"] = _error("")["content"]
    return result
