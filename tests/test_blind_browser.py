"""Blind coding in a real Chromium (Playwright + live_server): the owner turns it on from the
transcript's page; the researcher then sees only his own marks (highlights, stripes, the coder
list) while a supervisor still sees both coders'."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding import services
from coding.models import AuditAction, AuditEvent, BlindMode, Membership, Role

from .conftest import PASSWORD
from .factories import UserFactory
from .workspace_data import make_transcript, span_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_transcript(page, live_server, transcript) -> None:
    page.goto(live_server.url + reverse("coding:transcript-detail", args=[transcript.pk]))
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")


def painted(page) -> tuple[set[str], set[str], set[str]]:
    """(codes of the stripes, codes of the highlighted text, coders offered) as painted."""
    page.wait_for_function("() => document.querySelectorAll('.stripe').length > 0")
    stripes = set(page.eval_on_selector_all(".stripe", "els => els.map((e) => e.dataset.code)"))
    coders = set(
        page.eval_on_selector_all(
            "#ws-coder option", "els => els.map((e) => e.value).filter(Boolean)"
        )
    )
    marked = set(
        page.evaluate(
            "() => window.wsDebug.excerpts().flatMap((ex) => ex.codings.map((c) => String(c[1])))"
        )
    )
    return stripes, marked, coders


def test_blind_mode_shows_a_researcher_only_his_own_marks(
    page, live_server, alice, bob, sue, case, codebook, codes
):
    kari = UserFactory(username="kari", first_name="Kari", last_name="Blindersen")
    Membership.objects.create(project=case.project, user=kari, role=Role.RESEARCHER)
    transcript = make_transcript(case, alice)
    s, e = span_of(transcript, "samarbeider tett med NAV")
    services.excerpt_code(transcript=transcript, start=s, end=e, codes=codes[:1], coder=bob)
    s, e = span_of(transcript, "Brukerne blir hørt")
    services.excerpt_code(transcript=transcript, start=s, end=e, codes=codes[1:2], coder=kari)
    mine, karis = str(codes[0].pk), str(codes[1].pk)

    # Before: bob sees kari's coding too.
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    assert painted(page)[0] == {mine, karis}

    # The owner turns blind coding on for this transcript from its page.
    log_in(page, live_server, "alice")
    open_transcript(page, live_server, transcript)
    page.select_option(".ws-blind-form select[name=blind_mode]", BlindMode.ON)
    with page.expect_navigation():
        page.click(".ws-blind-form button[type=submit]")
    transcript.refresh_from_db()
    assert transcript.blind_mode == BlindMode.ON
    assert AuditEvent.objects.filter(
        transcript=transcript, action=AuditAction.BLIND_CODING_ON, actor=alice
    ).exists()

    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    stripes, marked, coders = painted(page)
    assert stripes == {mine}
    assert marked == {mine}
    assert coders <= {str(bob.pk)}
    assert page.locator("[data-blinded]").is_visible()
    assert "Brukerne blir hørt" in page.inner_text("#ws-doc")  # the text itself stays

    log_in(page, live_server, "sue")
    open_transcript(page, live_server, transcript)
    stripes, marked, coders = painted(page)
    assert stripes == {mine, karis}
    assert marked == {mine, karis}
    assert {str(bob.pk), str(kari.pk)} <= coders
    assert page.locator(".ws-blind-form").count() == 0  # supervisors change nothing
