"""coding/analysis/selection.py: a range on a number attribute keeps the passages of the
speakers inside it, bounds included, and a cell link edited by hand is refused."""

import pytest
from django.core.exceptions import ValidationError

from coding.analysis import selection
from coding.analysis.filters import AnalysisFilterForm
from coding.analysis.specs import TOTAL

from . import analysis_data as ad


@pytest.fixture
def study(project, bob, alice):
    return ad.build(project, bob, alice)


def _transcripts(study, data) -> set[str]:
    by_pk = {t.pk: name for name, t in study.transcripts.items()}
    qs = selection.filter_codings(study.project, data)
    return {by_pk[pk] for pk in qs.values_list("content_object__transcript_id", flat=True)}


def test_a_range_keeps_the_speakers_inside_it_bounds_included(study):
    years = f"attr_{study.definitions['years'].pk}"  # Ola 2, Kristin 5, Geir 12, Siri 20
    # Ola speaks in TD2, Kristin in TS1, Geir in TD1, Siri in TR1.
    assert _transcripts(study, {f"{years}_max": "5"}) == {"TD2", "TS1"}
    assert _transcripts(study, {f"{years}_min": "5", f"{years}_max": "12"}) == {"TS1", "TD1"}
    assert _transcripts(study, {f"{years}_min": "21"}) == set()


def test_a_range_upside_down_is_refused(study):
    years = f"attr_{study.definitions['years'].pk}"
    form = AnalysisFilterForm({f"{years}_min": "12", f"{years}_max": "5"}, project=study.project)
    assert not form.is_valid()
    assert f"{years}_max" in form.errors


def _form(study, **data):
    form = AnalysisFilterForm(data, project=study.project)
    assert form.is_valid(), form.errors
    return form


@pytest.mark.parametrize("col", ["abc", "999999", ""])
def test_a_cell_whose_column_is_no_chosen_code_is_refused(study, col):
    form = _form(study, codes=[str(study.codes["F"].pk)])
    with pytest.raises(ValidationError) as exc:
        selection.cell(form, TOTAL, col or str(study.codes["B"].pk))  # B is not chosen
    assert exc.value.code == "bad_col"


def test_a_cell_of_a_chosen_code_lists_its_codings(study):
    f = study.codes["F"]
    form = _form(study, codes=[str(f.pk)])
    assert {c.tag_id for c in selection.cell(form, TOTAL, str(f.pk))} == {f.pk}


@pytest.mark.parametrize(("row", "col"), [("x", "1"), ("F", "U"), ("F", "B")])
def test_a_co_occurrence_cell_needs_two_chosen_codes(study, row, col):
    codes = study.codes
    form = _form(study, codes=[str(codes["F"].pk), str(codes["O"].pk)])

    def key(k):
        return str(codes[k].pk) if k in codes else k

    with pytest.raises(ValidationError) as exc:
        selection.cooccurrence_cell(form, key(row), key(col))
    assert exc.value.code == "bad_cell"


def test_a_co_occurrence_cell_lists_the_row_codes_codings_that_meet_the_column_code(study):
    f, o = study.codes["F"], study.codes["O"]
    form = _form(study, codes=[str(f.pk), str(o.pk)])
    got = selection.cooccurrence_cell(form, str(f.pk), str(o.pk))
    # Only e1 (answer A) carries both F and O.
    assert {c.tag_id for c in got} == {f.pk}
    assert {c.content_object.text for c in got} == {ad.A}
