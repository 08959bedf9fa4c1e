"""The memo overview: every memo in one list, its filters, the search by Norwegian word forms
(the lemma search's parser and lemmatizer), and each memo's link to where it belongs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from coding import services
from coding.models import Memo

from . import test_export_word

study = test_export_word.study  # the study of the Word export tests, as a fixture here too


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def memos(study, project, alice, bob):
    forankring, kompetanse, _m = study["codes"]
    drammen, sandnes = study["cases"]
    e1, e2, e3 = study["excerpts"]
    t1, _t2 = study["transcripts"]
    save = services.memo_save
    out = {
        # study already holds alice's memo on e1: "Viktig om boligene: se også Sandnes."
        "e1": Memo.objects.get(excerpt=e1),
        "e3": save(project=project, author=bob, excerpt=e3, text="Strategien løftet tjenestene."),
        "t1": save(project=project, author=bob, transcript=t1, text="Intervjuet ble avbrutt."),
        "case": save(project=project, author=alice, case=sandnes, text="Kommunen er liten."),
        "code": save(
            project=project, author=bob, code=kompetanse, text="Uklar grense mot ledelse."
        ),
        "project": save(project=project, author=alice, text="Husk tidslinjen for rapporten."),
    }
    # An old memo, for the date filter.
    Memo.objects.filter(pk=out["project"].pk).update(
        updated_at=timezone.now() - dt.timedelta(days=40)
    )
    return out


def listed(client, project, **query) -> list[int]:
    r = client.get(reverse("coding:memo-list", args=[project.pk]), query)
    assert r.status_code == 200
    html = r.content.decode()
    return [int(pk) for pk in re.findall(r'data-memo="(\d+)"', html)]


def test_every_memo_is_listed_newest_first(sue_client, project, memos):
    pks = listed(sue_client, project)
    assert set(pks) == {m.pk for m in memos.values()}
    assert pks[-1] == memos["project"].pk  # the old one last


def test_filters_by_author_kind_case_code_and_date(bob_client, project, memos, study, alice):
    ids = lambda *names: sorted(memos[n].pk for n in names)  # noqa: E731
    assert sorted(listed(bob_client, project, author=alice.pk)) == ids("e1", "case", "project")
    assert sorted(listed(bob_client, project, kind="excerpt")) == ids("e1", "e3")
    assert sorted(listed(bob_client, project, kind="project")) == ids("project")
    drammen, sandnes = study["cases"]
    # A case keeps the memos on it, its transcripts and their passages.
    assert sorted(listed(bob_client, project, case=drammen.pk)) == ids("e1", "t1")
    assert sorted(listed(bob_client, project, case=sandnes.pk)) == ids("e3", "case")
    kompetanse = study["codes"][1]
    assert sorted(listed(bob_client, project, code=kompetanse.pk)) == ids("code")
    forankring = study["codes"][0]
    assert sorted(listed(bob_client, project, code=forankring.pk)) == ids("e1", "e3")
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    assert memos["project"].pk not in listed(bob_client, project, date_from=since)
    assert listed(bob_client, project, date_to=since) == [memos["project"].pk]


def test_search_finds_other_forms_of_a_word(bob_client, project, memos):
    # "bolig" finds "boligene"; "tjeneste" finds "tjenestene"; a prefix finds the word begun so.
    assert listed(bob_client, project, q="bolig") == [memos["e1"].pk]
    assert listed(bob_client, project, q="tjeneste") == [memos["e3"].pk]
    assert listed(bob_client, project, q="tidslin*") == [memos["project"].pk]
    # Every word must be there.
    assert listed(bob_client, project, q="strategi tjeneste") == [memos["e3"].pk]
    assert listed(bob_client, project, q="strategi bolig") == []


def test_a_bad_query_says_why(bob_client, project, memos):
    r = bob_client.get(reverse("coding:memo-list", args=[project.pk]), {"q": "b*"})
    assert r.status_code == 200 and 'role="alert"' in r.content.decode()


def test_each_memo_opens_where_it_belongs(bob_client, project, memos, study):
    r = bob_client.get(reverse("coding:memo-list", args=[project.pk]))
    html = r.content.decode()
    e1 = study["excerpts"][0]
    t1 = study["transcripts"][0]
    passage = reverse("coding:transcript-detail", args=[e1.transcript_id])
    assert f'href="{passage}?excerpt={e1.pk}#excerpt-{e1.pk}"' in html
    assert f'href="{reverse("coding:transcript-detail", args=[t1.pk])}"' in html
    assert f'href="{reverse("coding:case-detail", args=[study["cases"][1].pk])}"' in html
    assert f'#code-{study["codes"][1].pk}"' in html
    assert f'href="{reverse("coding:project-detail", args=[project.pk])}#memos"' in html


def test_memo_text_is_escaped_and_outsiders_get_404(
    bob_client, charlie_client, project, memos, alice
):
    services.memo_save(project=project, author=alice, text="<script>alert(1)</script>")
    html = bob_client.get(reverse("coding:memo-list", args=[project.pk])).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert charlie_client.get(reverse("coding:memo-list", args=[project.pk])).status_code == 404


def test_the_case_page_and_the_code_page_link_to_their_memos(bob_client, project, study):
    sandnes = study["cases"][1]
    page = bob_client.get(reverse("coding:case-detail", args=[sandnes.pk])).content.decode()
    assert f"{reverse('coding:memo-list', args=[project.pk])}?case={sandnes.pk}" in page
    code = study["codes"][1]
    page = bob_client.get(reverse("coding:codebook-edit", args=[code.pk])).content.decode()
    assert f"{reverse('coding:memo-list', args=[project.pk])}?code={code.pk}" in page


# --- memo types -----------------------------------------------------------------------------


def types_url(project) -> str:
    return reverse("coding:memo-types", args=[project.pk])


def test_owners_edit_the_memo_types_and_others_may_not(
    alice_client, bob_client, sue_client, project, memos
):
    from coding.models import MemoType

    page = alice_client.get(types_url(project)).content.decode()
    assert "Teoretisk" in page and "<textarea" in page  # a suggestion to start from
    assert "<textarea" not in bob_client.get(types_url(project)).content.decode()
    assert bob_client.post(types_url(project), {"names": "Mine"}).status_code == 403
    assert sue_client.post(types_url(project), {"names": "Mine"}).status_code == 403
    r = alice_client.post(
        types_url(project), {"names": "Teoretisk\nMetodisk\n\nteoretisk\nÅ gjøre"}
    )
    assert r.status_code == 302
    assert list(MemoType.objects.filter(project=project).values_list("name", flat=True)) == [
        "Teoretisk",
        "Metodisk",
        "Å gjøre",
    ]
    # Removing a type leaves its memos without a label; a kept type keeps its memos.
    metodisk = MemoType.objects.get(name="Metodisk")
    teoretisk = MemoType.objects.get(name="Teoretisk")
    Memo.objects.filter(pk=memos["e3"].pk).update(memo_type=metodisk)
    Memo.objects.filter(pk=memos["t1"].pk).update(memo_type=teoretisk)
    alice_client.post(types_url(project), {"names": "Å gjøre\nTeoretisk"})
    assert list(MemoType.objects.filter(project=project).values_list("name", flat=True)) == [
        "Å gjøre",
        "Teoretisk",
    ]
    memos["e3"].refresh_from_db()
    memos["t1"].refresh_from_db()
    assert memos["e3"].memo_type is None and memos["t1"].memo_type == teoretisk


def test_an_author_labels_a_memo_and_the_list_shows_and_filters_it(
    alice_client, bob_client, project, memos
):
    from coding.models import MemoType

    alice_client.post(types_url(project), {"names": "Teoretisk\nRefleksiv"})
    refleksiv = MemoType.objects.get(name="Refleksiv")
    set_url = reverse("coding:memo-type-set", args=[memos["e3"].pk])  # bob's memo
    assert bob_client.post(set_url, {"type": refleksiv.pk}).status_code == 302
    # Bob may not label alice's memo; the owner may label any.
    other = reverse("coding:memo-type-set", args=[memos["case"].pk])
    assert bob_client.post(other, {"type": refleksiv.pk}).status_code == 403
    memos["e3"].refresh_from_db()
    assert memos["e3"].memo_type == refleksiv
    html = bob_client.get(reverse("coding:memo-list", args=[project.pk])).content.decode()
    assert '<span class="memo-type">Refleksiv</span>' in html
    assert listed(bob_client, project, type=refleksiv.pk) == [memos["e3"].pk]
    # A type of another project is refused.
    from .factories import ProjectFactory

    foreign = MemoType.objects.create(project=ProjectFactory(), name="Fremmed")
    assert bob_client.post(set_url, {"type": foreign.pk}).status_code == 404


# --- "see also" links -----------------------------------------------------------------------


def test_see_also_links_are_listed_on_both_sides(bob_client, alice_client, project, memos, study):
    from coding.models import MemoLink

    drammen, sandnes = study["cases"]
    kompetanse = study["codes"][1]
    link = reverse("coding:memo-link", args=[memos["e3"].pk])  # bob's memo on a Sandnes passage
    assert bob_client.post(link, {"case": drammen.pk}).status_code == 302
    assert bob_client.post(link, {"code": kompetanse.pk}).status_code == 302
    assert MemoLink.objects.filter(memo=memos["e3"]).count() == 2
    # The memo's side: its links, each opening the code or case.
    html = bob_client.get(reverse("coding:memo-list", args=[project.pk])).content.decode()
    assert f'href="{reverse("coding:case-detail", args=[drammen.pk])}">Drammen</a>' in html
    assert f'#code-{kompetanse.pk}">Kompetanse</a>' in html
    # The other side: the case's and the code's memos include it, marked as linking there.
    assert memos["e3"].pk in listed(bob_client, project, case=drammen.pk)
    assert memos["e3"].pk in listed(bob_client, project, code=kompetanse.pk)
    html = bob_client.get(
        reverse("coding:memo-list", args=[project.pk]), {"case": drammen.pk}
    ).content.decode()
    assert "links here" in html
    # Bob may not link alice's memo; removing takes the link away.
    other = reverse("coding:memo-link", args=[memos["case"].pk])
    assert bob_client.post(other, {"code": kompetanse.pk}).status_code == 403
    bob_client.post(link, {"case": drammen.pk, "remove": "1"})
    assert memos["e3"].pk not in listed(bob_client, project, case=drammen.pk)


def test_a_link_to_another_projects_case_is_404(bob_client, project, memos, bob):
    from coding.models import Membership, Role

    from .factories import CaseFactory, ProjectFactory

    elsewhere = ProjectFactory(name="Annet")
    Membership.objects.create(project=elsewhere, user=bob, role=Role.RESEARCHER)
    foreign = CaseFactory(project=elsewhere, name="Fremmed")
    link = reverse("coding:memo-link", args=[memos["e3"].pk])
    assert bob_client.post(link, {"case": foreign.pk}).status_code == 404
