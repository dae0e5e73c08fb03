"""The HTTP -> HTTPS redirect, sent to the port HTTPS is served on.

Django's SecurityMiddleware redirects ``http://host:8000/x`` to ``https://host:8000/x``: right behind a
proxy on the standard ports, wrong where Daphne serves HTTP and HTTPS on two ports (run.sh with
EMOTION_HTTPS=1). There this middleware, placed just before Django's, redirects first: same host name,
EMOTION_HTTPS_PORT instead of the HTTP port. Everything else (HSTS, the other headers, and the redirect
where no HTTPS port is configured) stays with Django's middleware.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.http.request import split_domain_port
from django.middleware.security import SecurityMiddleware


class HttpsPortRedirectMiddleware(SecurityMiddleware):
    """Reuses SecurityMiddleware's decision (SECURE_SSL_REDIRECT, its exempt paths), not its headers."""

    def process_request(self, request):
        port = settings.EMOTION_HTTPS_REDIRECT_PORT
        if port is None or self.redirect_host or super().process_request(request) is None:
            return None
        domain, _ = split_domain_port(request.get_host())  # get_host() has checked ALLOWED_HOSTS
        netloc = domain if port == 443 else f"{domain}:{port}"
        return HttpResponsePermanentRedirect(f"https://{netloc}{request.get_full_path()}")

    def process_response(self, request, response):
        return response  # the headers are Django's SecurityMiddleware's job
