"""The framework matrix in a real Chromium: write three cells with the keyboard, without a
page load; the panel follows the selected cell. Mark a key quote from a drill-down and find it
in the report export."""

from __future__ import annotations

import io
import re

import docx
import pytest
from django.urls import reverse
from django.utils import translation

from coding.exports.jobs import export_to_file
from coding.models import FrameworkSummary, KeyQuote

from . import analysis_data as ad
from .test_matrix_browser import log_in
from .test_workspace_browser import click_excerpt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_three_cells_with_the_keyboard_without_a_page_load(
    page, live_server, project, bob, alice
):
    study = ad.build(project, bob, alice)
    log_in(page, live_server, "bob")
    page.goto(live_server.url + reverse("coding:analysis-framework", args=[project.pk]))
    page.evaluate("window.__sameDocument = true")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    first = page.locator("[data-fw-cell]").first
    first.focus()
    page.locator("#fw-panel .fw-panel-head").wait_for()  # the panel followed the cell
    texts = ["Første celle.", "Andre celle, til høyre.", "Tredje celle, under."]
    moves = [None, "ArrowRight", "ArrowDown"]
    for text, key in zip(texts, moves, strict=True):
        if key:
            page.keyboard.press(key)
        page.keyboard.press("Enter")
        page.keyboard.type(text)
        page.keyboard.press("Escape")  # back to the cell; leaving the text saves it
    statuses = page.locator(".fw-status", has_text=re.compile("Saved|Lagret"))
    statuses.nth(2).wait_for()
    saved = sorted(
        FrameworkSummary.objects.filter(case__isnull=False, code__isnull=False).values_list(
            "text", flat=True
        )
    )
    assert saved == sorted(texts)
    assert page.evaluate("window.__sameDocument === true"), "writing reloaded the page"
    assert navigations == [], f"writing navigated: {navigations}"
    # The progress line comes with the last save's answer: wait for it, not only the status.
    page.locator("#fw-progress", has_text=re.compile(r"\b3 (of|av)\b")).wait_for()
    assert "3 of" in page.locator("#fw-progress").inner_text()
    # The third cell is under the second: the same factor, the next case.
    second = FrameworkSummary.objects.get(text=texts[1])
    third = FrameworkSummary.objects.get(text=texts[2])
    assert second.code_id == third.code_id and second.case_id != third.case_id
    assert page.locator("#fw-panel h2").inner_text().endswith(third.code.name)
    assert study.project.pk == project.pk
    # The editor also saves 800 ms after the last keystroke (hx-trigger "input changed delay"):
    # let that save be sent, so the page fixture waits for its answer before the flush.
    page.wait_for_timeout(1000)


def test_mark_a_key_quote_in_a_drilldown_and_find_it_in_the_report(
    page, live_server, project, bob, alice
):
    study = ad.build(project, bob, alice)
    e1 = study.excerpts["e1"]
    code = e1.codings.first().tag
    log_in(page, live_server, "bob")
    cell = reverse("coding:analysis-matrix-cell", args=[project.pk])
    page.goto(f"{live_server.url}{cell}?row=total&col={code.pk}&codes={code.pk}")
    card = page.locator(f".excerpt-card[data-excerpt='{e1.pk}']")
    star = card.locator(f"form.kq:has(input[name=code][value='{code.pk}']) button")
    star.click()
    card.locator("button.kq-star.on").wait_for()  # swapped in place by htmx
    assert KeyQuote.objects.filter(excerpt=e1, code=code, user=bob).exists()

    buf = io.BytesIO()
    with translation.override("en"):
        export_to_file(buf, project=project, params={"layout": "report"}, made_by="bob")
    document = docx.Document(io.BytesIO(buf.getvalue()))
    quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    assert any(e1.text.splitlines()[0] in q for q in quotes)


def test_mark_a_key_quote_with_the_star_in_the_inspector(page, live_server, project, bob, alice):
    study = ad.build(project, bob, alice)
    e1 = study.excerpts["e1"]
    code = e1.codings.order_by("pk").first().tag
    log_in(page, live_server, "bob")
    url = reverse("coding:transcript-detail", args=[e1.transcript_id])
    page.goto(f"{live_server.url}{url}")
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    click_excerpt(page, e1.pk)
    page.wait_for_selector("#ws-inspector-body:not([hidden]) .ws-insp-codes li")
    slot = page.locator("#ws-inspector-body .ws-key-quotes")
    star = slot.locator(f"form.kq:has(input[name=code][value='{code.pk}']) button")
    star.wait_for()  # the fragment came in under the passage's codes
    assert star.get_attribute("aria-pressed") == "false"
    star.click()
    slot.locator(f"form.kq:has(input[name=code][value='{code.pk}']) button.on").wait_for()
    assert KeyQuote.objects.filter(excerpt=e1, code=code, user=bob).exists()
