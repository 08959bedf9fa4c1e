"""Views, one module per page group. urls.py names them by module."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that passed django-htmx's middleware: ``request.htmx`` is truthy when htmx sent
    it (the ``HX-Request`` header). For the type checker; every request is one."""

    htmx: HtmxDetails
