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


def test_accepting_a_suggestion_in_the_transcript_view_can_be_undone_by_the_button(
    page, live_server, bob, transcript
):
    """The Undo button stayed disabled ("Nothing to undo") after an accepted suggestion,
    though Ctrl+Z undid it."""
    login(page, live_server, "bob", reverse("coding:transcript-detail", args=[transcript.pk]))
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    undo = page.locator("#ws-undo")
    expect(undo).to_be_disabled()
    page.click(".sg-mark")
    page.locator(".sg-item", has_text="Økonomiske ressurser").locator(".sg-accept").click()
    expect(page.locator(".sg-done")).to_have_count(1)
    expect(undo).to_be_enabled()
    assert "Økonomiske ressurser" in undo.get_attribute("title")
    undo.click()
    expect(undo).to_be_disabled()
    assert Coding.objects.count() == 0


OVERLAP = """() => {
  const a = document.querySelector(".sg-bar").getBoundingClientRect();
  const b = document.getElementById("ws-doc").getBoundingClientRect();
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}"""


DOC_TOP = "document.getElementById('ws-doc').getBoundingClientRect().top"


def test_the_suggestions_bar_never_covers_the_text_and_folds(page, live_server, bob, transcript):
    """The bar floated over the transcript (about 545×82 px) and could not be closed."""
    login(page, live_server, "bob", reverse("coding:transcript-detail", args=[transcript.pk]))
    bar = page.locator(".ws-suggestions .sg-bar")
    expect(bar.locator(".sg-count")).to_have_text("2 suggestions")
    assert page.evaluate(OVERLAP) is False
    assert page.locator(".sg-floating").count() == 0

    full = bar.bounding_box()["height"]
    text_top = page.evaluate(DOC_TOP)
    bar.locator(".sg-fold").click()
    expect(bar).to_have_class("sg-bar sg-folded")
    expect(bar.locator(".sg-toggle")).to_have_count(0)
    assert bar.bounding_box()["height"] <= full
    # The text never moves: not when the bar folds, nor when it arrives (the empty slot, as it
    # is before the suggestions are loaded, holds the same place).
    assert page.evaluate(DOC_TOP) == text_top
    page.evaluate("document.querySelector('.ws-suggestions').replaceChildren()")
    assert page.evaluate(DOC_TOP) == text_top
    page.reload()
    expect(page.locator(".ws-suggestions .sg-bar")).to_have_class("sg-bar sg-folded")
    page.locator(".sg-fold").click()
    expect(page.locator(".ws-suggestions .sg-bar .sg-toggle")).to_have_count(1)


def test_a_supervisor_gets_no_suggestions_bar_in_the_transcript_view(
    page, live_server, sue, transcript
):
    """Supervisors saw a "139 suggestions" bar they could not act on."""
    login(page, live_server, "sue", reverse("coding:transcript-detail", args=[transcript.pk]))
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    assert page.locator("script[src*='suggestions.js']").count() == 0
    assert page.locator(".sg-bar, .sg-mark").count() == 0


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
