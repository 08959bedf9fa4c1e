"""The framework matrix written in the grid: every cell, case summary and cross-case synthesis
an editor saved without a page load (framework_save), the conflict rule, the progress line,
and the side panel (excerpts, "compare with")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding import services
from coding.models import FrameworkSummary, FrameworkSummaryRevision

from . import analysis_data as ad


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def study(project, bob, alice):
    return ad.build(project, bob, alice)


def save_url(study) -> str:
    return reverse("coding:analysis-framework-save", args=[study.project.pk])


def panel_url(study) -> str:
    return reverse("coding:analysis-framework-panel", args=[study.project.pk])


def post(client, study, *, case=None, code=None, text="", version=0, query=""):
    return client.post(
        save_url(study),
        {
            "case": case.pk if case else "",
            "code": code.pk if code else "",
            "text": text,
            "version": version,
            "query": query,
        },
        HTTP_HX_REQUEST="true",
    )


def test_the_grid_holds_an_editor_per_cell_case_summary_and_synthesis(bob_client, study):
    page = bob_client.get(reverse("coding:analysis-framework", args=[study.project.pk]))
    html = page.content.decode()
    drammen, o = study.cases["Drammen"], study.codes["O"]
    assert f'id="fwv-{drammen.pk}-{o.pk}"' in html  # a cell
    assert f'id="fwv-{drammen.pk}-0"' in html  # the case summary
    assert f'id="fwv-0-{o.pk}"' in html  # the cross-case synthesis
    assert "fw-progress" in html and "cells have a summary" in html
    assert "framework.js" in html


def test_a_cell_saves_in_place_and_answers_with_out_of_band_fragments(bob_client, study, bob):
    drammen, o = study.cases["Drammen"], study.codes["O"]
    r = post(bob_client, study, case=drammen, code=o, text="Felles team.")
    html = r.content.decode()
    assert r.status_code == 200
    assert f'id="fwv-{drammen.pk}-{o.pk}" value="1" hx-swap-oob="true"' in html
    assert "Saved" in html
    assert "<textarea" not in html  # the text being typed is never replaced
    assert 'id="fw-progress"' in html and "1 of" in html
    s = FrameworkSummary.objects.get(case=drammen, code=o)
    assert (s.text, s.version, s.author) == ("Felles team.", 1, bob)
    # The next draft goes on top of the version the answer gave.
    post(bob_client, study, case=drammen, code=o, text="Felles team, nytt kontor.", version=1)
    assert FrameworkSummary.objects.get(case=drammen, code=o).version == 2
    assert FrameworkSummaryRevision.objects.filter(summary=s).count() == 2


def test_a_stale_draft_never_overwrites_a_newer_text(bob_client, study, alice):
    drammen, o = study.cases["Drammen"], study.codes["O"]
    services.framework_summary_save(
        project=study.project,
        case=drammen,
        code=o,
        author=alice,
        text="Alices tekst.",
        base_version=0,
    )
    r = post(bob_client, study, case=drammen, code=o, text="Bobs utkast.", version=0)
    html = r.content.decode()
    assert "Someone saved this summary" in html
    assert "Alices tekst." in html  # their text is shown beside the conflict
    assert f'id="fwv-{drammen.pk}-{o.pk}" value="0"' in html  # the version does not move on
    assert FrameworkSummary.objects.get(case=drammen, code=o).text == "Alices tekst."


def test_case_summaries_and_syntheses_are_saved_with_revisions(bob_client, study):
    drammen, o = study.cases["Drammen"], study.codes["O"]
    post(bob_client, study, case=drammen, text="Drammen i korte trekk.")
    post(bob_client, study, code=o, text="På tvers av kasusene.")
    post(bob_client, study, code=o, text="På tvers av kasusene, revidert.", version=1)
    note = FrameworkSummary.objects.get(case=drammen, code=None)
    synthesis = FrameworkSummary.objects.get(case=None, code=o)
    assert note.text == "Drammen i korte trekk."
    assert (synthesis.text, synthesis.version) == ("På tvers av kasusene, revidert.", 2)
    assert list(synthesis.revisions.values_list("version", flat=True)) == [2, 1]
    # Neither counts as a matrix cell in the progress line or the framework export.
    page = bob_client.get(reverse("coding:analysis-framework", args=[study.project.pk]))
    assert "Drammen i korte trekk." in page.content.decode()
    assert "0 of" in page.content.decode()


def test_a_case_of_another_project_is_404_and_supervisors_may_not_write(
    bob_client, sue_client, study
):
    from .factories import CaseFactory, ProjectFactory

    foreign = CaseFactory(project=ProjectFactory(), name="Fremmed")
    assert post(bob_client, study, case=foreign, text="x").status_code == 404
    assert post(sue_client, study, case=study.cases["Drammen"], text="x").status_code == 403
    assert bob_client.post(save_url(study), {"text": "x", "version": 0}).status_code == 404
    assert not FrameworkSummary.objects.exists()


def test_the_panel_follows_the_cell_with_its_excerpts_and_the_other_cases(sue_client, study, bob):
    o = study.codes["O"]
    drammen = study.cases["Drammen"]
    others = [c for name, c in study.cases.items() if name != "Drammen"]
    services.framework_summary_save(
        project=study.project,
        case=others[0],
        code=o,
        author=bob,
        text="Slik gjorde de det.",
        base_version=0,
    )
    services.framework_summary_save(
        project=study.project,
        case=drammen,
        code=o,
        author=bob,
        text="Drammens egen.",
        base_version=0,
    )
    html = sue_client.get(panel_url(study), {"case": drammen.pk, "code": o.pk}).content.decode()
    assert "Compare with the other cases" in html
    assert "Slik gjorde de det." in html and others[0].name in html
    assert "Drammens egen." not in html  # not compared with itself
    assert "excerpt-card" in html  # the cell's excerpts
    # The synthesis's panel shows every case's text.
    html = sue_client.get(panel_url(study), {"code": o.pk}).content.decode()
    assert "Slik gjorde de det." in html and "Drammens egen." in html
