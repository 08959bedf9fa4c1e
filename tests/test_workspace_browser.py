"""The transcript view in a real Chromium (Playwright + pytest-django's live_server): log in,
select with the mouse and the keyboard, apply codes from the picker and by shortcut, see the
highlights and stripes, reload, remove, overlap, resize, write a memo, undo; exact offsets for
æøå, emoji and combining marks; a supervisor's read-only view; the fallback highlighter."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from coding.management import demo
from coding.models import Coding, Excerpt, Memo, Role

from .conftest import PASSWORD
from .workspace_data import (
    COMBINING,
    EMOJI,
    LONG_IN_VIVO,
    make_in_vivo_transcript,
    make_transcript,
)

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


@pytest.fixture
def viewport() -> dict:
    return {"width": 1440, "height": 900}


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def transcript(case, alice, codebook):
    return make_transcript(case, alice)


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=username]) button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_transcript(page, live_server, transcript, query: str = "") -> None:
    page.goto(live_server.url + reverse("coding:transcript-detail", args=[transcript.pk]) + query)
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")


FIND = """([phrase, occurrence]) => {
  const idx = window.wsDebug.idx;
  let seen = 0;
  for (let i = 0; i < idx.length; i++) {
    const t = idx.texts[i];
    for (let at = t.indexOf(phrase); at >= 0; at = t.indexOf(phrase, at + 1)) {
      if (++seen < occurrence) continue;
      const s = idx.starts[i] + at;
      const e = s + phrase.length;
      const doc = document.getElementById("ws-doc");
      const r = idx.range(s, e).getBoundingClientRect();
      doc.scrollBy(0, r.top - doc.getBoundingClientRect().top - doc.clientHeight / 3);
      const first = idx.range(s, idx.char(s, 1).next).getBoundingClientRect();
      const last = idx.range(idx.char(e, -1).next, e).getBoundingClientRect();
      return {s, e, x1: first.left + 1, y1: first.top + first.height / 2,
              x2: last.right - 1, y2: last.top + last.height / 2};
    }
  }
  return null;
}"""


def drag_select(page, phrase: str, occurrence: int = 1) -> dict:
    """Select ``phrase`` with the mouse, from its first glyph to its last."""
    box = page.evaluate(FIND, [phrase, occurrence])
    assert box, f"{phrase!r} is not on the page"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2, steps=4)
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()
    return box


def click_text(page, phrase: str) -> None:
    box = page.evaluate(FIND, [phrase, 1])
    page.mouse.click((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2)


# The text shown in a code's colour: its background where it is the innermost code, its
# underline where it overlaps another code's passage; adjoining pieces read as one.
HIGHLIGHTED = """(code) => {
  const ranges = [];
  for (const name of ["ws-c" + code, "ws-u" + code]) {
    const h = CSS.highlights.get(name);
    if (h) ranges.push(...h);
  }
  const live = ranges.map((r) => {
    const x = document.createRange();
    x.setStart(r.startContainer, r.startOffset);
    x.setEnd(r.endContainer, r.endOffset);
    return x;
  }).sort((a, b) => a.compareBoundaryPoints(Range.START_TO_START, b));
  const merged = [];
  for (const r of live) {
    const last = merged[merged.length - 1];
    if (last && last.endContainer === r.startContainer && last.endOffset === r.startOffset) {
      last.setEnd(r.endContainer, r.endOffset);
    } else {
      merged.push(r);
    }
  }
  return merged.map((r) => r.toString()).sort();
}"""


def click_excerpt(page, excerpt_id: int) -> None:
    box = page.evaluate(
        """(id) => {
          const idx = window.wsDebug.idx;
          const ex = window.wsDebug.excerpts().find((e) => e.id === id);
          const s = idx.char(ex.s, 1).next;
          const doc = document.getElementById("ws-doc");
          const at = idx.range(s, idx.char(s, 1).next).getBoundingClientRect();
          doc.scrollBy(0, at.top - doc.getBoundingClientRect().top - doc.clientHeight / 3);
          const r = idx.range(s, idx.char(s, 1).next).getBoundingClientRect();
          return {x: r.left + r.width / 2, y: r.top + r.height / 2};
        }""",
        excerpt_id,
    )
    page.mouse.click(box["x"], box["y"])


def highlighted(page, code) -> list[str]:
    return page.evaluate(HIGHLIGHTED, code.pk)


def pending(page) -> str:
    """The selection the picker codes, as the page shows it (the picker's search box has the
    focus, so the browser's own selection is gone)."""
    return "\n\n".join(
        page.evaluate(HIGHLIGHTED.replace('["ws-c" + code, "ws-u" + code]', "[code]"), "ws-pending")
    )


def ui_text(page, key: str) -> str:
    """A text the script shows, in the page's language (Bokmål by default)."""
    return page.evaluate(
        "(k) => JSON.parse(document.getElementById('ws-strings').textContent)[k]", key
    )


def wait_for_codings(page, n: int) -> None:
    page.wait_for_function(
        "(n) => window.wsDebug.excerpts().reduce((a, e) => a + e.codings.length, 0) === n", arg=n
    )


def picker_mark(page, code) -> None:
    page.click(f"#ws-picker .ws-pick[data-code='{code.pk}'] input.mark")


def test_a_researcher_codes_reloads_removes_overlaps_writes_a_memo_and_undoes(
    page, live_server, transcript, codes, bob
):
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    assert page.locator(".turn-head .speaker", has_text="Tone Berg").count() >= 2

    # Select by mouse; the picker opens at the selection; apply two codes at once.
    drag_select(page, "Vi samarbeider tett med NAV om boliger")
    page.wait_for_selector("#ws-picker:not([hidden])")
    picker_mark(page, codes[0])
    picker_mark(page, codes[1])
    assert page.inner_text("#ws-picker-apply") == ui_text(page, "applyN").replace("%(n)s", "2")
    page.click("#ws-picker-apply")
    wait_for_codings(page, 2)
    excerpt = Excerpt.objects.get()
    assert excerpt.text == "Vi samarbeider tett med NAV om boliger"
    assert set(excerpt.codings.values_list("tag_id", flat=True)) == {codes[0].pk, codes[1].pk}
    assert highlighted(page, codes[0]) == ["Vi samarbeider tett med NAV om boliger"]
    page.wait_for_selector(f".stripe[data-code='{codes[1].pk}']")  # painted on the next frame
    assert page.locator(f".stripe[data-code='{codes[1].pk}']").count() == 1

    # One more by its number key (codes[2] has shortcut "3").
    drag_select(page, "Det går bra nå")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.keyboard.press("3")
    wait_for_codings(page, 3)
    assert Excerpt.objects.get(text="Det går bra nå").codings.get().tag == codes[2]

    # The highlights come back after a reload.
    page.reload()
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    assert highlighted(page, codes[1]) == ["Vi samarbeider tett med NAV om boliger"]
    assert highlighted(page, codes[2]) == ["Det går bra nå"]
    assert page.inner_text(f"[data-n-here='{codes[0].pk}']") == "1"

    # Click the passage, remove one of its codes in the inspector.
    click_text(page, "samarbeider")
    page.wait_for_selector("#ws-inspector-body:not([hidden]) .ws-insp-codes li")
    assert page.locator(".ws-insp-codes li").count() == 2
    page.click(f".ws-insp-codes li:has-text('{codes[1].name}') .ws-remove")
    wait_for_codings(page, 2)
    assert list(excerpt.codings.values_list("tag_id", flat=True)) == [codes[0].pk]
    assert highlighted(page, codes[1]) == []

    # An overlapping passage: its own excerpt, its own stripe lane.
    drag_select(page, "NAV om boliger. Det går")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.fill("#ws-picker-search", codes[1].name[:5])
    page.keyboard.press("Enter")
    wait_for_codings(page, 3)
    assert Excerpt.objects.count() == 3
    page.wait_for_function("() => document.querySelectorAll('.stripe').length >= 3")
    lanes = page.eval_on_selector_all(
        ".turn:has-text('Vi samarbeider') .stripe", "els => els.map(e => e.style.left)"
    )
    assert len(lanes) == 3 and len(set(lanes)) >= 2

    # A memo on the first passage.
    page.keyboard.press("Escape")
    page.wait_for_selector("#ws-inspector-body", state="hidden")
    click_text(page, "samarbeider")
    page.wait_for_selector(".ws-memo-form textarea")
    page.fill(".ws-memo-form textarea", "Samarbeid med NAV som suksessfaktor")
    page.click(".ws-memo-form button[type=submit]")
    page.wait_for_selector(".ws-memo-form button.ws-danger")  # saved: now mine to delete
    assert Memo.objects.get(excerpt=excerpt).text == "Samarbeid med NAV som suksessfaktor"

    # Undo takes back the last coding (the overlapping passage).
    assert codes[1].name in page.get_attribute("#ws-undo", "title")
    page.click("#ws-undo")
    wait_for_codings(page, 2)
    assert not Excerpt.objects.filter(text="NAV om boliger. Det går").exists()
    assert highlighted(page, codes[1]) == []

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "transcript-view-researcher.png"))


def test_passages_with_emoji_aeoeaa_and_combining_marks_are_stored_as_selected(
    page, live_server, transcript, codes, bob
):
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    for n, phrase in enumerate(
        [
            f"hørt {EMOJI} i ærlige møter på Økern",
            f"Vi regnet ut {COMBINING}-verdien",
            f"fikk vi {EMOJI} en avtale med utleierne på Grünerløkka",  # the end of a long line
        ],
        start=1,
    ):
        drag_select(page, phrase)
        page.wait_for_selector("#ws-picker:not([hidden])")
        selected = pending(page)
        page.keyboard.press("1")
        wait_for_codings(page, n)
        stored = Excerpt.objects.order_by("-pk").first()
        assert stored.text == selected == phrase
        assert transcript.text[stored.start : stored.end] == phrase


def test_a_mouse_selection_snaps_to_whole_words(page, live_server, transcript, codes, bob):
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    box = page.evaluate(FIND, ["samarbeider tett med", 1])
    page.mouse.move(box["x1"] + 30, box["y1"])  # inside "samarbeider"
    page.mouse.down()
    page.mouse.move(box["x2"] - 15, box["y2"], steps=6)  # inside "med"
    page.mouse.up()
    page.wait_for_selector("#ws-picker:not([hidden])")
    assert pending(page) == "samarbeider tett med"
    page.keyboard.press("2")
    wait_for_codings(page, 1)
    assert Excerpt.objects.get().text == "samarbeider tett med"


def test_code_this_sentence_and_this_turn_by_one_key(page, live_server, transcript, codes, bob):
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    click_text(page, "tett")
    page.keyboard.press("s")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.keyboard.press("Enter")  # the first code in the picker
    wait_for_codings(page, 1)
    assert Excerpt.objects.get().text == "Vi samarbeider tett med NAV om boliger."

    click_text(page, "Hvordan jobber")
    page.keyboard.press("t")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.keyboard.press("2")
    wait_for_codings(page, 2)
    assert Excerpt.objects.filter(text="Hvordan jobber dere med boliger i kommunen?").exists()

    # Keyboard selection: the next sentence, extended by one more, coded with its number.
    click_text(page, "tett")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    assert page.evaluate("() => getSelection().toString()").startswith("Det går bra nå")
    page.keyboard.press("3")
    wait_for_codings(page, 3)
    assert Excerpt.objects.filter(text__startswith="Det går bra nå").count() == 1


def test_the_picker_shows_the_in_vivo_name_the_server_gives_the_code(
    page, live_server, case, alice, codes, bob
):
    # Over 60 characters, the 60th UTF-16 unit inside the emoji: the script used to cut there.
    transcript = make_in_vivo_transcript(case, alice)
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    drag_select(page, LONG_IN_VIVO)
    page.wait_for_selector("#ws-picker-invivo[data-name]")
    shown = page.get_attribute("#ws-picker-invivo", "data-name")
    assert f"“{shown}”" in page.inner_text("#ws-picker-invivo")
    page.click("#ws-picker-invivo")
    wait_for_codings(page, 1)
    code = Coding.objects.get().tag
    assert code.name == shown
    assert shown.endswith(f"{EMOJI}…")
    assert page.locator(".ws-code .name", has_text=shown).count() == 1


def test_in_vivo_and_resizing_from_the_inspector(page, live_server, transcript, codes, bob):
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    drag_select(page, "ærlige møter")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.wait_for_selector("#ws-picker-invivo[data-name]")  # the server's name has come
    assert "ærlige møter" in page.inner_text("#ws-picker-invivo")
    page.click("#ws-picker-invivo")
    wait_for_codings(page, 1)
    coding = Coding.objects.get()
    assert coding.tag.name == "ærlige møter"
    assert page.locator(".ws-code .name", has_text="ærlige møter").count() == 1

    click_text(page, "ærlige")
    page.wait_for_selector(".ws-bounds")
    page.click(".ws-bounds .end >> nth=1")  # end one word later
    page.wait_for_function(
        "() => window.wsDebug.excerpts().length === 1 && "
        "document.querySelector('#ws-inspector-body .ws-quote')?.textContent === 'ærlige møter på'"
    )
    assert Excerpt.objects.get().text == "ærlige møter på"
    page.click(".ws-bounds .start >> nth=0")  # start one word earlier
    page.wait_for_function(
        "() => document.querySelector('#ws-inspector-body .ws-quote')?.textContent"
        " === 'i ærlige møter på'"
    )
    assert Excerpt.objects.get().text == "i ærlige møter på"
    page.keyboard.press("Control+z")
    page.wait_for_function(
        "() => document.querySelector('#ws-inspector-body .ws-quote')?.textContent"
        " === 'ærlige møter på'"
    )
    assert Excerpt.objects.get().text == "ærlige møter på"
    # New boundaries from a fresh mouse selection (the picker that opens on it is ignored).
    drag_select(page, "Brukerne blir hørt")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.click("#ws-inspector-body .ws-use-selection")
    page.wait_for_function(
        "() => document.querySelector('#ws-inspector-body .ws-quote')?.textContent"
        " === 'Brukerne blir hørt'"
    )
    assert Excerpt.objects.get().text == "Brukerne blir hørt"


def test_filters_show_one_coder_some_codes_or_nothing(
    page, live_server, transcript, codes, alice, bob
):
    from coding import services

    from .workspace_data import span_of

    for phrase, code, coder in [
        ("Vi samarbeider tett", codes[0], alice),
        ("Det går bra nå", codes[1], bob),
    ]:
        s, e = span_of(transcript, phrase)
        services.excerpt_code(transcript=transcript, start=s, end=e, codes=[code], coder=coder)
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    assert highlighted(page, codes[0]) == ["Vi samarbeider tett"]
    page.select_option("#ws-coder", str(bob.pk))
    assert highlighted(page, codes[0]) == []
    assert highlighted(page, codes[1]) == ["Det går bra nå"]
    page.select_option("#ws-coder", "")
    page.click(f".ws-code[data-code='{codes[1].pk}'] .chip")
    assert highlighted(page, codes[1]) == []
    assert highlighted(page, codes[0]) == ["Vi samarbeider tett"]
    page.check("#ws-hide")
    assert highlighted(page, codes[0]) == []
    assert page.locator(".stripe:visible").count() == 0


def test_hovering_a_highlight_shows_code_coder_and_memo(page, live_server, transcript, codes, bob):
    from coding import services

    from .workspace_data import span_of

    s, e = span_of(transcript, "Vi samarbeider tett")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=s, end=e, codes=[codes[0]], coder=bob
    )
    services.memo_save(
        project=transcript.case.project, author=bob, text="Et godt sitat", excerpt=excerpt
    )
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    box = page.evaluate(FIND, ["samarbeider", 1])
    page.mouse.move(box["x1"] + 10, box["y1"])
    page.wait_for_selector("#ws-tip:not([hidden])")
    tip = page.inner_text("#ws-tip")
    assert codes[0].name in tip and ui_text(page, "you") in tip and "Et godt sitat" in tip
    stripe = page.locator(f".stripe[data-code='{codes[0].pk}']")
    page.mouse.move(0, 0)
    stripe.hover()
    page.wait_for_selector("#ws-tip:not([hidden])")
    assert codes[0].name in page.inner_text("#ws-tip")


def test_a_supervisor_reads_without_editing_controls(
    page, live_server, transcript, codes, bob, sue
):
    from coding import services

    from .workspace_data import span_of

    s, e = span_of(transcript, "Vi samarbeider tett")
    services.excerpt_code(transcript=transcript, start=s, end=e, codes=[codes[0]], coder=bob)
    log_in(page, live_server, "sue")
    open_transcript(page, live_server, transcript)
    assert page.locator("#ws-undo").count() == 0
    assert page.locator(".ws-readonly").count() == 1
    drag_select(page, "Det går bra nå")
    page.wait_for_timeout(200)
    assert page.locator("#ws-picker").is_hidden()
    page.keyboard.press("1")
    page.wait_for_timeout(200)
    click_text(page, "samarbeider")
    page.wait_for_selector("#ws-inspector-body:not([hidden]) .ws-insp-codes li")
    assert page.locator(".ws-remove").count() == 0
    assert page.locator(".ws-memo-form").count() == 0
    assert page.locator(".ws-bounds").count() == 0
    assert Coding.objects.count() == 1


def test_the_fallback_highlighter_paints_spans_and_codes_exactly(
    page, live_server, transcript, codes, bob
):
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript, "?highlight=dom")
    assert page.evaluate("() => document.body.dataset.highlight") == "dom"
    drag_select(page, f"hørt {EMOJI} i ærlige")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.keyboard.press("1")
    wait_for_codings(page, 1)
    page.wait_for_selector(".t .hl")
    assert page.inner_text(".t .hl") == f"hørt {EMOJI} i ærlige"
    # The text is now split over spans; offsets after them still come out exact.
    drag_select(page, "møter på Økern")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.keyboard.press("2")
    wait_for_codings(page, 2)
    assert Excerpt.objects.order_by("-pk").first().text == "møter på Økern"


UNCODED_ON_SCREEN = """() => {
  const idx = window.wsDebug.idx;
  const doc = document.getElementById("ws-doc").getBoundingClientRect();
  const spans = window.wsDebug.excerpts();
  for (let i = 0; i < idx.length; i++) {
    const t = idx.texts[i];
    const base = idx.starts[i];
    for (const m of t.matchAll(/[A-ZÆØÅ][^.?!]{30,120}[.?!]/gu)) {
      const s = base + m.index;
      const e = s + m[0].length;
      if (spans.some((x) => x.s < e && s < x.e)) continue;
      const r = idx.range(s, e).getBoundingClientRect();
      if (r.top > doc.top + doc.height * 0.5 && r.bottom < doc.bottom - 80) {
        return m[0].split(" ").slice(0, 7).join(" ");
      }
    }
  }
  return null;
}"""


def test_screenshot_of_a_coded_demo_transcript(page, live_server, db):
    """The picture in the README: a demo transcript as coder A sees it, mid-coding."""
    users = demo.ensure_users()
    for user, _pw in users.values():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    project = demo.create_study(users)
    manifest = demo.load_manifest()
    entry = next(e for e in manifest["transcripts"] if e["id"] == "drammen-1")
    coders = {key: users[name][0] for name, _n, _role, key in demo.DEMO_USERS if key}
    transcript = demo.import_transcript(project, entry, users["eier"][0], manifest["note"])
    n = demo.apply_codings(project, transcript, entry, coders)
    assert project.memberships.get(user=users["forsker_a"][0]).role == Role.RESEARCHER

    log_in(page, live_server, "forsker_a")
    page.click(".lang button[value=en]")  # the README is in English
    page.wait_for_load_state()
    open_transcript(page, live_server, transcript)
    wait_for_codings(page, n)
    # Open a passage in the inspector and a selection with the picker, as while coding.
    first = Excerpt.objects.filter(transcript=transcript, memos__isnull=False).first()
    click_excerpt(page, first.pk)
    page.wait_for_selector("#ws-inspector-body:not([hidden]) .ws-insp-codes li")
    # ...and a fresh selection below it with the picker open.
    uncoded = page.evaluate(UNCODED_ON_SCREEN)
    assert uncoded, "no uncoded words on screen"
    drag_select(page, uncoded)
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "transcript-view.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 50_000
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        target = Path(settings.BASE_DIR) / "docs" / "screenshots" / "transcript-view.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def test_a_link_from_search_opens_the_transcript_at_the_passage(
    page, live_server, transcript, codes, bob
):
    from .workspace_data import span_of

    s, e = span_of(transcript, "en avtale med utleierne")  # at the end of the long line
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript, f"?start={s}&end={e}#pos-{s}")
    assert page.evaluate("() => getSelection().toString()") == "en avtale med utleierne"
    in_view = page.evaluate(
        """() => { const r = getSelection().getRangeAt(0).getBoundingClientRect();
                   const d = document.getElementById("ws-doc").getBoundingClientRect();
                   return r.top >= d.top && r.bottom <= d.bottom; }"""
    )
    assert in_view
    page.keyboard.press("2")
    wait_for_codings(page, 1)
    assert Excerpt.objects.get().text == "en avtale med utleierne"


IN_VIEW = """([s, e]) => {
  const doc = document.getElementById("ws-doc");
  const r = window.wsDebug.idx.range(s, e).getBoundingClientRect();
  const box = doc.getBoundingClientRect();
  return {inView: r.height > 0 && r.top >= box.top && r.bottom <= box.bottom,
          scrolled: doc.scrollTop};
}"""


@pytest.mark.parametrize("link", ["passage", "legacy"])
def test_a_link_to_a_passage_opens_it_in_view_and_in_the_inspector(
    page, live_server, transcript, codes, bob, sue, link
):
    """Matrix cells, the framework, the dashboard, search and suggestions all link with
    Excerpt.get_absolute_url (models.passage_url); older pages carried ?excerpt=ID."""
    from coding import services

    from .workspace_data import span_of, u16

    s, e = span_of(transcript, "en avtale med utleierne")  # after the 20,000-character line
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=s, end=e, codes=[codes[1]], coder=bob
    )
    url = (
        excerpt.get_absolute_url()
        if link == "passage"
        else f"{transcript.get_absolute_url()}?excerpt={excerpt.pk}#excerpt-{excerpt.pk}"
    )
    log_in(page, live_server, "sue")
    page.goto(live_server.url + url)
    page.wait_for_selector("body[data-ws-ready='1']", state="attached")
    quote = page.locator("#ws-inspector-body:not([hidden]) .ws-quote")
    quote.wait_for()
    assert quote.inner_text() == "en avtale med utleierne"
    where = page.evaluate(IN_VIEW, [u16(transcript, s), u16(transcript, e)])
    assert where["scrolled"] > 0 and where["inView"], where


PICKER_TOP = """() => {
  const list = document.getElementById("ws-picker-list");
  const head = list.querySelector(".ws-picker-heading").getBoundingClientRect();
  const active = list.querySelector(".ws-pick.is-active").getBoundingClientRect();
  const box = list.getBoundingClientRect();
  return {top: list.scrollTop, heading: head.top >= box.top && head.bottom <= box.bottom,
          active: active.top >= box.top && active.bottom <= box.bottom};
}"""

PLACEHOLDER_FITS = """() => {
  const input = document.getElementById("ws-picker-search");
  const style = getComputedStyle(input);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `${style.fontSize} ${style.fontFamily}`;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return ctx.measureText(input.placeholder).width <= room;
}"""


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_code_picker_reopens_at_the_top_with_recent_codes_in_view(
    page, live_server, transcript, codes, bob, language
):
    """It reopened scrolled to where it was left, with "Recently used" and the row Enter would
    apply out of view; its placeholder was cut off."""
    from .factories import CodeFactory

    for i in range(25):
        CodeFactory(codebook=codes[0].codebook, name=f"Tema {i:02d}", order=10 + i)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    drag_select(page, "Vi samarbeider tett")
    page.wait_for_selector("#ws-picker:not([hidden])")
    assert page.evaluate(PLACEHOLDER_FITS)
    page.keyboard.press("1")  # codes[0]: now recently used
    wait_for_codings(page, 1)

    drag_select(page, "Det går bra nå")
    page.wait_for_selector("#ws-picker:not([hidden])")
    page.evaluate(
        "() => { const l = document.getElementById('ws-picker-list'); "
        "l.scrollTop = l.scrollHeight; }"
    )
    page.keyboard.press("Escape")
    page.wait_for_selector("#ws-picker", state="hidden")

    drag_select(page, "ærlige møter")
    page.wait_for_selector("#ws-picker:not([hidden])")
    where = page.evaluate(PICKER_TOP)
    assert where == {"top": 0, "heading": True, "active": True}, where


def test_clicking_a_code_in_the_codebook_codes_the_selected_words(
    page, live_server, transcript, codes, bob
):
    """The NVivo/MAXQDA habit: the click used to drop the selection and jump to that code's
    next passage."""
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    drag_select(page, "Vi samarbeider tett")
    page.wait_for_selector("#ws-picker:not([hidden])")  # the picker opens; the click ignores it
    page.click(f".ws-codebook .ws-code[data-code='{codes[2].pk}'] .name")
    wait_for_codings(page, 1)
    excerpt = Excerpt.objects.get()
    assert excerpt.text == "Vi samarbeider tett"
    assert [c.tag_id for c in excerpt.codings.all()] == [codes[2].pk]
    assert page.locator("#ws-picker").is_hidden()

    # Without a selection the click still jumps to the code's passage.
    page.click(f".ws-codebook .ws-code[data-code='{codes[2].pk}'] .name")
    quote = page.locator("#ws-inspector-body:not([hidden]) .ws-quote")
    quote.wait_for()
    assert quote.inner_text() == "Vi samarbeider tett"
    assert Coding.objects.count() == 1


CONTRAST = """(selector) => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.textContent.trim() || !el.getClientRects().length) continue;
    let bg = null;
    for (let n = el; n && !bg; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length < 4 || c[3] > 0) bg = c;
    }
    const fg = lum(parse(getComputedStyle(el).color));
    const back = lum(bg || [255, 255, 255]);
    out.push((Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05));
  }
  return out;
}"""

SECONDARY_TEXT = [
    ".pn",
    ".ws-meta span",
    ".ws-count-legend span",
    ".turn-head .who",
    ".ws-code .n",
    ".ws-inspector-empty p",
]


def test_secondary_text_and_paragraph_numbers_meet_wcag_aa(
    page, live_server, transcript, codes, bob
):
    """Secondary text was about 3.1:1 and paragraph numbers 2.3:1."""
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    for selector in SECONDARY_TEXT:
        ratios = page.evaluate(CONTRAST, selector)
        assert ratios, selector
        assert min(ratios) >= 4.5, (selector, min(ratios))


def test_the_hover_card_shows_a_memo_once_and_stays_inside_the_window(
    page, live_server, transcript, codes, bob
):
    from coding import services

    from .workspace_data import span_of

    s, e = span_of(transcript, "Vi samarbeider tett")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=s, end=e, codes=codes[:2], coder=bob
    )
    services.memo_save(
        project=transcript.case.project, author=bob, text="Et godt sitat", excerpt=excerpt
    )
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    box = page.evaluate(FIND, ["samarbeider", 1])
    # Scroll the passage to the very top of the window, then hover it there.
    page.evaluate(
        "(y) => document.getElementById('ws-doc').scrollBy(0, y - 4)",
        box["y1"] - page.evaluate("document.getElementById('ws-doc').getBoundingClientRect().top"),
    )
    box = page.evaluate(
        FIND.replace(
            "doc.scrollBy(0, r.top - doc.getBoundingClientRect().top - doc.clientHeight / 3);", ""
        ),
        ["samarbeider", 1],
    )
    page.mouse.move(box["x1"] + 10, box["y1"])
    page.wait_for_selector("#ws-tip:not([hidden])")
    assert page.locator("#ws-tip .ws-tip-row").count() == 2
    assert page.locator("#ws-tip .memo").count() == 1
    rect = page.locator("#ws-tip").bounding_box()
    assert rect["y"] >= 0 and rect["y"] + rect["height"] <= page.viewport_size["height"]


STACKED_BACKGROUNDS = """() => {
  const all = [];
  for (const [name, h] of CSS.highlights) {
    if (!/^ws-c\\d+$/.test(name)) continue;
    for (const r of h) {
      const x = document.createRange();
      x.setStart(r.startContainer, r.startOffset);
      x.setEnd(r.endContainer, r.endOffset);
      all.push([name, x]);
    }
  }
  let stacked = 0;
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const [n1, a] = all[i], [n2, b] = all[j];
      if (n1 === n2) continue;
      const apart = a.compareBoundaryPoints(Range.END_TO_START, b) >= 0 ||
                    b.compareBoundaryPoints(Range.END_TO_START, a) >= 0;
      if (!apart) stacked += 1;
    }
  }
  return stacked;
}"""


def test_overlapping_codes_are_told_apart_not_blended(page, live_server, transcript, codes, bob):
    """Overlapping highlights blended into grey or olive: now one background (the inner
    passage's code) and the other code's underline, as well as a stripe each in the margin."""
    from coding import services

    from .workspace_data import span_of

    a = span_of(transcript, "Vi samarbeider tett med NAV om boliger")
    b = span_of(transcript, "NAV om boliger. Det går")
    services.excerpt_code(transcript=transcript, start=a[0], end=a[1], codes=[codes[0]], coder=bob)
    services.excerpt_code(transcript=transcript, start=b[0], end=b[1], codes=[codes[1]], coder=bob)
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    assert page.evaluate(STACKED_BACKGROUNDS) == 0
    underlined = page.evaluate(
        """(code) => [...(CSS.highlights.get("ws-u" + code) || [])].map((r) => {
          const x = document.createRange();
          x.setStart(r.startContainer, r.startOffset); x.setEnd(r.endContainer, r.endOffset);
          return x.toString(); })""",
        codes[0].pk,
    )
    assert underlined == ["NAV om boliger"]  # the outer passage's code, under the inner one
    assert highlighted(page, codes[0]) == ["Vi samarbeider tett med NAV om boliger"]
    assert highlighted(page, codes[1]) == ["NAV om boliger. Det går"]
    assert page.locator(".stripe").count() == 2


def test_a_tall_hover_card_never_runs_off_the_top(page, live_server, transcript, codes, bob):
    from coding import services

    from .factories import CodeFactory
    from .workspace_data import span_of

    more = [
        CodeFactory(codebook=codes[0].codebook, name=f"Kode {i}", order=20 + i) for i in range(3)
    ]
    s, e = span_of(transcript, "Vi samarbeider tett")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=s, end=e, codes=[*codes, *more], coder=bob
    )
    services.memo_save(
        project=transcript.case.project, author=bob, text="Et langt notat " * 12, excerpt=excerpt
    )
    page.set_viewport_size({"width": 1280, "height": 420})
    log_in(page, live_server, "bob")
    open_transcript(page, live_server, transcript)
    box = page.evaluate(FIND, ["samarbeider", 1])  # a third down the text pane
    page.mouse.move(box["x1"] + 10, box["y1"])
    page.wait_for_selector("#ws-tip:not([hidden])")
    rect = page.locator("#ws-tip").bounding_box()
    assert rect["height"] > box["y1"]  # taller than the room above the pointer
    assert rect["y"] >= 0 and rect["y"] + rect["height"] <= 420
