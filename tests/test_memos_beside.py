"""Memos where researchers look (issue 17): the supervisors' dashboard lists the recent memos,
the case page its case memos, the codebook each code's memos, each with the memos that link
there ("see also"); the matrix drill-down shows the passages' memos."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from coding import services
from coding.analysis import memo_overview
from coding.models import Memo

from . import test_memo_list

study = test_memo_list.study
memos = test_memo_list.memos


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def memo_ids(html: str, section_id: str) -> list[int]:
    """The memos listed in the page's element ``id=section_id`` (up to its closing section)."""
    start = html.index(f'id="{section_id}"')
    end = html.index("</section>", start)
    return [int(pk) for pk in re.findall(r'data-memo="(\d+)"', html[start:end])]


def test_the_dashboard_lists_the_recent_memos_newest_first(sue_client, project, memos, alice):
    newest = services.memo_save(project=project, author=alice, text="Skrevet nå <b>fet</b>")
    html = sue_client.get(reverse("coding:dashboard", args=[project.pk])).content.decode()
    ids = memo_ids(html, "recent-memos")
    assert ids[0] == newest.pk
    assert memos["project"].pk == ids[-1], "the 40-day-old memo comes last"
    assert set(ids) == {newest.pk, *(m.pk for m in memos.values())}
    assert "&lt;b&gt;fet&lt;/b&gt;" in html and "<b>fet</b>" not in html
    # Each says where it belongs and opens there.
    assert f'href="{memos["case"].target_url()}"' in html


def test_the_dashboard_shows_at_most_the_newest_few(sue_client, project, alice):
    made = [
        services.memo_save(project=project, author=alice, text=f"Notat {i}")
        for i in range(memo_overview.SHOWN_BESIDE + 3)
    ]
    for i, m in enumerate(made):
        Memo.objects.filter(pk=m.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=i))
    html = sue_client.get(reverse("coding:dashboard", args=[project.pk])).content.decode()
    assert memo_ids(html, "recent-memos") == [m.pk for m in made[: memo_overview.SHOWN_BESIDE]]


def test_an_empty_project_says_it_has_no_memos_yet(sue_client, project):
    html = sue_client.get(reverse("coding:dashboard", args=[project.pk])).content.decode()
    assert memo_ids(html, "recent-memos") == []
    assert "No memos yet." in html


def test_the_case_page_lists_its_case_memos_and_those_linking_to_it(
    bob_client, project, memos, study, bob
):
    drammen, sandnes = study["cases"]
    html = bob_client.get(reverse("coding:case-detail", args=[sandnes.pk])).content.decode()
    assert memo_ids(html, "case-memos") == [memos["case"].pk]
    assert "Kommunen er liten." in html
    html = bob_client.get(reverse("coding:case-detail", args=[drammen.pk])).content.decode()
    assert memo_ids(html, "case-memos") == []
    assert "No memo on this case yet." in html
    # A "see also" link from bob's passage memo puts it on Drammen's page, marked as such.
    services.memo_link_set(memo=memos["e3"], actor=bob, case=drammen)
    html = bob_client.get(reverse("coding:case-detail", args=[drammen.pk])).content.decode()
    assert memo_ids(html, "case-memos") == [memos["e3"].pk]
    section = html[html.index('id="case-memos"') :]
    assert "links here" in section.split("</section>")[0]


def test_the_codebook_lists_each_codes_memos_and_those_linking_to_it(
    sue_client, project, memos, study, bob
):
    forankring, kompetanse, medvirkning = study["codes"]
    services.memo_link_set(memo=memos["e3"], actor=bob, code=medvirkning)
    html = sue_client.get(reverse("coding:codebook", args=[project.pk])).content.decode()

    def node(code) -> str:
        start = html.index(f'id="code-{code.pk}"')
        return html[start : html.index('<div class="code-count"', start)]

    assert re.findall(r'data-memo="(\d+)"', node(kompetanse)) == [str(memos["code"].pk)]
    assert "Uklar grense mot ledelse." in node(kompetanse)
    assert re.findall(r'data-memo="(\d+)"', node(medvirkning)) == [str(memos["e3"].pk)]
    assert "links here" in node(medvirkning)
    assert "data-memo" not in node(forankring)


def test_the_matrix_drill_down_shows_the_passages_memos(bob_client, project, study):
    forankring = study["codes"][0]
    drammen = study["cases"][0]
    r = bob_client.get(
        reverse("coding:analysis-matrix-cell", args=[project.pk]),
        {"row": drammen.pk, "col": forankring.pk},
    )
    assert r.status_code == 200
    assert "Viktig om boligene: se også Sandnes." in r.content.decode()


# --- "see also" passage links from the UI ---------------------------------------------------


def edit_url(memo) -> str:
    return reverse("coding:memo-edit", args=[memo.pk])


def test_a_researcher_finds_a_passage_and_links_a_memo_to_it(
    bob_client, alice_client, project, memos, study, bob
):
    from coding.models import AuditAction, AuditEvent, MemoLink

    e1, e2, _e3 = study["excerpts"]
    memo = memos["e3"]  # bob's memo on a Sandnes passage
    page = bob_client.get(edit_url(memo), {"q": "rådmannen TYDELIG"}).content.decode()
    offered = [int(pk) for pk in re.findall(r'<li data-excerpt="(\d+)"', page)]
    assert offered == [e2.pk], "every word must be in the passage, in any case"
    everything = bob_client.get(edit_url(memo)).content.decode()
    offered = {int(pk) for pk in re.findall(r'<li data-excerpt="(\d+)"', everything)}
    assert offered == {e1.pk, e2.pk}, "the memo's own passage is not offered"
    r = bob_client.post(
        reverse("coding:memo-link", args=[memo.pk]),
        {"excerpt": e2.pk, "next": edit_url(memo)},
    )
    assert r.status_code == 302 and r["Location"] == edit_url(memo)
    assert list(MemoLink.objects.filter(memo=memo).values_list("excerpt_id", flat=True)) == [e2.pk]
    event = AuditEvent.objects.get(action=AuditAction.MEMO_LINK_ADD)
    assert (event.actor, event.details["excerpt"], event.transcript_id) == (
        bob,
        e2.pk,
        e2.transcript_id,
    )
    # Linked now: no longer offered, listed on the memo's side with a way to remove it.
    page = bob_client.get(edit_url(memo)).content.decode()
    assert f'<li data-excerpt="{e2.pk}"' not in page
    assert f'data-link-excerpt="{e2.pk}"' in page
    # The passage's side: its inspector lists the memo that links to it.
    detail = bob_client.get(reverse("coding:workspace-excerpt", args=[e2.pk])).json()
    assert [m["id"] for m in detail["linkedFrom"]] == [memo.pk]
    # The memo's own passage lists the link, and offers bob the picker.
    detail = bob_client.get(reverse("coding:workspace-excerpt", args=[memo.excerpt_id])).json()
    (mine,) = detail["memos"]
    assert [link["url"] for link in mine["links"]] == [e2.get_absolute_url()]
    assert mine["linkUrl"].startswith(edit_url(memo))
    # Removing is audited too.
    bob_client.post(reverse("coding:memo-link", args=[memo.pk]), {"excerpt": e2.pk, "remove": "1"})
    assert not MemoLink.objects.filter(memo=memo).exists()
    assert AuditEvent.objects.filter(action=AuditAction.MEMO_LINK_REMOVE).count() == 1


def test_the_link_editor_follows_the_memo_rules(
    bob_client, sue_client, charlie_client, alice_client, project, memos, study
):
    assert bob_client.get(edit_url(memos["case"])).status_code == 403  # alice's memo
    assert alice_client.get(edit_url(memos["e3"])).status_code == 200  # the owner: any memo
    assert sue_client.get(edit_url(memos["e3"])).status_code == 403
    assert charlie_client.get(edit_url(memos["e3"])).status_code == 404
    # The inspector offers the picker only to who may use it.
    e3 = study["excerpts"][2]
    detail = sue_client.get(reverse("coding:workspace-excerpt", args=[e3.pk])).json()
    assert [m["linkUrl"] for m in detail["memos"]] == [None]
    # A memo cannot link to its own passage.
    r = bob_client.post(
        reverse("coding:memo-link", args=[memos["e3"].pk]), {"excerpt": e3.pk}, follow=True
    )
    assert "A memo is already on this passage" in r.content.decode()
    assert not memos["e3"].links.exists()


def test_a_passage_of_another_project_cannot_be_linked_or_searched(bob_client, project, memos, bob):
    from coding.models import Membership, Role

    from .factories import CaseFactory, ProjectFactory, TranscriptFactory

    elsewhere = ProjectFactory(name="Annet")
    Membership.objects.create(project=elsewhere, user=bob, role=Role.RESEARCHER)
    foreign = TranscriptFactory(case=CaseFactory(project=elsewhere))
    assert bob_client.get(edit_url(memos["e3"]), {"transcript": foreign.pk}).status_code == 404
    assert bob_client.get(edit_url(memos["e3"]), {"transcript": "x"}).status_code == 404


def test_the_memo_list_row_fetches_its_editor_on_demand(bob_client, project, memos):
    html = bob_client.get(reverse("coding:memo-list", args=[project.pk])).content.decode()
    assert "<select" not in html.split('<ol class="memo-list">')[1], "rows carry no forms"
    assert f'hx-get="{edit_url(memos["e3"])}?next=' in html
    fragment = bob_client.get(
        edit_url(memos["e3"]), {"next": "/x/"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert fragment.lstrip().startswith('<div class="memo-edit"')
    assert 'name="next" value="/x/"' in fragment, "the forms return to the list"


# --- the memo overview in pages -------------------------------------------------------------


def test_the_memo_overview_is_paged_and_the_page_links_keep_the_filters(
    bob_client, project, alice, study
):
    sandnes = study["cases"][1]
    n = memo_overview.PAGE_SIZE + 5
    for i in range(n):
        services.memo_save(project=project, author=alice, case=sandnes, text=f"Notat {i}")
    url = reverse("coding:memo-list", args=[project.pk])
    r = bob_client.get(url, {"case": sandnes.pk, "author": alice.pk})
    html = r.content.decode()
    first = re.findall(r'data-memo="(\d+)"', html)
    assert len(first) == memo_overview.PAGE_SIZE
    assert f"{n} memos" in html
    (older,) = re.findall(r'rel="next" href="([^"]+)"', html)
    older = older.replace("&amp;", "&")
    assert f"case={sandnes.pk}" in older and f"author={alice.pk}" in older and "page=2" in older
    second = re.findall(r'data-memo="(\d+)"', bob_client.get(url + older).content.decode())
    assert len(second) == 5 and not set(first) & set(second)
    # The search pages too.
    r = bob_client.get(url, {"q": "notat", "page": 2})
    assert len(re.findall(r'data-memo="(\d+)"', r.content.decode())) == 5


def test_the_picker_on_its_own_page_returns_to_its_search(bob_client, project, memos):
    url = edit_url(memos["e3"])
    fragment = bob_client.get(
        url,
        {"q": "strategi", "next": "/t/"},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}?next=/t/"},
    ).content.decode()
    assert f'name="next" value="{url}?q=strategi&amp;next=%2Ft%2F"' in fragment
    assert 'hx-push-url="true"' in fragment
