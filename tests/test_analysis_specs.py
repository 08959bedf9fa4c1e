"""coding/analysis/specs.py: a matrix row's key travels through a URL (a cell's link) and back
to the same typed value, and the share of text coded follows rows that are not cases."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from coding.analysis import matrices
from coding.analysis.filters import AnalysisFilterForm
from coding.analysis.specs import NONE_KEY, RowSpec
from coding.models import AttributeDefinition, AttributeKind, CaseKind, Turn

from . import analysis_data as ad


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _spec(kind, attr_kind=None, edges=None):
    d = AttributeDefinition(pk=1, name="A", kind=attr_kind, target="case") if attr_kind else None
    return RowSpec(kind, "rows", d, edges)


@pytest.mark.parametrize(
    ("attr_kind", "db_value", "key", "typed"),
    [
        (AttributeKind.BOOLEAN, True, "1", True),
        (AttributeKind.BOOLEAN, 0, "0", False),  # SQLite hands booleans back as 0/1
        (AttributeKind.DECIMAL, Decimal("2.50"), "2.5", Decimal("2.5")),
        (AttributeKind.DECIMAL, "10.000", "10", Decimal("10")),
        (AttributeKind.INTEGER, 5578, "5578", 5578),
        (AttributeKind.DATE, dt.date(2020, 4, 16), "2020-04-16", dt.date(2020, 4, 16)),
        (AttributeKind.DATE, "2020-04-16 00:00:00", "2020-04-16", dt.date(2020, 4, 16)),
        (AttributeKind.TEXT, "Sør", "Sør", "Sør"),
    ],
)
def test_an_attribute_row_key_round_trips_to_its_typed_value(attr_kind, db_value, key, typed):
    spec = _spec("case_attr", attr_kind)
    assert spec.key_str(db_value) == key
    assert spec.parse_key(key) == typed


@pytest.mark.parametrize("kind", ["case_attr", "cases", "kind", "level"])
def test_no_value_has_its_own_key(kind):
    spec = _spec(kind, AttributeKind.TEXT if kind == "case_attr" else None)
    assert spec.key_str(None) == spec.key_str("") == NONE_KEY
    assert spec.parse_key(NONE_KEY) is None
    assert spec.label_for(NONE_KEY) == "(no value)"


@pytest.mark.parametrize(
    ("kind", "attr_kind", "edges", "key"),
    [
        ("cases", None, None, "drammen"),
        ("kind", None, None, "municipality"),
        ("level", None, None, "boss"),
        ("case_attr", AttributeKind.BOOLEAN, None, "yes"),
        ("case_attr", AttributeKind.DECIMAL, None, "1,5"),
        ("case_attr", AttributeKind.INTEGER, None, "12.5"),
        ("case_attr", AttributeKind.DATE, None, "16.04.2020"),
        ("case_attr", AttributeKind.INTEGER, (Decimal(5), Decimal(15)), "3"),  # only 0, 1, 2
        ("case_attr", AttributeKind.INTEGER, (Decimal(5), Decimal(15)), "-1"),
    ],
)
def test_a_row_key_edited_in_the_url_is_refused(kind, attr_kind, edges, key):
    with pytest.raises(ValidationError) as exc:
        _spec(kind, attr_kind, edges).parse_key(key)
    assert exc.value.code == "bad_row"


def test_row_labels_name_kinds_levels_ranges_and_yes_or_no():
    assert _spec("kind").label_for(CaseKind.IN_DEPTH) == str(CaseKind.IN_DEPTH.label)
    assert _spec("case_attr", AttributeKind.BOOLEAN).label_for("1") == "Yes"
    assert _spec("case_attr", AttributeKind.BOOLEAN).label_for("0") == "No"
    ranged = _spec("case_attr", AttributeKind.INTEGER, (Decimal(10000), Decimal(50000)))
    assert [ranged.label_for(k) for k in "012"] == [
        ranged.range_label(0),
        ranged.range_label(1),
        ranged.range_label(2),
    ]
    assert ranged.label_for("2").endswith("or more")
    # A case row whose case is gone (deleted since the link was made) shows its key.
    assert _spec("cases").label_for("999", cases={}) == "999"


def test_rows_of_speakers_have_no_transcript_key():
    with pytest.raises(ValueError):
        _spec("level").transcript_expression()


# --- the share of text coded, by rows that group cases --------------------------------------


@pytest.fixture
def study(project, bob, alice):
    return ad.build(project, bob, alice)


def _rows(study, **data):
    form = AnalysisFilterForm({"measure": "share", **data}, project=study.project)
    assert form.is_valid(), form.errors
    m = matrices.case_code_matrix(form, lambda r, c: f"?row={r}&col={c}")
    return {r.label: r for g in m.groups for r in g.rows}


def _covered_and_chars(study, case_names):
    """Characters coded (any code) and characters in all, from the per-case share: of the
    interview text, the share's base (Turn.objects.interview_text_of)."""
    by_case = _rows(study)
    covered = chars = 0
    for name in case_names:
        n = sum(
            turn.end - turn.content_start
            for t in study.transcripts.values()
            if t.case.name == name
            for turn in Turn.objects.interview_text_of(t.case.project).filter(transcript=t)
        )
        share = by_case[name].total.shown
        covered += (share or 0) * n / 100
        chars += n
    return covered, chars


def test_the_share_by_case_kind_is_the_share_of_its_cases_together(study):
    rows = _rows(study, rows="kind")
    covered, chars = _covered_and_chars(study, ["Drammen", "Sandnes"])
    assert rows[str(CaseKind.CASE_STUDY.label)].total.shown == pytest.approx(100 * covered / chars)
    covered, chars = _covered_and_chars(study, ["Rana", "Vadsø"])
    assert rows[str(CaseKind.IN_DEPTH.label)].total.shown == pytest.approx(100 * covered / chars)


def test_the_share_by_a_case_attribute_follows_the_cases_value(study):
    region = study.definitions["region"]  # Drammen Sør, Sandnes Vest, Rana and Vadsø none
    rows = _rows(study, rows=f"case:{region.pk}")
    for label, cases in [("Sør", ["Drammen"]), ("Vest", ["Sandnes"]), ("(no value)", ["Rana"])]:
        covered, chars = _covered_and_chars(study, cases)
        assert rows[label].total.shown == pytest.approx(100 * covered / chars), label
