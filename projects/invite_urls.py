"""``/invite/<token>/``: an invitation link (projects.views.invitation)."""

from __future__ import annotations

from django.urls import path

from projects import views

urlpatterns = [path("<str:token>/", views.invitation, name="invitation")]
