"""Agreement to consensus in a real Chromium: a supervisor opens agreement from the dashboard,
clicks the weakest code and steps through its disagreements with the keyboard (and is offered
no way to settle); a researcher then settles them into the consensus, each in place (htmx,
no page reload), with a reason where the decision overrules a coder and a new passage made by
selecting text that has an emoji before it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from coding import services
from coding.models import Coding

from .factories import CaseFactory, CodeFactory, TranscriptFactory
from .test_agreement_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCES = [f"Setning {i} om boliger 😀 og tjenester i kommunen æøå." for i in range(30)]
TEXT = " ".join(SENTENCES)
STARTS = [sum(len(s) + 1 for s in SENTENCES[:i]) for i in range(30)]


def span(i: int, j: int) -> tuple[int, int]:
    """Sentences i..j-1 (code points)."""
    return STARTS[i], STARTS[j - 1] + len(SENTENCES[j - 1])


def test_a_supervisor_steps_through_disagreements_and_a_researcher_settles_them(
    page, live_server, project, codebook, alice, bob, sue
):
    t = TranscriptFactory(case=CaseFactory(project=project), text=TEXT, title="Intervju 1")
    strong = CodeFactory(codebook=codebook, name="Sterk", order=0)
    weak = CodeFactory(codebook=codebook, name="Svak", order=1)

    def code(c, i, j, coder):
        s, e = span(i, j)
        services.excerpt_code(transcript=t, start=s, end=e, codes=[c], coder=coder)

    for coder in (alice, bob):
        code(strong, 0, 10, coder)
    code(weak, 12, 15, bob)  # bob alone
    code(weak, 17, 20, alice)  # alice alone
    code(weak, 22, 26, alice)  # a boundary difference
    code(weak, 22, 28, bob)

    # The supervisor: dashboard -> agreement -> the weakest code -> the keyboard.
    log_in(page, live_server, "sue")
    page.goto(live_server.url + reverse("coding:dashboard", args=[project.pk]))
    page.click(f"a[href^='{reverse('coding:analysis-agreement', args=[project.pk])}']")
    page.wait_for_url(re.compile(r"/analysis/agreement/"))
    rows = page.locator("#agreement-codes tbody tr")
    assert rows.first.locator("th").inner_text() == "Svak"
    rows.first.get_by_role("link", name="Svak").click()
    page.wait_for_url(re.compile(r"/analysis/agreement/transcripts/\d+/"))
    compare_url = page.url
    assert page.locator(".passage[data-disagreement]").count() == 3
    assert page.locator(".lane-consensus").count() == 3  # the consensus lane, empty so far
    assert page.locator(".consensus-form, .consensus-tools").count() == 0  # no controls
    for expected in ("1 / 3", "2 / 3", "3 / 3"):
        page.keyboard.press("j")
        assert page.locator("#compare-position").inner_text() == expected
    assert page.evaluate("document.activeElement.id") == "passage-2"
    page.keyboard.press("k")
    assert page.locator(".passage.current").get_attribute("id") == "passage-1"
    page.get_by_role("button", name=re.compile("Log out|Logg ut")).click()

    # The researcher settles, in place.
    log_in(page, live_server, "bob")
    page.goto(compare_url)
    page.evaluate("window.__sameDocument = true")
    page.keyboard.press("u")  # the first not settled
    assert page.evaluate("document.activeElement.id") == "passage-0"
    first = page.locator("#passage-0")
    # Only bob coded it: keeping his version overrules nobody and needs no reason.
    first.get_by_role("button", name=re.compile("bob")).click()
    page.wait_for_selector("#passage-0[data-settled]")
    assert first.locator(".lane-consensus mark.compare-consensus").count() == 1
    assert page.locator("#consensus-unsettled").inner_text().startswith("2 ")
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert page.evaluate("document.activeElement.id") == "passage-0"  # still current

    page.keyboard.press("u")  # passage-1, alice alone: bob marks a shorter passage
    assert page.evaluate("document.activeElement.id") == "passage-1"
    second = page.locator("#passage-1")
    s, e = span(17, 20)
    after_emoji = TEXT[s:e].index("😀") + 1  # code points
    page.evaluate(
        """() => {
          const mark = document.querySelector('#passage-1 .lane mark');
          const node = mark.firstChild;
          const r = document.createRange();
          r.setStart(node, node.data.indexOf('😀') + 2);  // UTF-16: the emoji is two units
          r.setEnd(node, node.data.length);
          const sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(r);
          mark.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }"""
    )
    assert second.locator("input[name=span_start]").input_value() == str(s + after_emoji)
    assert second.locator("input[name=span_end]").input_value() == str(e)
    new_button = second.locator("button[value=new]")
    new_button.click()  # overrules alice: a reason is needed
    page.wait_for_selector("#passage-1 [role=alert]")
    assert page.locator("#passage-1[data-settled]").count() == 0
    assert not Coding.objects.consensus_layer().filter(tag=weak, content_object__start=s).exists()
    second = page.locator("#passage-1")
    second.locator("input[name=span_start]").fill(str(s + after_emoji))
    second.locator("input[name=reason]").fill("Bare det etter smilet")
    second.locator("button[value=new]").click()
    page.wait_for_selector("#passage-1[data-settled]")
    assert page.evaluate("window.__sameDocument") is True
    consensus = sorted(
        Coding.objects.consensus_layer()
        .filter(tag=weak)
        .values_list("content_object__start", "content_object__end", "coder__username")
    )
    assert consensus == [(*span(12, 15), "bob"), (s + after_emoji, e, "bob")]
    lane = page.locator("#passage-1 .lane-consensus mark.compare-consensus")
    assert lane.inner_text() == TEXT[s + after_emoji : e]
    assert "Bare det etter smilet" in page.locator("#consensus-history").inner_text()

    page.keyboard.press("u")  # only the boundary difference is left
    assert page.evaluate("document.activeElement.id") == "passage-2"
    assert page.locator("#consensus-unsettled").inner_text().startswith("1 ")
