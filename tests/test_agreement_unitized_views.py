"""The unitized alphas on the agreement page and in its XLSX and Word exports."""

from __future__ import annotations

import io

import docx
import pytest
from openpyxl import load_workbook

from coding import services
from coding.analysis import unitized
from coding.analysis.agreement_page import num

from .factories import CodeFactory
from .test_agreement_views import TEXT, _url, coded  # noqa: F401


@pytest.fixture
def domain(coded, codebook, bob, alice):  # noqa: F811
    """A domain 'Bolig' with two sub-codes: bob and alice agree on the text, not on the sub-code
    for its second half."""
    bolig = CodeFactory(codebook=codebook, name="Bolig", order=2)
    leie = CodeFactory(codebook=codebook, name="Leie", parent=bolig, order=0)
    eie = CodeFactory(codebook=codebook, name="Eie", parent=bolig, order=1)
    third = len(TEXT) // 3
    for coder in (bob, alice):
        services.excerpt_code(transcript=coded, start=0, end=third, codes=[leie], coder=coder)
    services.excerpt_code(transcript=coded, start=third, end=2 * third, codes=[leie], coder=bob)
    services.excerpt_code(transcript=coded, start=third, end=2 * third, codes=[eie], coder=alice)
    return bolig


def test_the_page_shows_the_unitized_alphas_and_their_definitions(
    domain, project, bob, alice, sue_client
):
    r = sue_client.get(_url(project, coders=[bob.pk, alice.pk], unit="unitized"))
    assert r.status_code == 200
    html = r.content.decode()
    section = html[html.index('id="agreement-unitized"') :]
    report = unitized.build(project, coder_ids=[bob.pk, alice.pk], resamples=20)
    row = next(x for x in report.rows if x.code.name == "Bolig")
    assert row.domain is not None
    cu = row.domain.shown("cu_alpha")
    assert cu is not None and cu < 0.5  # half the shared text got the other category
    bolig = section[section.index('<th scope="row">Bolig</th>') :].split("</tr>")[0]
    assert f">{num(cu)}<" in bolig and "Leie" in bolig and "Eie" in bolig
    enig = section[section.index('<th scope="row">Enig</th>') :].split("</tr>")[0]
    assert f">{num(1.0)}<" in enig  # both coded exactly the same half
    definitions = html[html.index('id="agreement-definitions"') :]
    assert "|uα" in definitions and "cuα" in definitions and "Cuα" in definitions
    assert "Widlöcher" in definitions
    # The character figures are still there; without the choice there is no unitized section.
    assert 'id="agreement-codes"' in html
    plain = sue_client.get(_url(project, coders=[bob.pk, alice.pk])).content.decode()
    assert 'id="agreement-unitized"' not in plain


def test_the_exports_hold_the_unitized_alphas_and_their_definitions(
    domain, project, bob, alice, sue_client
):
    q = {"coders": [bob.pk, alice.pk], "unit": "unitized"}
    r = sue_client.get(_url(project, "coding:analysis-agreement-export", fmt="xlsx", **q))
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb.worksheets[-1]
    cells = {
        sheet.cell(row=i, column=1).value: [c.value for c in sheet[i]]
        for i in range(2, sheet.max_row + 1)
    }
    report = unitized.build(project, coder_ids=[bob.pk, alice.pk], resamples=20)
    by_name = {x.code.name: x for x in report.rows}
    assert cells["Enig"][3] == pytest.approx(by_name["Enig"].figure.shown("u_alpha_binary"))
    assert cells["Bolig"][11] == pytest.approx(by_name["Bolig"].domain.shown("cu_alpha"))
    text = " ".join(str(c.value) for col in sheet.iter_cols() for c in col if c.value)
    assert "Widlöcher" in text and "cuα" in text

    r = sue_client.get(_url(project, "coding:analysis-agreement-export", fmt="docx", **q))
    document = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Widlöcher" in text and "Cuα" in text
    heads = [[c.text for c in t.rows[0].cells] for t in document.tables]
    table = document.tables[next(i for i, h in enumerate(heads) if len(h) == 7 and "|uα" in h[2])]
    names = [row.cells[0].text for row in table.rows[1:]]
    assert set(names) >= {"Enig", "Bolig", "Leie"}
    bolig = table.rows[1 + names.index("Bolig")]
    assert bolig.cells[5].text == num(by_name["Bolig"].domain.shown("cu_alpha"))


def test_outsiders_get_404_for_the_unitized_choice(coded, project, charlie_client):  # noqa: F811
    assert charlie_client.get(_url(project, unit="unitized")).status_code == 404
    url = _url(project, "coding:analysis-agreement-export", fmt="xlsx", unit="unitized")
    assert charlie_client.get(url).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_chooses_the_unitized_alphas_in_a_browser(
    page, live_server, project, codebook, alice, bob, sue
):
    from django.urls import reverse

    from .factories import CaseFactory, TranscriptFactory
    from .test_agreement_browser import log_in

    t = TranscriptFactory(case=CaseFactory(project=project), text=TEXT, title="Intervju 1")
    bolig = CodeFactory(codebook=codebook, name="Bolig", order=0)
    leie = CodeFactory(codebook=codebook, name="Leie", parent=bolig, order=0)
    eie = CodeFactory(codebook=codebook, name="Eie", parent=bolig, order=1)
    third = len(TEXT) // 3
    for coder in (alice, bob):
        services.excerpt_code(transcript=t, start=0, end=third, codes=[leie], coder=coder)
    services.excerpt_code(transcript=t, start=third, end=2 * third, codes=[eie], coder=bob)
    services.excerpt_code(transcript=t, start=third, end=2 * third, codes=[leie], coder=alice)

    log_in(page, live_server, "sue")
    page.goto(live_server.url + reverse("coding:analysis-agreement", args=[project.pk]))
    assert page.locator("#agreement-unitized").count() == 0
    page.select_option("select[name=unit]", "unitized")
    page.locator("form.agreement-form button[type=submit]").click()
    page.wait_for_selector("#agreement-unitized")
    report = unitized.build(project, coder_ids=[alice.pk, bob.pk], resamples=0)
    row = next(r for r in report.rows if r.code.name == "Bolig")
    cells = page.locator("#unitized-codes tr[data-code='%d'] td" % bolig.pk).all_inner_texts()
    assert num(row.domain.shown("cu_alpha")) in cells
    assert "Leie" in cells[-1] and "Eie" in cells[-1]
    assert "Cuα" in page.locator("#agreement-definitions").inner_text()
