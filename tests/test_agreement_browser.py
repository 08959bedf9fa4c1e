"""The agreement page in a real Chromium: a supervisor opens it, clicks the weakest code and
steps through its disagreements in the comparison view with the keyboard."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from coding import services

from .conftest import PASSWORD
from .factories import CaseFactory, CodeFactory, TranscriptFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = " ".join(f"Setning {i} handler om boliger og tjenester i kommunen." for i in range(30))


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_supervisor_opens_the_weakest_code_and_steps_through_its_disagreements(
    page, live_server, project, codebook, alice, bob, sue
):
    t = TranscriptFactory(case=CaseFactory(project=project), text=TEXT, title="Intervju 1")
    strong = CodeFactory(codebook=codebook, name="Sterk", order=0)
    weak = CodeFactory(codebook=codebook, name="Svak", order=1)
    sentence = len(TEXT) // 30

    def code(c, i, j, coder):  # sentences i..j-1
        services.excerpt_code(
            transcript=t, start=i * sentence, end=j * sentence - 1, codes=[c], coder=coder
        )

    for coder in (alice, bob):
        code(strong, 0, 10, coder)
    # Svak: three disagreements: bob alone, alice alone, and a boundary difference.
    code(weak, 12, 15, bob)
    code(weak, 17, 20, alice)
    code(weak, 22, 26, alice)
    code(weak, 22, 28, bob)

    log_in(page, live_server, "sue")
    page.goto(live_server.url + reverse("coding:analysis-agreement", args=[project.pk]))
    rows = page.locator("#agreement-codes tbody tr")
    assert rows.first.locator("th").inner_text() == "Svak"  # the weakest first
    rows.first.get_by_role("link", name="Svak").click()
    page.wait_for_url(re.compile(r"/analysis/agreement/transcripts/\d+/"))
    assert "Svak" in page.locator("h1").inner_text()
    stops = page.locator(".passage[data-disagreement]")
    assert stops.count() == 3

    page.keyboard.press("j")
    assert page.locator("#compare-position").inner_text() == "1 / 3"
    assert page.evaluate("document.activeElement.id") == "passage-0"
    assert "passage-only" in (stops.nth(0).get_attribute("class") or "")
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == "passage-2"
    assert "passage-boundary" in (stops.nth(2).get_attribute("class") or "")
    assert stops.nth(2).locator("mark.compare-boundary").count() == 1  # bob's longer end
    page.keyboard.press("k")
    assert page.locator("#compare-position").inner_text() == "2 / 3"
    assert page.locator(".passage.current").get_attribute("id") == "passage-1"
