from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from emotionsite import ratelimit, views
from emotionsite.health import health_report


def healthz(request):
    # anyone may ask: count per signed-in user, else per address (429 through RateLimitMiddleware)
    who = f"user-{request.user.pk}" if request.user.is_authenticated else ratelimit.client_address(request)
    ratelimit.hit("healthz", who)
    report = health_report(details=request.user.is_staff)  # worker names name hosts: staff only
    # 503 only when the site cannot work; a queue without a worker is "degraded": pages still answer
    return JsonResponse(report, status=503 if report["status"] == "error" else 200)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("staff/workers/", views.workers_page, name="workers"),
    # browsers ask for /favicon.ico whatever the page links; send them to the linked SVG
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True), name="favicon"),
    path("api/", include("sessions_app.api_urls")),
    path("api/", include("people.api_urls")),
    path("api/", include("summaries.api_urls")),
    path("api/", include("projects.api_urls")),
    path("api/", include("studies.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("settings/llm/", include("summaries.settings_urls")),
    path("settings/tokens/", include("api_tokens.urls")),
    path("projects/", include("projects.urls")),
    path("invite/", include("projects.invite_urls")),
    path("", include("sessions_app.urls")),
    path("", include("people.urls")),
    path("", include("audit.urls")),
    path("", include("summaries.urls")),
    path("", include("studies.urls")),
]
