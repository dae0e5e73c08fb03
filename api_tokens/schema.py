"""The OpenAPI security scheme of ApiTokenAuthentication: drf-spectacular's knox one, which matches no subclass."""

from __future__ import annotations

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme


class ApiTokenScheme(KnoxTokenScheme):
    target_class = "api_tokens.auth.ApiTokenAuthentication"
    name = "apiToken"
