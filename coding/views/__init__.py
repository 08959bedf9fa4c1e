"""Views, one module per page group. urls.py names them by module."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    """A request to a view under ``login_required``: ``request.user`` is a signed-in User, not
    AnonymousUser. For the type checker (the request object is Django's own)."""

    user: User


class HtmxHttpRequest(AuthenticatedHttpRequest):
    """A signed-in request that passed django-htmx's middleware: ``request.htmx`` is truthy when
    htmx sent it (the ``HX-Request`` header). For the type checker; every request is one."""

    htmx: HtmxDetails
