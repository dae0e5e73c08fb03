"""The HTTP -> HTTPS redirect goes to EMOTION_HTTPS_PORT (run.sh's HTTPS), keeping the host name."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from emotionsite.https_redirect import HttpsPortRedirectMiddleware


def _answer(settings, host: str, path: str = "/x/?a=1", port: int | None = 8443):
    settings.SECURE_SSL_REDIRECT = True
    settings.EMOTION_HTTPS_REDIRECT_PORT = port
    settings.ALLOWED_HOSTS = ["emotion.lan", "[::1]", "localhost"]
    middleware = HttpsPortRedirectMiddleware(lambda request: HttpResponse("page"))
    return middleware(RequestFactory().get(path, HTTP_HOST=host))


@pytest.mark.parametrize(
    ("host", "port", "location"),
    [
        ("emotion.lan:8000", 8443, "https://emotion.lan:8443/x/?a=1"),
        ("emotion.lan", 8443, "https://emotion.lan:8443/x/?a=1"),
        ("[::1]:8000", 9443, "https://[::1]:9443/x/?a=1"),
        ("localhost:8000", 443, "https://localhost/x/?a=1"),
    ],
)
def test_redirect_goes_to_the_https_port(settings, host, port, location):
    response = _answer(settings, host, port=port)
    assert response.status_code == 301 and response["Location"] == location


def test_without_https_port_and_for_healthz_nothing_changes(settings):
    assert _answer(settings, "emotion.lan:8000", port=None).content == b"page"  # Django's middleware decides
    assert _answer(settings, "emotion.lan:8000", path="/healthz").content == b"page"  # exempt
    assert "Strict-Transport-Security" not in _answer(settings, "emotion.lan", port=None)
