"""Security middleware: the Content Security Policy (scripts only from our own static files,
never inline) and a limit on request size."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from coding.tasks import safe_request

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Code colours are data, set as inline style attributes on highlights and charts.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY)
        return response


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is far larger than any upload we accept.

    Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams file uploads to a
    temporary file whatever their size; this stops a huge body before it is read. The proxy's
    own limit (nginx client_max_body_size, deploy/README.md) should match.
    """

    # Room for the multipart envelope and the other fields of the form.
    MARGIN = 1024 * 1024
    DRAIN_FACTOR = 4

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = max(settings.UPLOAD_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + self.MARGIN
        if length > limit:
            return self.refuse(request, length, limit)
        return self.get_response(request)

    def refuse(self, request: HttpRequest, length: int, limit: int) -> HttpResponse:
        """The app's own page, decided from Content-Length before the body is read.

        A body up to DRAIN_FACTOR × the limit is read and thrown away first: a server that
        answers while the browser still sends makes the browser (and TLS proxies) show a cut
        connection instead of the page. Anything larger is answered at once.
        """
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        translation.activate(
            language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        )
        message = _(
            "The upload is %(got)s MB; files may be at most %(mb)s MB. Nothing was saved."
        ) % {
            "got": f"{length / (1024 * 1024):.1f}",
            "mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024),
        }
        if length <= self.DRAIN_FACTOR * limit:
            stream = request.META.get("wsgi.input")
            left = length
            while stream is not None and left > 0:
                chunk = stream.read(min(left, 256 * 1024))
                if not chunk:
                    break
                left -= len(chunk)
        response = render(request, "413.html", {"message": message}, status=413)
        response["Connection"] = "close"
        return response


class DefaultLanguageMiddleware(LocaleMiddleware):
    """Norwegian Bokmål unless the user chose another language with the switcher.

    Django's LocaleMiddleware would follow the browser's Accept-Language; this tool's users work
    in Norwegian by default whatever their browser says.
    """

    def process_request(self, request: HttpRequest) -> None:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class SafeRequestMiddleware:
    """Marks the answering of a GET, HEAD or OPTIONS request, during which no job may start
    (``tasks.assert_may_start_jobs``): reading a page never runs work, in any runner mode, and
    a cross-site link cannot start any."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in self.SAFE:
            return self.get_response(request)
        token = safe_request.set(request.method)
        try:
            return self.get_response(request)
        finally:
            safe_request.reset(token)
