"""The matrix in a real Chromium (Playwright + live_server): open it, filter by coder, click a
cell, read its excerpts, open one in the transcript."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from . import analysis_data as ad
from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_filter_by_coder_click_a_cell_and_open_an_excerpt(
    page, live_server, project, bob, alice, sue
):
    study = ad.build(project, bob, alice)
    log_in(page, live_server, "sue")
    page.goto(live_server.url + reverse("coding:analysis-matrix", args=[project.pk]))
    table = page.locator("table[data-matrix]")
    drammen = table.locator("tr", has=page.locator("th", has_text="Drammen"))
    # All coders: Drammen × Organisering holds e1 (bob) and e3 (alice).
    assert drammen.locator("td").nth(1).inner_text().strip() == "2"

    page.locator("details.filter-group", has_text="Coders").locator("summary").click()
    page.get_by_label("bob", exact=True).check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf"coders={bob.pk}"))
    cell = drammen.locator("td").nth(1)
    assert cell.inner_text().strip() == "1"  # only bob's e1

    # A mark on this document: a page load would start a fresh window without it.
    page.evaluate("window.__sameDocument = true")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    cell.locator("a").click()  # htmx puts the excerpts under the matrix
    drill = page.locator("#drill .drilldown")
    drill.locator(".excerpt-card").first.wait_for()
    assert "Drammen × Organisering" in drill.locator("h2").inner_text()
    cards = drill.locator(".excerpt-card")
    assert cards.count() == 1
    assert ad.A in cards.first.inner_text()
    assert "Geir" in cards.first.inner_text()
    assert page.evaluate("window.__sameDocument === true"), "the cell click reloaded the page"
    assert navigations == [], f"the cell click navigated: {navigations}"

    e1 = study.excerpts["e1"]
    cards.first.get_by_role("link", name=re.compile("Open in the transcript")).click()
    page.wait_for_url(
        re.compile(rf"/transcripts/{e1.transcript_id}/\?start={e1.start}&end={e1.end}")
    )
    assert "Drammen: rådmannen" in page.title()
    # The passage opens in the inspector, scrolled into view (not the top of the transcript).
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    quote = page.locator("#ws-inspector-body:not([hidden]) .ws-quote")
    quote.wait_for()
    assert quote.inner_text() == e1.text
    assert page.evaluate(PASSAGE_IN_VIEW, [e1.start, e1.end])


# The passage [s, e) (code points; the test text has no astral characters) lies inside the
# visible part of the transcript pane.
PASSAGE_IN_VIEW = """([s, e]) => {
  const r = window.wsDebug.idx.range(s, e).getBoundingClientRect();
  const box = document.getElementById("ws-doc").getBoundingClientRect();
  return r.height > 0 && r.top >= box.top && r.bottom <= box.bottom;
}"""


@pytest.fixture
def viewport() -> dict:
    return {"width": 1280, "height": 800}


TOTAL_IN_VIEW = """() => {
  const box = document.querySelector(".matrix-scroll").getBoundingClientRect();
  const total = document.querySelector("table[data-matrix] thead th.total").getBoundingClientRect();
  const wide = document.querySelector(".matrix-scroll").scrollWidth > box.width;
  return {wide, inView: total.left >= box.left - 1 && total.right <= box.right + 1};
}"""


def test_the_total_column_stays_in_view_at_1280_px(page, live_server, project, bob, alice, sue):
    """At 1280 px the matrix's total column was cut off."""
    from coding.models import Code

    study = ad.build(project, bob, alice)
    codebook = study.codes["F"].codebook
    extra = [
        Code.objects.create(codebook=codebook, name=f"Tema nummer {i}", order=10 + i)
        for i in range(12)
    ]
    ids = [c.pk for c in Code.objects.filter(codebook=codebook)]
    log_in(page, live_server, "sue")
    query = "&".join(f"codes={pk}" for pk in ids) + "&subcodes=own"
    page.goto(live_server.url + reverse("coding:analysis-matrix", args=[project.pk]) + "?" + query)
    page.locator("table[data-matrix]").wait_for()
    assert len(extra) == 12
    where = page.evaluate(TOTAL_IN_VIEW)
    assert where == {"wide": True, "inView": True}, where


def test_the_demo_dashboards_transcript_table_fits_its_card_at_1280_px(page, live_server):
    """The per-transcript table overflowed its card at 1280 px (a column for the owner who
    never coded, long titles that did not wrap, wide per-coder bars)."""
    import io

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from coding.models import Project

    call_command("load_demo", stdout=io.StringIO())
    supervisor = get_user_model().objects.get(username="veileder")
    supervisor.set_password(PASSWORD)
    supervisor.save()
    log_in(page, live_server, "veileder")
    page.goto(live_server.url + reverse("coding:dashboard", args=[Project.objects.get().pk]))
    table = page.locator("section[aria-labelledby=transcripts-title] .matrix-scroll")
    table.wait_for()
    width, room = table.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert width <= room, (width, room)
