"""How a user is named on pages, in exports and in the exchange file: the one rule.

Their full name when they gave one, else their user name. ``display_name`` is also the template
filter ``{{ user|display_name }}`` (a builtin: casestudy/settings.py loads this module for every
template).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import template

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

register = template.Library()


def name_of(first: str, last: str, username: str) -> str:
    """The rule on a row of values (``values("user__first_name", ...)``); what
    ``AbstractUser.get_full_name`` does, then the user name."""
    return f"{first or ''} {last or ''}".strip() or username


@register.filter
def display_name(user: AbstractUser | AnonymousUser | None | str) -> str:
    """A user's name as shown; "" for no user (a deleted account, the system)."""
    if user is None or isinstance(user, str):  # a template's missing variable is ""
        return ""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()
