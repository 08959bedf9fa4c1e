"""The supervisors' dashboard: frequencies, progress, activity, loose ends (hand-counted)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding import services
from coding.analysis import supervision
from coding.models import Case, CaseKind

from . import analysis_data as ad


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def study(project, bob, alice, sue):
    return ad.build(project, bob, alice)


def test_code_frequencies_per_code_coder_and_case(study):
    board = supervision.build(study.project)
    assert [c.name for c in board.coders] == ["alice", "bob"]  # who may code; sue does not
    by_code = {r.code.name: (r.by_coder, r.total, r.subtree_total) for r in board.codes}
    # Codings by hand: bob e1 F O, e2 B, e4 F, e5 O, e7 F B; alice e1 F, e3 O N, e6 B, e8 B.
    assert by_code["Forankring"] == ([1, 3], 4, 4)
    assert by_code["Organisering"] == ([1, 2], 3, 3)
    assert by_code["Brukermedvirkning"] == ([2, 2], 4, 4)
    assert by_code["Suksessfaktorer"] == ([0, 0], 0, 11)
    assert by_code["Tema"] == ([0, 0], 0, 1)
    by_case = {r.case.name: (r.by_coder, r.total) for r in board.cases}
    assert by_case == {
        "Drammen": ([3, 3], 6),
        "Sandnes": ([2, 2], 4),
        "Rana": ([0, 2], 2),
        "Vadsø": ([0, 0], 0),
    }
    assert board.total_codings == 12
    assert [c.name for c in board.unused] == ["Innovasjon"]


def test_coding_progress_per_transcript_and_coder(study):
    board = supervision.build(study.project)
    ts1 = study.transcripts["TS1"]
    row = next(t for t in board.transcripts if t.pk == ts1.pk)
    covered = len(ad.D1) + len(ad.D2) + len(ad.E)  # e5 and e6 overlap: counted once
    assert row.coverage.share == pytest.approx(covered / len(ts1.text))
    assert row.codings == 4
    assert row.per_1000 == round(1000 * 4 / ts1.word_count, 1)
    alice_cov, alice_n = row.by_coder[0]
    e6 = study.excerpts["e6"]
    assert alice_n == 2
    assert alice_cov.share == pytest.approx((len(ad.D2) + e6.end - e6.start) / len(ts1.text))
    coders = {r.coder.name: r for r in board.coder_rows}
    assert (coders["bob"].codings, coders["bob"].transcripts) == (7, 3)
    assert (coders["alice"].codings, coders["alice"].transcripts) == (5, 3)


def test_excerpts_without_memos_when_the_project_asks_for_memos(study, bob):
    services.memo_save(project=study.project, author=bob, excerpt=study.excerpts["e1"], text="Ok")
    board = supervision.build(study.project)
    assert not board.memos_required and board.memoless_count == 0
    study.project.memos_required = True
    study.project.save(update_fields=["memos_required"])
    board = supervision.build(study.project)
    assert board.memoless_count == 7  # eight excerpts, one with a memo
    shown = {m["excerpt"].pk for m in board.memoless}
    assert study.excerpts["e1"].pk not in shown and study.excerpts["e2"].pk in shown


def test_the_dashboard_page_draws_charts_from_the_table_numbers(sue_client, study):
    r = sue_client.get(reverse("coding:dashboard", args=[study.project.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count("<svg") >= 2
    # The bar's segment and the table cell say the same: Forankring, bob, 3 codings.
    assert "<title>Forankring · bob: 3</title>" in html
    assert "Innovasjon" in html  # never used
    assert "Code applied" in html or "code applied" in html  # recent activity


def test_svg_coordinates_are_never_written_with_a_decimal_comma(sue_client, study):
    sue_client.cookies["django_language"] = "nb"
    html = sue_client.get(reverse("coding:dashboard", args=[study.project.pk])).content.decode()
    attrs = re.findall(r'(?:x|width|x1|x2)="([^"]*)"', html)
    assert attrs and not [a for a in attrs if "," in a]


def test_charlie_gets_404_and_the_dashboard_is_constant_in_queries(
    charlie_client, bob_client, study, bob
):
    dash = reverse("coding:dashboard", args=[study.project.pk])
    assert charlie_client.get(dash).status_code == 404

    def get() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert bob_client.get(dash).status_code == 200
        return len(ctx.captured_queries)

    study.project.memos_required = True
    study.project.save(update_fields=["memos_required"])
    before = get()
    for i in range(4):
        case = Case.objects.create(project=study.project, name=f"K{i}", kind=CaseKind.IN_DEPTH)
        inf = case.informants.create(pseudonym=f"P{i}", level="strategic")
        t = ad.make_transcript(case, f"T{i}", "2021-03-03", [(ad.INTERVIEWER, "Hei?"), (inf, ad.C)])
        ad.code(study, t, ad.C, "FOBN", bob)
    assert get() == before


def test_an_owner_who_never_coded_is_not_a_coder_and_colours_match_the_project_page(
    project, alice, bob, codes, case
):
    """ "3 kodere" counted the owner, with an empty first column; the project page and the
    dashboard gave a coder different colours."""
    from coding.analysis import progress
    from coding.models import Membership, Role

    from .factories import TranscriptFactory, UserFactory

    kari = UserFactory(username="kari", first_name="Kari", last_name="Koder")
    Membership.objects.create(project=project, user=kari, role=Role.RESEARCHER)
    t = TranscriptFactory(case=case, text="I: Hei.\n\nIP: Vi samarbeider tett med NAV.")
    for coder, code in ((bob, codes[0]), (kari, codes[1])):
        services.excerpt_code(transcript=t, start=18, end=29, codes=[code], coder=coder)
    board = supervision.build(project)
    assert [c.name for c in board.coders] == ["bob", "Kari Koder"]  # not alice, the owner
    home = {c.name: c.colour for c in progress.project_progress(project).coders}
    assert {c.name: c.colour for c in board.coders} == home
    assert len(set(home.values())) == 2
