"""Suggestion marks (static/coding/suggestions.js) in a real Chromium: a researcher opens a
mark, accepts one suggestion and rejects another; a supervisor sees marks without buttons."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from coding.models import Coding, CodingSource, SuggestionDecision, SuggestionVerdict

from .conftest import PASSWORD
from .factories import CodeFactory
from .language_data import make_transcript


@pytest.fixture
def viewport() -> dict:
    return {"width": 1280, "height": 900}


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def transcript(codebook, case, settings):
    settings.LANGUAGE_CODE = "en"
    CodeFactory(
        codebook=codebook, name="Økonomiske ressurser", keywords="budsjett", color="#2ca02c"
    )
    CodeFactory(codebook=codebook, name="Brukermedvirkning", keywords="brukerråd", color="#8c564b")
    return make_transcript(
        case,
        [
            "I: Hvordan går det?",
            "IP: Budsjettet er stramt <img src=x>, og brukerrådet vil bli hørt.",
            "IP: Det regnet i går.",
        ],
    )


def login(page, live_server, username: str, url: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda u: "/accounts/login/" not in u)
    page.goto(live_server.url + url)


def test_a_researcher_accepts_one_suggestion_and_rejects_another(
    page, live_server, bob, transcript
):
    login(
        page,
        live_server,
        "bob",
        reverse("coding:transcript-suggestions-review", args=[transcript.pk]),
    )
    page.wait_for_selector(".sg-mark")
    assert page.locator(".sg-mark").count() == 1
    assert page.locator(".sg-bar .sg-count").inner_text() == "2 suggestions"
    page.click(".sg-mark")
    items = page.locator(".sg-pop .sg-item")
    assert items.count() == 2
    # The passage is shown as text: the <img> in the transcript is not markup.
    assert "<img src=x>" in items.first.locator(".sg-snippet").inner_text()
    assert page.locator(".sg-pop img").count() == 0

    money = page.locator(".sg-item", has_text="Økonomiske ressurser")
    money.locator(".sg-accept").click()
    expect(page.locator(".sg-done")).to_have_count(1)
    users = page.locator(".sg-item", has_text="Brukermedvirkning")
    users.locator(".sg-reject").click()
    # (Locators, not wait_for_function: the page's CSP forbids eval.)
    expect(page.locator(".sg-done")).to_have_count(2)
    expect(page.locator(".sg-mark")).to_have_count(0)

    coding = Coding.objects.get()
    assert coding.coder == bob and coding.source == CodingSource.SUGGESTION
    assert coding.tag.name == "Økonomiske ressurser"
    verdicts = sorted(SuggestionDecision.objects.values_list("verdict", flat=True))
    assert verdicts == [SuggestionVerdict.ACCEPTED, SuggestionVerdict.REJECTED]


def test_a_supervisor_sees_the_marks_without_buttons(page, live_server, sue, transcript):
    login(
        page,
        live_server,
        "sue",
        reverse("coding:transcript-suggestions-review", args=[transcript.pk]),
    )
    page.click(".sg-mark")
    assert page.locator(".sg-pop .sg-item").count() == 2
    assert page.locator(".sg-pop button.sg-accept").count() == 0
    assert page.locator(".sg-pop .sg-readonly").first.is_visible()


def test_a_card_marks_the_keyword_and_a_researcher_removes_it(page, live_server, bob, transcript):
    from coding.models import Code

    login(
        page,
        live_server,
        "bob",
        reverse("coding:transcript-suggestions-review", args=[transcript.pk]),
    )
    page.wait_for_selector(".sg-mark")
    page.click(".sg-mark")
    money = page.locator(".sg-item", has_text="Økonomiske ressurser")
    expect(money.locator("mark.sg-hit")).to_have_text("Budsjettet")
    assert page.locator(".sg-pop img").count() == 0  # the passage around the mark stays text
    money.locator(".sg-kw-remove", has_text="budsjett").click()
    expect(money.locator(".sg-kw-removed")).to_have_count(1)
    assert Code.objects.get(name="Økonomiske ressurser").keywords == ""
