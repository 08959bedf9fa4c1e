"""Request-level security helpers that settings refer to by dotted path."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for login throttling (django-axes).

    Behind a proxy (``BEHIND_PROXY``) every request arrives from the proxy, so throttling by
    REMOTE_ADDR would lock everyone out at once. Each proxy appends the address it received the
    request from to X-Forwarded-For; only the last ``PROXY_COUNT`` entries were written by our own
    proxies, so the client is the entry just before those (anything further left is
    client-supplied and may be forged).
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) >= settings.PROXY_COUNT:
        return forwarded[-settings.PROXY_COUNT]
    return remote


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form post (no or stale CSRF token) explained in the site's own page."""
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
