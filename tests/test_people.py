"""A user's display name: one rule (coding.people) for pages, exports and the exchange file."""

from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template

from coding.people import display_name, name_of

from .factories import UserFactory


def test_the_full_name_when_given_else_the_user_name(db):
    assert display_name(UserFactory(username="alice", first_name="Alice", last_name="Ås")) == (
        "Alice Ås"
    )
    assert display_name(UserFactory(username="bob", first_name="", last_name="")) == "bob"
    # A last name alone is a name too (what Django's get_full_name gives).
    assert display_name(UserFactory(username="sue", first_name="", last_name="Berg")) == "Berg"


def test_no_user_has_no_name():
    assert display_name(None) == ""
    assert display_name(AnonymousUser()) == ""


def test_a_row_of_values_is_named_alike(db):
    for first, last in [("Alice", "Ås"), ("", ""), ("", "Berg"), ("Kari", "")]:
        u = UserFactory(first_name=first, last_name=last)
        assert name_of(u.first_name, u.last_name, u.username) == display_name(u)


def test_the_template_filter_is_on_every_page(db):
    """A builtin: no {% load %}; a missing user renders as nothing, so |default still works."""
    alice = UserFactory(username="alice", first_name="Alice", last_name="Ås")
    t = Template('{{ u|display_name }}|{{ missing|display_name|default:"someone" }}')
    assert t.render(Context({"u": alice})) == "Alice Ås|someone"
    t = Template(
        "{% load i18n %}"
        "{% blocktranslate with who=u|display_name %}by {{ who }}{% endblocktranslate %}"
    )
    assert t.render(Context({"u": UserFactory(username="bob")})) == "by bob"
