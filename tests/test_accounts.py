from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_signup_logs_in_and_shows_empty_list(client):
    response = client.post(
        reverse("signup"), {"username": "alice", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123"}
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="alice").exists()
    page = client.get("/")
    assert page.status_code == 200 and "No sessions yet" in page.content.decode()


def test_login_and_logout(client, user, password):
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_password_change(auth_client, user, password):
    response = auth_client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "An0ther-secret!", "new_password2": "An0ther-secret!"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("An0ther-secret!")


def test_repeated_failures_lock_the_login(client, user, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    # Even the right password is refused while locked.
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 429


def test_admin_is_for_staff(client, user):
    assert client.get("/admin/").status_code == 302
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200


def test_healthz_reports_services(client):
    body = client.get("/healthz").json()
    assert body["database"] == "up" and body["redis"] == "up"
    assert body["workers"]["status"] in {"up", "partial", "down"}
    assert set(body["workers"]["queues"]) == {"live", "inference", "summaries", "default"}
