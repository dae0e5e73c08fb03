"""Content-Security-Policy (issue 13, finding 9): every page carries one that allows scripts only from the site
itself, no template holds an inline script or event handler, and /api/docs/ serves Swagger UI locally.

The browser test opens the main pages, the admin and the API docs in one headless Chromium, and fails on any
CSP violation Chromium reports, any page error and any request that leaves the site."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile

from conftest import ROOT, chromium_page, log_in
from people.models import Person
from sessions_app.models import Session

WANTED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "connect-src": "'self' ws: wss:",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def _policy(header: str) -> dict[str, str]:
    parts = (p.strip().split(None, 1) for p in header.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def _assert_policy(header: str | None, where: str) -> None:
    assert header, f"{where}: no Content-Security-Policy header"
    policy = _policy(header)
    for directive, sources in WANTED.items():
        assert set(policy.get(directive, "").split()) == set(sources.split()), f"{where}: {directive} is {policy}"


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]*\sstyle\s*=", re.I)


def test_templates_hold_no_inline_script_handler_or_style():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for name, pattern in (("inline <script>", INLINE_SCRIPT), ("on* handler", HANDLER), ("style=", STYLE_ATTR)):
            found += [f"{path.relative_to(ROOT)}: {name}: {m.group(0)[:80]}" for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


def test_pages_and_api_docs_send_the_policy(world):
    pages = [(None, "/accounts/login/"), ("owner", "/"), ("owner", f"/sessions/{world.session.pk}/")]
    pages += [("owner", "/people/"), ("owner", "/settings/tokens/"), ("staff", "/admin/"), (None, "/api/docs/")]
    for who, url in pages:
        r = world.client(who).get(url)
        assert r.status_code == 200, url
        _assert_policy(r.get("Content-Security-Policy"), url)
    docs = world.client(None).get("/api/docs/").content.decode()
    sources = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', docs)
    assert sources and all(s.startswith(("/static/", "/api/docs/")) for s in sources), sources
    assert not INLINE_SCRIPT.search(docs) and "<style" not in docs, "the docs page has inline code"
    script = next(s for s in sources if s.startswith("/api/docs/"))
    r = world.client(None).get(script.replace("&amp;", "&"))
    assert r.status_code == 200 and "SwaggerUIBundle" in r.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_run_under_the_policy_in_chromium(user, password, daphne_server):
    from tests.replay.conftest import add_observations

    user.is_staff = user.is_superuser = True
    user.save()
    running = Session.objects.create(owner=user, title="Running", status=Session.Status.ANALYSING, progress=0.3)
    done = Session.objects.create(owner=user, title="Done", status=Session.Status.DONE, progress=1.0, duration=2.0)
    done.playable.save("clip.mp4", ContentFile(b"not really a video"), save=True)
    person = Person.objects.create(owner=user, number=1, name="Alice")
    add_observations(done, person, [(f, "happy", 0.8, 0.5) for f in range(10)], 0, "0:1")
    pages = [
        "/",
        "/sessions/new/",
        f"/sessions/{running.pk}/",
        f"/sessions/{done.pk}/",
        "/people/",
        f"/people/{person.pk}/",
        "/privacy/",
        "/privacy/audit/",
        "/settings/llm/",
        "/settings/tokens/",
        "/accounts/password/",
        "/admin/",
        "/admin/people/person/",
        "/admin/people/person/name-faces/",
        f"/admin/sessions_app/session/{done.pk}/change/",
        "/admin/api_tokens/apitoken/",
        "/api/docs/",
    ]
    violations: list[str] = []
    errors: list[str] = []
    outside: list[str] = []
    sockets: list[str] = []
    headers: dict[str, str | None] = {}
    dialogs: list[str] = []
    with chromium_page() as page:  # the ORM must not run beside its event loop: checks come after
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
        page.on(
            "request", lambda r: r.url.startswith(("http", "ws")) and not _same_site(r.url) and outside.append(r.url)
        )
        page.on("websocket", lambda ws: sockets.append(ws.url))
        log_in(page, daphne_server, user.username, password)
        for url in pages:
            response = page.goto(f"{daphne_server}{url}")
            headers[url] = response.headers.get("content-security-policy")
            if url == f"/sessions/{done.pk}/":
                page.wait_for_selector("#replay[data-ready='1']")
            elif url == "/api/docs/":
                page.wait_for_selector("#swagger-ui .opblock")  # the init script ran and read the schema
        # the confirmations that were inline handlers: dismissing one keeps the account
        page.goto(f"{daphne_server}/privacy/")
        page.fill("#account-delete-form input[name=password]", password)
        page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.click("#account-delete-form button[type=submit]")
        page.wait_for_timeout(300)
        assert page.url.endswith("/privacy/")
    for url, header in headers.items():
        _assert_policy(header, url)
    assert not violations, "\n".join(violations)
    assert not errors, errors
    assert not outside, f"requests that left the site: {outside}"
    assert any(s.endswith(f"/ws/sessions/{running.pk}/") for s in sockets), sockets  # the progress script ran
    assert dialogs and "Delete your account" in dialogs[0]
    assert type(user).objects.filter(pk=user.pk).exists()


def _same_site(url: str) -> bool:
    return re.match(r"^(https?|wss?)://127\.0\.0\.1:\d+/", url) is not None or url.startswith(("data:", "blob:"))
