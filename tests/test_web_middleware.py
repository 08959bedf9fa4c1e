"""coding/web/middleware.py: the request size limit is decided from Content-Length before the
body is read, and copes with a header that lies."""

import io

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation

from coding.web.middleware import RequestSizeLimitMiddleware


@pytest.fixture(autouse=True)
def _restore_language():
    """The refusal activates the user's language for its page; keep it out of other tests."""
    with translation.override("en"):
        yield


def _middleware():
    seen = []

    def view(request):
        seen.append(request)
        return HttpResponse("ok")

    return RequestSizeLimitMiddleware(view), seen


def _limit(settings) -> int:
    return (
        max(settings.UPLOAD_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        + RequestSizeLimitMiddleware.MARGIN
    )


def test_a_content_length_that_is_no_number_is_left_to_django(settings):
    mw, seen = _middleware()
    request = RequestFactory().post("/", data=b"x", content_type="text/plain")
    request.META["CONTENT_LENGTH"] = "lots"
    assert mw(request).status_code == 200 and seen == [request]


def test_a_body_just_at_the_limit_passes(settings):
    mw, seen = _middleware()
    request = RequestFactory().post("/", data=b"", content_type="text/plain")
    request.META["CONTENT_LENGTH"] = str(_limit(settings))
    assert mw(request).status_code == 200


def test_a_declared_body_over_the_limit_is_refused_even_when_fewer_bytes_arrive(settings):
    """The client declared more than it sent (a cut upload): draining stops at the end of the
    stream instead of waiting for bytes that never come."""
    settings.UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    mw, seen = _middleware()
    request = RequestFactory().post("/", data=b"", content_type="text/plain")
    declared = _limit(settings) + 1
    request.META["CONTENT_LENGTH"] = str(declared)
    request.META["wsgi.input"] = io.BytesIO(b"x" * 1000)
    response = mw(request)
    assert response.status_code == 413 and seen == []
    assert response["Connection"] == "close"
    assert "files may be at most 2 MB" in response.content.decode()


def test_the_refusal_speaks_the_users_language(settings):
    settings.UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    mw, _seen = _middleware()
    request = RequestFactory().post("/", data=b"", content_type="text/plain")
    request.META["CONTENT_LENGTH"] = str(100 * _limit(settings))  # too big to drain
    request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = mw(request).content.decode()
    request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = "nb"
    norwegian = mw(request).content.decode()
    assert "Nothing was saved" in english
    assert "Nothing was saved" not in norwegian
