"""The API tokens page: a user's own tokens (name, prefix, dates), creating one (its key shown once) and
revoking one. Another user's token answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api_tokens import services
from api_tokens.forms import TokenForm
from api_tokens.models import ApiToken


@never_cache  # the response that shows a new key must not be kept by any cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _, new_key = services.create_token(request.user, form.cleaned_data["name"], request=request)
        except services.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            form = TokenForm()
    context = {
        "tokens": services.live_tokens(request.user),
        "form": form,
        "new_key": new_key,
        "ttl_days": services.ttl_days(),
    }
    return render(request, "api_tokens/tokens.html", context)


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    label = token.name or token.prefix
    services.revoke_token(token, actor=request.user, request=request)
    messages.success(request, f"Token “{label}” revoked: requests that use it are now refused.")
    return redirect("api_tokens")
