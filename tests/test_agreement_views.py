"""The agreement page and its spreadsheet: figures, definitions, the order, and access."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from coding import services
from coding.analysis import agreement
from coding.models import Membership, Role

from .factories import CaseFactory, CodeFactory, TranscriptFactory, UserFactory

TEXT = " ".join(f"Setning {i} om boliger, æøå og 😀 i kommunen." for i in range(40))


@pytest.fixture
def coded(project, codebook, alice, bob, sue, charlie):
    """bob and alice code one transcript: on 'Enig' they agree, on 'Uenig' they do not."""
    t = TranscriptFactory(case=CaseFactory(project=project), text=TEXT, title="Intervju 1")
    enig = CodeFactory(codebook=codebook, name="Enig", order=0)
    uenig = CodeFactory(codebook=codebook, name="=Uenig", order=1)  # a formula-like name
    half = len(TEXT) // 2
    for coder in (bob, alice):
        services.excerpt_code(transcript=t, start=0, end=half, codes=[enig], coder=coder)
    services.excerpt_code(transcript=t, start=0, end=half, codes=[uenig], coder=bob)
    services.excerpt_code(transcript=t, start=half, end=len(TEXT), codes=[uenig], coder=alice)
    return t


def _url(project, name="coding:analysis-agreement", fmt=None, **q):
    from urllib.parse import urlencode

    if name == "coding:analysis-agreement-export":
        return reverse(name, args=[project.pk, fmt or "xlsx"]) + "?" + urlencode(q, doseq=True)
    return reverse(name, args=[project.pk]) + ("?" + urlencode(q, doseq=True) if q else "")


def test_the_page_shows_the_weakest_code_first_with_its_figures(coded, project, sue_client):
    r = sue_client.get(_url(project))
    assert r.status_code == 200
    html = r.content.decode()
    table = html[html.index('id="agreement-codes"') :]
    assert table.index("=Uenig") < table.index("Enig<")
    # =Uenig: every character disagrees: percent 0, kappa -1.
    uenig = table[table.index("=Uenig") :].split("</tr>")[0]
    assert re.search(r">-1[.,]00<", uenig) and re.search(r">0[.,]0 %<", uenig)
    assert "tegn" in html or "characters" in html  # the unit is stated
    assert 'id="agreement-heat"' in html and 'id="agreement-definitions"' in html
    # Codebook order on request.
    r = sue_client.get(_url(project, order="name"))
    table = r.content.decode()[r.content.decode().index('id="agreement-codes"') :]
    assert table.index("Enig<") < table.index("=Uenig")


def test_too_little_coding_is_said_not_shown_as_a_number(coded, project, codebook, bob, alice,
                                                          sue_client):  # fmt: skip
    small = CodeFactory(codebook=codebook, name="Lite")
    for coder in (bob, alice):
        services.excerpt_code(transcript=coded, start=0, end=7, codes=[small], coder=coder)
    report = agreement.build(project, coder_ids=[bob.pk, alice.pk], resamples=20)
    row = next(r for r in report.rows if r.code.name == "Lite")
    assert row.figure.values["cohen_kappa"] == pytest.approx(1.0) and row.figure.too_little
    html = sue_client.get(_url(project)).content.decode()
    lite = html[html.index('<th scope="row">Lite</th>') :].split("</tr>")[0]
    assert not re.search(r"1[.,]00", lite)
    assert "for lite koding" in lite or "too little coding" in lite


def test_one_coder_is_refused_with_a_message(coded, project, sue_client, bob):
    r = sue_client.get(_url(project, coders=[bob.pk]))
    assert r.status_code == 200 and 'role="alert"' in r.content.decode()
    r = sue_client.get(_url(project, "coding:analysis-agreement-export", coders=[bob.pk]))
    assert r.status_code == 400


def test_the_spreadsheet_holds_the_figures_and_the_definitions(coded, project, bob, alice,
                                                               sue_client):  # fmt: skip
    r = sue_client.get(_url(project, "coding:analysis-agreement-export",
                            coders=[bob.pk, alice.pk], unit="passage", threshold=80))  # fmt: skip
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    per_code = wb.worksheets[0]
    names = [per_code.cell(row=i, column=1).value for i in range(2, per_code.max_row + 1)]
    assert "=Uenig" in names and per_code.cell(row=2, column=1).data_type == "s"
    report = agreement.build(project, coder_ids=[bob.pk, alice.pk], unit="passage",
                             threshold=0.8, resamples=20)  # fmt: skip
    row = names.index("Enig") + 2
    assert per_code.cell(row=row, column=4).value == report.rows[
        [r.code.name for r in report.rows].index("Enig")
    ].figure.shown("percent")
    defs = wb.worksheets[-1]
    text = " ".join(str(c.value) for col in defs.iter_cols() for c in col if c.value)
    assert "Krippendorff" in text and "80" in text  # definitions and the threshold


def test_outsiders_get_404_and_a_lone_member_too_little(coded, project, charlie_client):
    assert charlie_client.get(_url(project)).status_code == 404
    for fmt in ("xlsx", "docx"):
        url = _url(project, "coding:analysis-agreement-export", fmt=fmt)
        assert charlie_client.get(url).status_code == 404


def test_a_former_member_who_coded_can_still_be_chosen(coded, project, codebook):
    gone = UserFactory(username="gone")
    m = Membership.objects.create(project=project, user=gone, role=Role.RESEARCHER)
    services.excerpt_code(transcript=coded, start=0, end=20,
                          codes=[codebook.codes.first()], coder=gone)  # fmt: skip
    m.delete()
    from django.http import QueryDict

    from coding.analysis.agreement_form import AgreementForm

    assert gone in AgreementForm(QueryDict(), project=project).coder_list


# --- the comparison view --------------------------------------------------------------------


def _compare(project, t, code, coders, **q):
    return _url(project, "coding:analysis-agreement-compare", code=code.pk,
                coders=[u.pk for u in coders], **q).replace(
        reverse("coding:analysis-agreement-compare", args=[project.pk]),
        reverse("coding:analysis-agreement-compare", args=[t.pk]),
    )  # fmt: skip


def test_the_comparison_marks_agreeing_boundary_and_one_coder_passages(
    project, codebook, case, alice, bob, sue_client
):
    text = "Første del. <b>Andre</b> del 😀 her. Tredje del kommer. Fjerde og siste del."
    t = TranscriptFactory(case=case, text=text)
    code = CodeFactory(codebook=codebook, name="K")

    def both(phrase, coders):
        s = text.index(phrase)
        for u in coders:
            services.excerpt_code(transcript=t, start=s, end=s + len(phrase), codes=[code],
                                  coder=u)  # fmt: skip

    both("Første del.", [alice, bob])  # agree
    both("<b>Andre</b> del 😀", [alice])  # boundary: bob codes a longer stretch
    both("<b>Andre</b> del 😀 her.", [bob])
    both("Fjerde", [bob])  # only bob
    from coding.analysis.comparison import compare

    passages = compare(t, {code.pk}, [alice, bob])
    assert [p.kind for p in passages] == ["agree", "boundary", "only"]
    assert "".join(x.text for x in passages[1].lanes[0]) == "<b>Andre</b> del 😀 her."
    assert [x.coded for x in passages[1].lanes[0]] == [True, False]
    assert passages[2].coders == [bob.pk]

    html = sue_client.get(_compare(project, t, code, [alice, bob])).content.decode()
    assert html.count("data-disagreement") == 2
    assert "&lt;b&gt;Andre&lt;/b&gt;" in html and "<b>Andre" not in html  # text is escaped
    boundary = html[html.index('id="passage-1"') : html.index('id="passage-2"')]
    # The coders' lanes (the consensus lane, "lane lane-consensus", follows them).
    alice_lane, bob_lane = boundary.split('<div class="lane">')[1:]
    assert re.search(r'<span class="uncoded"[^>]*> her\.</span>', alice_lane)
    assert re.search(r'<mark class="compare-boundary"[^>]*> her\.</mark>', bob_lane)
    assert re.search(r'<mark class="compare-agree"[^>]*>&lt;b&gt;Andre', alice_lane)


def test_the_comparison_refuses_outsiders_and_foreign_codes(
    coded, project, alice, bob, charlie_client, sue_client
):
    code = project.codebooks.get().codes.get(name="Enig")
    url = _compare(project, coded, code, [alice, bob])
    assert sue_client.get(url).status_code == 200
    assert charlie_client.get(url).status_code == 404
    foreign = CodeFactory(name="Fremmed")  # another project's codebook
    assert sue_client.get(_compare(project, coded, foreign, [alice, bob])).status_code == 404
    assert sue_client.get(url.replace(f"code={code.pk}", "code=x")).status_code == 404


def test_chosen_codes_and_rolled_up_sub_codes(coded, project, codebook, alice, bob, sue_client):
    enig = codebook.codes.get(name="Enig")
    child = CodeFactory(codebook=codebook, name="Underkode", parent=enig, order=2)
    half = len(TEXT) // 2
    services.excerpt_code(transcript=coded, start=half, end=len(TEXT), codes=[child], coder=bob)
    r = sue_client.get(_url(project, codes=[enig.pk], cases=[coded.case_id]))
    html = r.content.decode()
    table = html[html.index('id="agreement-codes"') : html.index('id="agreement-heat"')]
    assert "Enig" in table and "Uenig" not in table and "Underkode" not in table
    assert f'name="cases" value="{coded.case_id}"' in html  # the other filters travel along
    own = agreement.build(project, coder_ids=[bob.pk, alice.pk], data={"codes": [enig.pk]},
                          resamples=10)  # fmt: skip
    rollup = {"codes": [enig.pk], "subcodes": "rollup"}
    rolled = agreement.build(project, coder_ids=[bob.pk, alice.pk], data=rollup, resamples=10)
    assert own.rows[0].figure.values["percent"] == pytest.approx(1.0)
    # Rolled up, bob's sub-code coding of the second half counts as Enig: half disagrees.
    assert rolled.rows[0].figure.values["percent"] == pytest.approx(
        1 - (len(TEXT) - half) / len(TEXT)
    )


def test_the_word_report_holds_the_figures_and_the_definitions(coded, project, sue_client):
    import docx

    r = sue_client.get(_url(project, "coding:analysis-agreement-export", fmt="docx"))
    assert r.status_code == 200 and r["Content-Type"].endswith("wordprocessingml.document")
    document = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Krippendorff" in text and "Brennan" in text  # the definitions
    names = [row.cells[0].text for row in document.tables[1].rows[1:]]
    assert names == ["=Uenig", "Enig"]  # weakest first
    assert (
        sue_client.get(
            reverse("coding:analysis-agreement-export", args=[project.pk, "pdf"])
        ).status_code
        == 404
    )
