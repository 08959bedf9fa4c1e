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


def _url(project, name="coding:analysis-agreement", **q):
    from urllib.parse import urlencode

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
    assert charlie_client.get(_url(project, "coding:analysis-agreement-export")).status_code == 404


def test_a_former_member_who_coded_can_still_be_chosen(coded, project, codebook):
    gone = UserFactory(username="gone")
    m = Membership.objects.create(project=project, user=gone, role=Role.RESEARCHER)
    services.excerpt_code(transcript=coded, start=0, end=20,
                          codes=[codebook.codes.first()], coder=gone)  # fmt: skip
    m.delete()
    from django.http import QueryDict

    from coding.forms_agreement import AgreementForm

    assert gone in AgreementForm(QueryDict(), project=project).coder_list
