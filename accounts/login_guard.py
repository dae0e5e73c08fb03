"""Wires the per-username log-in slow-down (services/login_throttle.py) into Django: failed log-ins are
counted from ``user_login_failed`` (every log-in form, the admin's included), and attempts on a slowed
username are answered 429 with ``Retry-After`` before the password is checked."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.shortcuts import render

from accounts import login_throttle

LOGIN_VIEWS = frozenset({"login", "admin:login"})
_KNOWN_DEVICE_ATTR = "_emotion_known_device_for"


@receiver(user_login_failed, dispatch_uid="emotion-count-login-failure")
def count_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = credentials.get("username")
    if username:
        login_throttle.record_failure(str(username))


@receiver(user_logged_in, dispatch_uid="emotion-remember-login-device")
def remember_device(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None:
        setattr(request, _KNOWN_DEVICE_ATTR, user.get_username())


class LoginSlowdownMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        username = getattr(request, _KNOWN_DEVICE_ATTR, None)
        if username:
            response.set_cookie(
                login_throttle.KNOWN_DEVICE_COOKIE,
                login_throttle.known_device_token(username),
                max_age=login_throttle.KNOWN_DEVICE_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request: Any, view_func: Any, args: Any, kwargs: Any) -> Any:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in LOGIN_VIEWS:
            return None
        username = request.POST.get("username", "")
        device = request.COOKIES.get(login_throttle.KNOWN_DEVICE_COOKIE)
        if not username or login_throttle.is_known_device(device, username):
            return None
        wait = login_throttle.retry_after(username)
        if wait <= 0:
            return None
        response = render(request, "registration/slowed_down.html", {"wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
