"""Accounts: login throttling (django-axes), password rules, sessions that expire, invitations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from .factories import UserFactory

GOOD = "correct horse battery"


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def login(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_after_five_wrong_passwords_the_sixth_attempt_is_locked_out(axes_on, db):
    UserFactory(username="bob")
    client = Client()
    for _ in range(4):
        r = login(client, "bob", "wrong password")
        assert r.status_code == 200, "a wrong password shows the form again"
    # The fifth failure reaches the limit: the answer is the lockout page.
    r = login(client, "bob", "wrong password")
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session
    # The sixth attempt is refused even with the right password.
    r = login(client, "bob", GOOD)
    assert r.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in r.templates]
    assert "_auth_user_id" not in client.session


def test_wrong_passwords_from_elsewhere_do_not_lock_the_user_out(axes_on, db):
    UserFactory(username="alice")
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    for _ in range(6):
        login(Client(), "alice", "wrong password", **attacker)
    assert login(Client(), "alice", GOOD, **attacker).status_code == 429, "the attacker is locked"
    # The owner, from her own address, still logs in.
    assert login(Client(), "alice", GOOD, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_one_persons_typos_do_not_lock_out_everyone_behind_the_same_address(axes_on, db):
    UserFactory(username="bob")
    UserFactory(username="alice")
    office = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(5):
        login(Client(), "bob", "wrong password", **office)
    assert login(Client(), "bob", GOOD, **office).status_code == 429
    assert login(Client(), "alice", GOOD, **office).status_code == 302


def test_a_lock_is_lifted_early_by_the_documented_command(axes_on, db):
    from django.core.management import call_command

    UserFactory(username="bob")
    for _ in range(5):
        login(Client(), "bob", "wrong password")
    assert login(Client(), "bob", GOOD).status_code == 429
    call_command("axes_reset_username", "bob")
    assert login(Client(), "bob", GOOD).status_code == 302


def test_behind_a_proxy_throttling_counts_the_client_not_the_proxy(axes_on, settings, db):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    UserFactory(username="alice")
    attacker = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for _ in range(6):
        login(Client(), "alice", "wrong password", **attacker)
    # Another client behind the same proxy still logs in.
    colleague = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    client = Client()
    r = login(client, "alice", GOOD, **colleague)
    assert r.status_code == 302
    # A forged left-most entry does not let the attacker escape the lock.
    forged = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.9"}
    assert login(Client(), "alice", GOOD, **forged).status_code == 429


def test_a_right_password_logs_in_and_resets_the_count(axes_on, db):
    UserFactory(username="bob")
    client = Client()
    for _ in range(4):
        login(client, "bob", "wrong password")
    assert login(client, "bob", GOOD).status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "bob", "wrong password")
    assert login(client, "bob", GOOD).status_code == 302, "the count restarted after success"


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("kort1", "password_too_short"),
        ("password123", "password_too_common"),
        ("12345678901234", "password_entirely_numeric"),
        ("bob-the-researcher", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused_when_changing_password(db, password, complaint):
    user = UserFactory(username="bob-the-researcher", first_name="Bob")
    client = Client()
    client.force_login(user)
    r = client.post(
        reverse("password_change"),
        {"old_password": GOOD, "new_password1": password, "new_password2": password},
    )
    assert r.status_code == 200
    codes = [e.code for e in r.context["form"].errors.as_data()["new_password2"]]
    assert complaint in codes
    user.refresh_from_db()
    assert user.check_password(GOOD), "the old password is still the one in use"


def test_a_strong_password_is_accepted(db):
    user = UserFactory(username="bob")
    client = Client()
    client.force_login(user)
    new = "Fjordhest og blåbær 2024"
    r = client.post(
        reverse("password_change"),
        {"old_password": GOOD, "new_password1": new, "new_password2": new},
    )
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_a_session_expires_after_the_session_age(bob, project):
    client = Client()
    client.force_login(bob)
    url = reverse("coding:project-detail", args=[project.pk])
    assert client.get(url).status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    Session.objects.filter(pk=session.pk).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    r = client.get(url)
    assert r.status_code == 302
    assert r.url.startswith(reverse("login"))


def test_sessions_end_with_the_browser_and_last_a_working_day_at_most(bob, settings):
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    client = Client()
    r = login(client, "bob", GOOD)
    assert r.status_code == 302
    cookie = r.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["expires"] and not cookie["max-age"], "a browser-session cookie"
    assert cookie["httponly"]
    session = Session.objects.get(session_key=cookie.value)
    left = (session.expire_date - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < left <= settings.SESSION_COOKIE_AGE


def test_logging_out_ends_the_session_on_the_server(bob, project):
    client = Client()
    client.force_login(bob)
    key = client.session.session_key
    r = client.post(reverse("logout"))
    assert r.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    r = client.get(reverse("coding:project-detail", args=[project.pk]))
    assert r.status_code == 302
