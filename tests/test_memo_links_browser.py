"""A researcher adds a "see also" link from a passage's memo to another passage in a real
Chromium: from the inspector's "Link to a passage…", through the passage picker, and back; the
link is listed on the memo's side (the inspector of its passage) and on the linked passage's
side (its inspector lists the memo linking to it)."""

from __future__ import annotations

import pytest

from coding.models import AuditAction, AuditEvent, MemoLink

from . import test_memo_list
from .test_workspace_browser import log_in

study = test_memo_list.study
memos = test_memo_list.memos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def viewport() -> dict:
    return {"width": 1440, "height": 900}


def open_passage(page, live_server, excerpt) -> None:
    page.goto(live_server.url + excerpt.get_absolute_url())
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    page.locator("#ws-inspector-body:not([hidden]) .ws-quote").wait_for()


def test_a_researcher_links_a_memo_to_another_passage_and_sees_it_on_both_sides(
    page, live_server, study, memos, bob
):
    e1, e2, e3 = study["excerpts"]
    memo = memos["e3"]  # bob's memo on the Sandnes passage
    log_in(page, live_server, "bob")
    open_passage(page, live_server, e3)
    page.click("#ws-inspector-body .ws-memo-link-add")

    # The memo's link editor: find the Drammen passage on competence by two of its words.
    page.wait_for_selector(f".memo-edit#memo-edit-{memo.pk}")
    page.fill(".passage-picker input[name=q]", "rådmannen tydelig")
    assert page.locator(".passage-candidates li").count() == 2  # before: every other passage
    page.click(".passage-picker button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('.passage-candidates li').length === 1")
    candidate = page.locator(f".passage-candidates li[data-excerpt='{e2.pk}']")
    candidate.locator("button[type=submit]").click()
    page.wait_for_selector(f".memo-links-edit li[data-link-excerpt='{e2.pk}']")
    assert list(MemoLink.objects.filter(memo=memo).values_list("excerpt_id", flat=True)) == [e2.pk]
    assert AuditEvent.objects.filter(action=AuditAction.MEMO_LINK_ADD, actor=bob).count() == 1

    # Back in the transcript: the memo lists its link, which opens the linked passage.
    page.click("a.button:has-text('Back')")
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    link = page.locator("#ws-inspector-body:not([hidden]) .ws-memo-link")
    link.wait_for()
    assert "Intervju med boligleder" in link.inner_text()
    link.click()
    # Wait for the linked passage's own page: until it has loaded, the page being left still
    # answers "ready" and shows its own passage (CI on a busy machine read that one).
    page.wait_for_function(
        "(t) => { const q = document.querySelector('#ws-inspector-body:not([hidden]) .ws-quote');"
        " return document.body.dataset.wsReady === '1' && q !== null && q.innerText === t; }",
        arg=e2.text,
    )

    # The other side: the linked passage's inspector lists the memo linking to it.
    quote = page.locator("#ws-inspector-body:not([hidden]) .ws-quote")
    assert quote.inner_text() == e2.text
    here = page.locator(f"#ws-inspector-body .ws-linked-here li[data-memo='{memo.pk}']")
    here.wait_for()
    assert "Strategien løftet tjenestene." in here.inner_text()
