"""Agreement statistics (coding.analysis.stats, coding.analysis.agreement) against reference
implementations: ``krippendorff`` for nominal alpha, statsmodels for Cohen's and Fleiss' kappa.

The references get the naive input: one value per character (or unit) per coder, built by
Python string indexing from the stored excerpts, not from the sweep the app uses.
"""

from __future__ import annotations

import io
import json

import krippendorff
import numpy as np
import pytest
from django.core.management import call_command
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from coding import services
from coding.analysis import agreement, stats
from coding.models import Code, Coding, Membership, Project, Role, Sentence, Transcript, Turn

from .factories import CaseFactory, CodebookFactory, CodeFactory, TranscriptFactory, UserFactory

TOL = 1e-9


# --- references over dense values -----------------------------------------------------------


def dense(spans_by_coder: list[list[tuple[int, int]]], length: int) -> np.ndarray:
    """coders × characters, 1 where the coder's spans cover the character."""
    out = np.zeros((len(spans_by_coder), length), dtype=np.int64)
    for k, spans in enumerate(spans_by_coder):
        for s, e in spans:
            out[k, s:e] = 1
    return out


def reference(values: np.ndarray) -> dict[str, float]:
    """The statistics of coders × units 0/1 values from the reference libraries."""
    m, n = values.shape
    yes = values.sum(axis=0)
    table = np.column_stack([m - yes, yes])  # units × (not coded, coded)
    out = {
        "percent": float(np.mean((yes == 0) | (yes == m))),
        "krippendorff_alpha": krippendorff.alpha(
            value_counts=table, level_of_measurement="nominal"
        ),
        "fleiss_kappa": fleiss_kappa(table),
    }
    if m == 2:
        confusion = np.zeros((2, 2))
        np.add.at(confusion, (values[0], values[1]), 1)
        out["cohen_kappa"] = cohens_kappa(confusion, return_results=False)
        out["brennan_prediger"] = 2 * out["percent"] - 1
    return out


def patterns_of(values: np.ndarray) -> np.ndarray:
    m = values.shape[0]
    p = sum(values[k] << k for k in range(m))
    return np.bincount(p, minlength=2**m).astype(float)


def ours(counts: np.ndarray, m: int) -> dict[str, float]:
    out = {
        "percent": stats.percent_agreement(counts, m),
        "krippendorff_alpha": stats.krippendorff_alpha(counts, m),
        "fleiss_kappa": stats.fleiss_kappa(counts, m),
        "brennan_prediger": stats.brennan_prediger(counts, m),
    }
    if m == 2:
        out["cohen_kappa"] = stats.cohen_kappa(counts)
    return {k: float(v) for k, v in out.items()}


def assert_same(mine: dict, ref: dict) -> None:
    for name, value in ref.items():
        assert mine[name] == pytest.approx(value, abs=TOL), name


# --- the statistics -------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_the_statistics_equal_the_references_on_random_values(m, seed):
    rng = np.random.default_rng(seed)
    values = (rng.random((m, 500)) < rng.uniform(0.1, 0.6)).astype(np.int64)
    values[1:, :200] = values[0, :200]  # some agreement beyond chance
    assert_same(ours(patterns_of(values), m), reference(values))


def test_character_patterns_equal_the_dense_count_for_overlapping_and_nested_spans():
    a = [(0, 10), (5, 20), (30, 40), (32, 35)]  # overlapping, nested
    b = [(8, 12), (12, 25), (39, 41), (60, 61)]  # touching, one character
    c = []
    length = 70
    by_coder = [np.array(s).reshape(-1, 2) for s in (a, b, c)]
    assert (
        stats.char_patterns(by_coder, length).tolist()
        == patterns_of(dense([a, b, c], length)).tolist()
    )


def test_perfect_agreement_is_one_and_no_agreement_is_not_positive():
    same = dense([[(0, 30)], [(0, 30)]], 100)
    assert ours(patterns_of(same), 2)["cohen_kappa"] == pytest.approx(1.0)
    assert ours(patterns_of(same), 2)["krippendorff_alpha"] == pytest.approx(1.0)
    apart = dense([[(0, 50)], [(50, 100)]], 100)
    mine = ours(patterns_of(apart), 2)
    assert_same(mine, reference(apart))
    assert mine["cohen_kappa"] == pytest.approx(-1.0) and mine["percent"] == 0.0


def test_a_silent_coder_gives_kappa_zero_and_undefined_when_nobody_coded():
    silent = dense([[(10, 40)], []], 100)
    mine = ours(patterns_of(silent), 2)
    assert_same(mine, reference(silent))
    assert mine["cohen_kappa"] == pytest.approx(0.0)
    nobody = patterns_of(dense([[], []], 100))
    assert np.isnan(stats.cohen_kappa(nobody)) and np.isnan(stats.krippendorff_alpha(nobody, 2))
    assert np.isnan(stats.fleiss_kappa(nobody, 2))
    assert stats.percent_agreement(nobody, 2) == 1.0


def test_the_statistics_are_vectorised_over_resamples():
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 50, size=(7, 8)).astype(float)
    together = stats.krippendorff_alpha(rows, 3)
    assert together.shape == (7,)
    for i in range(7):
        assert together[i] == pytest.approx(float(stats.krippendorff_alpha(rows[i], 3)), abs=TOL)


def test_unit_patterns_use_any_overlap_or_the_threshold():
    units = np.array([[0, 10], [10, 20], [20, 30]])
    a = np.array([[0, 10], [15, 16]])
    b = np.array([[1, 10], [20, 30]])
    # Any overlap: unit 0 both, unit 1 only a, unit 2 only b.
    assert stats.unit_patterns([a, b], units).tolist() == [0, 1, 1, 1]
    # At 90 %: b's 9 of 10 characters of unit 0 still count, a's 1 of unit 1 does not.
    assert stats.unit_patterns([a, b], units, 0.9).tolist() == [1, 0, 1, 1]


def test_passages_match_by_their_shared_text_over_both_as_maxqda_does():
    a = np.array([[0, 100], [200, 210], [300, 400]])
    b = np.array([[5, 100], [205, 215], [300, 350], [350, 400], [500, 510]])
    # a's passages: [0,100) matches b's [5,100) (95 %); [200,210) does not (5/15); [300,400)
    # matches b's stretch [300,400) (b's two touching codings are one passage).
    # b's passages: [5,100) yes, [205,215) no, [300,400) yes, [500,510) only b.
    assert stats.passage_patterns([a, b], 0.9).tolist() == [0, 1, 2, 4]
    assert stats.passage_patterns([a, b], 0.3).tolist() == [0, 0, 1, 6]
    assert stats.passage_patterns([np.zeros((0, 2)), b], 0.9).tolist() == [0, 0, 4, 0]


def test_the_bootstrap_resamples_whole_transcripts():
    w = stats.bootstrap_weights(5, 200)
    assert w.shape == (200, 5) and (w.sum(axis=1) == 5).all()
    assert stats.interval(np.full(10, 0.5)) is None  # too few resamples to say


# --- from the database ----------------------------------------------------------------------

TEXT = (
    "I: Hvordan går det med bøkene?\n\n"
    "Åse: Det går fint 😀 med æøå-prosjektet, men vi får for lite støtte.\n\n"
    "I: Hva skjer videre?\n\n"
    "Åse: Vi søker igjen til høsten, og håper på svar før jul 🎄."
)


@pytest.fixture
def two_coded(db):
    project = _project()
    case = CaseFactory(project=project)
    t = TranscriptFactory(case=case, text=TEXT, word_count=len(TEXT.split()))
    pos = 0
    for i, par in enumerate(TEXT.split("\n\n")):
        Turn.objects.create(
            transcript=t,
            index=i,
            start=pos,
            content_start=pos + par.index(":") + 2,
            end=pos + len(par),
            label=par.split(":")[0],
            is_interviewer=par.startswith("I:"),
        )
        Sentence.objects.create(
            transcript=t, turn=t.turns.get(index=i), index=i, start=pos, end=pos + len(par)
        )
        pos += len(par) + 2
    return project, t


def _project() -> Project:
    project = Project.objects.create(name="Enighet")
    CodebookFactory(project=project)
    return project


def _coder(project, name):
    user = UserFactory(username=name)
    Membership.objects.create(project=project, user=user, role=Role.RESEARCHER)
    return user


def _code(t: Transcript, code: Code, coder, phrase: str, occurrence: int = 1) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence):
        start = t.text.index(phrase, start + 1)
    services.excerpt_code(
        transcript=t, start=start, end=start + len(phrase), codes=[code], coder=coder
    )
    return start, start + len(phrase)


def test_character_agreement_from_codings_equals_the_references_with_emoji_at_the_edges(
    two_coded,
):
    project, t = two_coded
    cb = project.codebooks.get()
    code = CodeFactory(codebook=cb, name="Støtte")
    a, b, c = (_coder(project, n) for n in ("kari", "per", "ola"))
    spans = {
        a.pk: [_code(t, code, a, "😀 med æøå"),
               _code(t, code, a, "høsten, og håper på svar før jul 🎄")],
        b.pk: [_code(t, code, b, "fint 😀"), _code(t, code, b, "æøå-prosjektet, men"),
               _code(t, code, b, "jul 🎄.")],
        # Nested: c codes a passage and a part of it.
        c.pk: [_code(t, code, c, "Det går fint 😀 med æøå-prosjektet"), _code(t, code, c, "æøå")],
    }  # fmt: skip
    for coders in ([a, b], [a, b, c]):
        report = agreement.build(
            project, coder_ids=[u.pk for u in coders], unit="character", resamples=50
        )
        values = dense([spans[u.pk] for u in coders], len(t.text))
        ref = reference(values)
        got = report.rows[0].figure
        assert got.units == len(t.text)
        assert_same(got.values, ref)
        assert_same(report.pooled.values, ref)
    # The characters the coders agree on are exactly those both strings cover.
    assert t.text[spans[a.pk][0][0] : spans[a.pk][0][1]].startswith("😀")


def test_a_code_one_coder_never_used_has_kappa_zero_not_one(two_coded, monkeypatch):
    monkeypatch.setitem(agreement.MIN_CODED, "character", 50)  # the text is short
    project, t = two_coded
    cb = project.codebooks.get()
    used, unused = CodeFactory(codebook=cb, name="Brukt"), CodeFactory(codebook=cb, name="Ubrukt")
    a, b = _coder(project, "kari"), _coder(project, "per")
    _code(t, used, a, "Hva skjer videre?")
    _code(t, used, b, "Hva skjer videre?")
    # a codes 'unused' over much text, b never applies it (but coded the transcript).
    _code(t, unused, a, "Det går fint 😀 med æøå-prosjektet, men vi får for lite støtte.")
    _code(t, unused, a, "Vi søker igjen til høsten, og håper på svar før jul 🎄.")
    report = agreement.build(project, coder_ids=[a.pk, b.pk], resamples=50)
    by_name = {r.code.name: r for r in report.rows}
    assert by_name["Ubrukt"].figure.shown("cohen_kappa") == pytest.approx(0.0)
    # 17 characters of agreement is too little to say anything: marked, not shown as 1.
    assert by_name["Brukt"].figure.values["cohen_kappa"] == pytest.approx(1.0)
    assert (
        by_name["Brukt"].figure.too_little and by_name["Brukt"].figure.shown("cohen_kappa") is None
    )
    assert by_name["Brukt"].figure.status() == "too_little"
    assert report.rows[0].code.name == "Ubrukt"  # the weakest first, no figure last


def test_a_transcript_only_one_coder_coded_is_left_out(two_coded):
    project, t = two_coded
    code = CodeFactory(codebook=project.codebooks.get(), name="K")
    a, b = _coder(project, "kari"), _coder(project, "per")
    _code(t, code, a, "Hva skjer videre?")
    other = TranscriptFactory(case=t.case, text="Bare kari koder her, ingen andre.")
    services.excerpt_code(transcript=other, start=0, end=4, codes=[code], coder=a)
    report = agreement.build(project, coder_ids=[a.pk, b.pk], resamples=10)
    assert report.transcripts == []
    _code(t, code, b, "Hva")
    report = agreement.build(project, coder_ids=[a.pk, b.pk], resamples=10)
    assert [x["pk"] for x in report.transcripts] == [t.pk]


@pytest.mark.parametrize("unit", ["sentence", "turn", "passage"])
def test_segment_agreement_equals_the_references_on_its_units(two_coded, unit):
    project, t = two_coded
    code = CodeFactory(codebook=project.codebooks.get(), name="K")
    a, b = _coder(project, "kari"), _coder(project, "per")
    sa = [_code(t, code, a, "Hvordan går det"), _code(t, code, a, "Det går fint 😀 med æøå")]
    sb = [_code(t, code, b, "Det går fint 😀 med æøå"[1:]), _code(t, code, b, "Hva skjer")]
    report = agreement.build(project, coder_ids=[a.pk, b.pk], unit=unit, resamples=10)
    if unit == "passage":
        # Each coder's passages; a coder has one when theirs shares ≥ 90 % with it.
        def share(x, y):
            inter = max(0, min(x[1], y[1]) - max(x[0], y[0]))
            return inter / (x[1] - x[0] + y[1] - y[0] - inter)

        units = [(u, k) for k, spans in enumerate((sa, sb)) for u in spans]
        values = np.array(
            [
                [
                    1 if k == j else int(max(share(u, v) for v in (sa, sb)[j]) >= 0.9)
                    for u, k in units
                ]
                for j in range(2)
            ]
        )
        expect_units = 4
    else:
        model = Sentence if unit == "sentence" else Turn
        units = list(model.objects.filter(transcript=t).values_list("start", "end"))
        expect_units = 4
        values = np.zeros((2, len(units)), dtype=np.int64)
        for k, spans in enumerate((sa, sb)):
            for i, (us, ue) in enumerate(units):
                values[k, i] = any(s < ue and us < e for s, e in spans)
    got = report.rows[0].figure
    assert got.units == expect_units and got.unit == unit
    ref = reference(values)
    for name in ("percent", "cohen_kappa", "brennan_prediger"):
        assert got.values[name] == pytest.approx(ref[name], abs=TOL), name
    for name in ("krippendorff_alpha", "fleiss_kappa"):
        if got.values[name] is None:
            assert np.isnan(ref[name]), name
        else:
            assert got.values[name] == pytest.approx(ref[name], abs=TOL), name
    if unit == "passage":
        # 22 of 23 characters is above 90 %: the æøå passages agree; the other two do not.
        assert values.tolist() == [[1, 1, 1, 0], [0, 1, 1, 1]]


def test_existence_and_frequency_per_transcript(two_coded):
    project, t = two_coded
    code = CodeFactory(codebook=project.codebooks.get(), name="K")
    a, b = _coder(project, "kari"), _coder(project, "per")
    _code(t, code, a, "Hva")
    _code(t, code, a, "Vi søker")
    _code(t, code, b, "Hva skjer")
    report = agreement.build(project, coder_ids=[a.pk, b.pk], resamples=10)
    row = report.rows[0]
    assert row.existence.units == 1 and row.existence.values["percent"] == 1.0
    assert row.frequency_transcripts == 1 and row.frequency_equal == 0


# --- the demo study -------------------------------------------------------------------------


@pytest.fixture
def demo_study(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", stdout=io.StringIO())
    return Project.objects.get()


@pytest.mark.django_db
def test_the_demo_study_equals_the_references_and_the_command_prints_them(demo_study):
    project = demo_study
    a = project.memberships.get(user__username="forsker_a").user
    b = project.memberships.get(user__username="forsker_b").user
    report = agreement.build(project, coder_ids=[a.pk, b.pk], resamples=100)
    assert len(report.transcripts) == 8
    texts = {t.pk: t.text for t in Transcript.objects.filter(case__project=project)}
    spans: dict = {}
    for tag_id, coder_id, t_id, s, e in Coding.objects.filter(
        content_object__transcript_id__in=[t["pk"] for t in report.transcripts]
    ).values_list("tag_id", "coder_id", "content_object__transcript_id",
                  "content_object__start", "content_object__end"):  # fmt: skip
        spans.setdefault((tag_id, t_id, coder_id), []).append((s, e))
    pooled = []
    checked = 0
    for row in report.rows:
        values = np.concatenate(
            [
                dense(
                    [spans.get((row.code.pk, t["pk"], u.pk), []) for u in (a, b)],
                    len(texts[t["pk"]]),
                )
                for t in report.transcripts
            ],
            axis=1,
        )
        pooled.append(values)
        if values.sum() == 0:
            assert row.figure.values["cohen_kappa"] is None
            continue
        assert_same(row.figure.values, reference(values))
        checked += 1
    assert checked >= 10
    assert_same(report.pooled.values, reference(np.concatenate(pooled, axis=1)))
    assert report.pooled.intervals["cohen_kappa"] is not None

    # The command prints the same figures (one demo load for both: it takes a while).
    out = io.StringIO()
    call_command("agreement", str(demo_study.pk), "--coders", "forsker_a", "forsker_b",
                 "--json", stdout=out)  # fmt: skip
    data = json.loads(out.getvalue())
    assert data["unit"] == "character" and data["transcripts"] == 8
    some = next(v for v in data["codes"].values() if v["status"] == "ok")
    assert {"percent", "cohen_kappa", "krippendorff_alpha", "unit", "units"} <= set(some)
    assert data["pooled"]["cohen_kappa"] == pytest.approx(report.pooled.values["cohen_kappa"])
    assert 0 < data["pooled"]["cohen_kappa"] < 1


@pytest.mark.django_db
def test_the_benchmark_agrees_with_its_bare_numpy_baseline():
    from coding.benchmarks import agreement as bench

    result = bench.run("small")  # raises when a figure differs from numpy's by more than 1e-9
    assert result["codings"] == 2500 and result["figures"]["agreement"]["ratio"] > 0
    assert result["figures"]["unitized"]["ratio"] > 0  # |uα equal to numpy's, or it raised
    assert not Project.objects.filter(name="agreement benchmark").exists()  # rolled back


def test_the_report_takes_the_same_number_of_queries_for_more_transcripts(two_coded):
    project, t = two_coded
    code = CodeFactory(codebook=project.codebooks.get(), name="K")
    a, b = _coder(project, "kari"), _coder(project, "per")
    _code(t, code, a, "Hva skjer")
    _code(t, code, b, "Hva")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(unit):
        with CaptureQueriesContext(connection) as ctx:
            agreement.build(project, coder_ids=[a.pk, b.pk], unit=unit, resamples=10)
        return len(ctx.captured_queries)

    before = {u: queries(u) for u in agreement.UNITS}
    for _ in range(3):
        more = TranscriptFactory(case=t.case, text=TEXT)
        Sentence.objects.create(transcript=more, turn=Turn.objects.create(
            transcript=more, index=0, start=0, content_start=0, end=len(TEXT)),
            index=0, start=0, end=len(TEXT))  # fmt: skip
        _code(more, code, a, "bøkene")
        _code(more, code, b, "Hva skjer")
    after = {u: queries(u) for u in agreement.UNITS}
    assert before == after
    report = agreement.build(project, coder_ids=[a.pk, b.pk], resamples=10)
    assert len(report.transcripts) == 4
    assert [x["id"] for x in report.as_json()["per_transcript"]] == [
        x["pk"] for x in report.transcripts
    ]
