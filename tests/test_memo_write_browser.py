"""A researcher writes a case memo on the case page and a code memo in the codebook in a real
Chromium (htmx posts the forms in place; a refused one shows its error where it stands), then
finds both in the memo overview, each under its kind."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding.models import AuditAction, AuditEvent, Memo, MemoType

from .test_workspace_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def test_a_researcher_writes_a_case_memo_and_a_code_memo_and_finds_both(
    page, live_server, project, case, codes, bob, alice
):
    MemoType.objects.create(project=project, name="Teoretisk", order=0)
    kompetanse = codes[1]
    log_in(page, live_server, "bob")

    # The case page: an empty memo is refused in place, without a page load.
    page.goto(live_server.url + reverse("coding:case-detail", args=[case.pk]))
    page.evaluate("window.__samePage = true")
    form = page.locator("#case-memos form.memo-write")
    form.locator("textarea[name=text]").fill("   ")
    form.locator("button.primary").click()
    page.locator("#case-memos form.memo-write [role=alert]").wait_for()
    assert "This field is required." in page.locator("#case-memos [role=alert]").inner_text()
    assert page.evaluate("window.__samePage === true")
    assert not Memo.objects.exists()

    form = page.locator("#case-memos form.memo-write")
    form.locator("input[name=title]").fill("Forankring i Drammen")
    form.locator("select[name=memo_type]").select_option(label="Teoretisk")
    form.locator("textarea[name=text]").fill("Rådmannen bar arbeidet <fra starten>.")
    with page.expect_navigation():  # saved: htmx reloads the page, which lists the memo
        form.locator("button.primary").click()
    item = page.locator("#case-memos .memo-beside .memo-item")
    item.wait_for()
    assert "Rådmannen bar arbeidet <fra starten>." in item.inner_text()
    assert "Teoretisk" in item.inner_text()
    case_memo = Memo.objects.get(case=case)
    assert (case_memo.author, case_memo.title, case_memo.memo_type.name) == (
        bob,
        "Forankring i Drammen",
        "Teoretisk",
    )

    # The codebook: the code's memos open, the form comes in place, the memo is saved.
    page.goto(live_server.url + reverse("coding:codebook", args=[project.pk]))
    node = page.locator(f"#code-{kompetanse.pk}")
    node.locator("details.code-memos > summary").click()
    node.locator("a.memo-write-new").click()
    code_form = node.locator("form.memo-write")
    code_form.wait_for()
    code_form.locator("textarea[name=text]").fill("Kompetanse betyr her erfaring, ikke kurs.")
    with page.expect_navigation():
        code_form.locator("button.primary").click()
    node = page.locator(f"#code-{kompetanse.pk}")
    node.locator("details.code-memos > summary").click()
    assert "Kompetanse betyr her erfaring, ikke kurs." in node.locator(".memo-beside").inner_text()
    code_memo = Memo.objects.get(code=kompetanse)
    assert code_memo.author == bob
    assert AuditEvent.objects.filter(action=AuditAction.MEMO_SAVE, actor=bob).count() == 2

    # The memo overview lists both, each under its kind, and filters by kind.
    page.goto(live_server.url + reverse("coding:memo-list", args=[project.pk]))
    rows = page.locator("ol.memo-list > li.memo-item")
    assert rows.count() == 2
    assert page.locator(f"li[data-memo='{case_memo.pk}'][data-kind='case']").count() == 1
    assert page.locator(f"li[data-memo='{code_memo.pk}'][data-kind='code']").count() == 1
    page.select_option("select[name=kind]", "code")
    page.click(".memo-filters button[type=submit]")
    page.wait_for_url(lambda url: "kind=code" in url)
    rows = page.locator("ol.memo-list > li.memo-item")
    assert rows.count() == 1
    assert "Kompetanse betyr her erfaring" in rows.first.inner_text()
    assert not page.errors
