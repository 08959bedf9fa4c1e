"""Krippendorff's unitized alphas (coding.analysis.unitized_stats, coding.analysis.unitized).

The definitions are Krippendorff, Mathet, Bouvry and Widlöcher (2016). The paper's own worked
example was not available to us, so its figures are not asserted here. Instead:

- two small continua worked by hand below (exact fractions);
- an identity that follows from the definitions and is checked against the ``krippendorff``
  package: |uα and nominal alpha over characters share the observed disagreement and differ
  only in the expected one's denominator, l..² − Σ w(l) against n(n − 1), so
  |uα = 1 − (1 − α) · (l..² − Σ w(l)) / (n(n − 1)); in particular |uα = α exactly when every
  coded unit is one character long (then w(l) = l for every segment);
- a literal per-character reading of eqs. 1, 4 and 10 (loops over characters, for short texts)
  against the sweep over span boundaries, with æøå and emoji at the span edges.
"""

from __future__ import annotations

import io
import json
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from django.core.management import call_command

from coding.analysis import unitized
from coding.analysis import unitized_stats as us
from coding.analysis.stats import bootstrap_weights, union

from .factories import CodeFactory
from .test_agreement import _code, _coder, demo_study, dense, two_coded  # noqa: F401

TOL = 1e-9
ONE = us.Layout(1)


def rows(by_coder: list[list[list[tuple[int, int]]]], length: int) -> np.ndarray:
    return us.continuum([[np.array(v).reshape(-1, 2) for v in c] for c in by_coder], length)


def binary(by_coder, length) -> float:
    m = len(by_coder)
    return float(us.u_alpha_binary(rows(by_coder, length), us.Layout(len(by_coder[0])), m))


def cu(by_coder, length) -> float:
    m = len(by_coder)
    return float(us.cu_alpha(rows(by_coder, length), us.Layout(len(by_coder[0])), m))


# --- worked by hand -------------------------------------------------------------------------


def test_alpha_binary_of_two_shifted_units_worked_by_hand():
    """L = 10; coder A codes [2, 6), coder B [3, 7).

    Pieces: [0,2) gap/gap, [2,3) A only, [3,6) both, [6,7) B only, [7,10) gap/gap. Over the two
    ordered pairs of coders (m − 1 = 1): l_00 = 2·5 = 10, l_01 = l_10 = 2, l_11 = 2·3 = 6; l.. = 20,
    l_0. = 12. Σ w(l): units 4² + 4², gaps 6 + 6, so 44. Expected e_0. − e_00 = l.. · l_0. ·
    (l.. − l_0.) / (l..² − 44) = 20·12·8 / 356. |uα = 1 − 2 · 356 / 1920 = 151/240.
    """
    assert binary([[[(2, 6)]], [[(3, 7)]]], 10) == pytest.approx(151 / 240, abs=TOL)
    # Nominal alpha over the 10 characters is 1 − 19·2 / (12·8) = 29/48: lower, as chance here
    # may not pair a four-character unit with itself.
    values = dense([[(2, 6)], [(3, 7)]], 10)
    assert krippendorff.alpha(values, level_of_measurement="nominal") == pytest.approx(29 / 48)


def test_cu_alpha_of_a_domain_with_two_categories_worked_by_hand():
    """L = 10; A: x [0,4), y [4,8); B: x [0,6), y [6,8). Both coded [0, 8).

    l_xx = 2·4 = 8, l_xy = l_yx = 2 ([4,6) is y for A, x for B), l_yy = 2·2 = 4; l* = 16, margins
    10 and 6. Q (each unit's text the other coder also coded, squared): x 4² + 6² = 52,
    y 4² + 2² = 20. Denominator 16 − 72/16 = 11.5; expected (16² − 10² − 6²) / 11.5 = 120/11.5.
    cuα = 1 − 4 · 11.5 / 120 = 37/60. Both coded exactly [0, 8): |uα = 1.
    """
    data = [[[(0, 4)], [(4, 8)]], [[(0, 6)], [(6, 8)]]]
    assert cu(data, 10) == pytest.approx(float(Fraction(37, 60)), abs=TOL)
    assert binary(data, 10) == pytest.approx(1.0, abs=TOL)
    assert binary([[[(0, 8)]], [[(0, 8)]]], 10) == pytest.approx(1.0, abs=TOL)


def test_perfect_agreement_is_one_and_a_silent_coder_is_below_zero():
    same = [[[(3, 40), (60, 90)]], [[(3, 40), (60, 90)]], [[(3, 40), (60, 90)]]]
    assert binary(same, 100) == pytest.approx(1.0, abs=TOL)
    assert cu([[[(0, 5)], [(5, 9)]], [[(0, 5)], [(5, 9)]]], 20) == pytest.approx(1.0, abs=TOL)
    # A codes [10, 40), B nothing: l_01 = l_10 = 30, l_0. = 170, Σ w = 900 + 70 + 100.
    silent = [[[(10, 40)]], [[]]]
    expect = 1 - 30 * (200**2 - 1070) / (200 * 170 * 30)
    assert binary(silent, 100) == pytest.approx(expect, abs=TOL) and expect < 0
    # Nothing coded in common: cu-alpha is undefined, not 0 or 1; nobody coded: |uα undefined.
    assert np.isnan(cu([[[(10, 40)], []], [[], []]], 100))
    assert np.isnan(binary([[[]], [[]]], 100))
    # One category only: nothing for cu-alpha to tell apart.
    assert np.isnan(cu([[[(0, 10)]], [[(2, 10)]]], 20))


def test_nested_overlapping_and_touching_spans_of_one_coder_are_one_unit():
    outer = rows([[[(5, 30)]], [[(8, 30)]]], 50)
    assert ONE.self_pairs(outer).tolist() == [25 + 28, 25**2 + 22**2]
    for same in ([(5, 30), (10, 12), (5, 20)], [(5, 18), (12, 30)], [(5, 18), (18, 30)]):
        assert rows([[same], [[(8, 30)]]], 50).tolist() == outer.tolist()
    apart = rows([[[(5, 17), (18, 30)]], [[(8, 30)]]], 50)
    assert ONE.self_pairs(apart)[1] == 12**2 + 12**2 + 22**2


# --- the identity with nominal alpha (the krippendorff package) ----------------------------


def random_spans(rng, m: int, length: int, single: bool) -> list[list[tuple[int, int]]]:
    out = []
    for _ in range(m):
        starts = rng.choice(length - 40, size=rng.integers(1, 12), replace=False)
        if single:  # even positions: no two coded characters of one coder touch
            starts = 2 * (starts // 2)
        spans = [(int(s), int(s) + (1 if single else int(rng.integers(1, 40)))) for s in starts]
        out.append(spans)
    return out


def expected_denominator(by_coder: list[list[tuple[int, int]]], length: int) -> float:
    """l..² − Σ w(l): units are the connected stretches of a coder's coding, gaps count their
    length."""
    n = len(by_coder) * length
    total = 0.0
    for spans in by_coder:
        merged = union(np.array(spans).reshape(-1, 2))
        lengths = merged[:, 1] - merged[:, 0]
        total += float(np.sum(lengths.astype(float) ** 2)) + (length - lengths.sum())
    return n * n - total


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_alpha_binary_relates_to_nominal_alpha_over_characters_as_the_definitions_say(m, seed):
    rng = np.random.default_rng(seed)
    length = 400
    by_coder = random_spans(rng, m, length, single=False)
    values = dense(by_coder, length)
    if values.sum() == 0 or values.all():
        pytest.skip("nothing to correct for")
    alpha = krippendorff.alpha(values, level_of_measurement="nominal")
    n = m * length
    expect = 1 - (1 - alpha) * expected_denominator(by_coder, length) / (n * (n - 1))
    got = binary([[s] for s in by_coder], length)
    assert got == pytest.approx(expect, abs=TOL)
    assert got >= alpha - TOL  # units cannot pair with themselves: less chance agreement


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_alpha_binary_equals_nominal_alpha_when_every_unit_is_one_character(m, seed):
    rng = np.random.default_rng(100 + seed)
    by_coder = random_spans(rng, m, 300, single=True)
    by_coder[1] = by_coder[1] + by_coder[0][:3]  # some agreement
    values = dense(by_coder, 300)
    alpha = krippendorff.alpha(values, level_of_measurement="nominal")
    assert binary([[s] for s in by_coder], 300) == pytest.approx(alpha, abs=TOL)


# --- a literal reading, one character at a time --------------------------------------------


def literal(by_coder: list[list[list[tuple[int, int]]]], length: int) -> tuple[float, float]:
    """|uα and cuα by eqs. 1, 4 and 10 with every intersection counted character by character.

    ``by_coder[i][c]``: coder i's spans of value c + 1, each value's spans merged into units:
    the connected stretches of the coder's coding with it."""
    m, n_values = len(by_coder), len(by_coder[0])
    cover = np.zeros((m, n_values + 1, length), dtype=bool)
    segments: list[list[tuple[int, int, int]]] = []  # (value, start, end) per coder
    for i, coder in enumerate(by_coder):
        segs = []
        for c, spans in enumerate(coder, start=1):
            for s, e in union(np.array(spans).reshape(-1, 2)).tolist():
                cover[i, c, s:e] = True
                segs.append((c, s, e))
        cover[i, 0] = ~cover[i, 1:].any(axis=0)
        segs += [(0, k, k + 1) for k in range(length) if cover[i, 0, k]]  # gap characters
        segments.append(segs)
    v = n_values + 1
    lck = np.zeros((v, v))
    for i in range(m):
        for j in range(m):
            if i != j:
                for k in range(length):
                    for c in range(v):
                        for d in range(v):
                            lck[c, d] += cover[i, c, k] and cover[j, d, k]
    lck /= m - 1
    n = lck.sum()
    w = sum((e - s) ** 2 if c else (e - s) for segs in segments for c, s, e in segs)
    gap = lck[0].sum()
    u_binary = 1 - (gap - lck[0, 0]) / (n * gap * (n - gap) / (n * n - w))
    star = lck[1:, 1:]
    total = star.sum()
    q = 0.0
    for i in range(m):
        for c, s, e in segments[i]:
            if c:
                for j in range(m):
                    if j != i:
                        q += float(cover[j, 1:, s:e].any(axis=0).sum()) ** 2
    q /= m - 1
    margins = star.sum(axis=1)
    if total == 0:
        return u_binary, float("nan")
    expected = (total**2 - np.sum(margins**2)) / (total - q / total)
    cu_alpha = 1 - (total - np.trace(star)) / expected if expected > 1e-12 else float("nan")
    return float(u_binary), float(cu_alpha)


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_the_sweep_equals_the_literal_reading_character_by_character(m, seed):
    rng = np.random.default_rng(7 + seed)
    length = 120
    by_coder = [[random_spans(rng, 1, length, False)[0] for _ in range(3)] for _ in range(m)]
    want_binary, want_cu = literal(by_coder, length)
    got = rows(by_coder, length)
    layout = us.Layout(3)
    assert float(us.u_alpha_binary(got, layout, m)) == pytest.approx(want_binary, abs=TOL)
    got_cu = float(us.cu_alpha(got, layout, m))
    assert (np.isnan(got_cu) and np.isnan(want_cu)) or got_cu == pytest.approx(want_cu, abs=TOL)


def test_cu_alpha_over_domains_sums_their_disagreements_and_allows_codes_of_two_domains():
    # Both coders give [0, 10) a category of domain 1 and one of domain 2 (multi-valued coding,
    # as ATLAS.ti allows across domains): within each domain they agree on [0, 10).
    d1 = [[[(0, 10), (20, 30)], [(10, 20)]], [[(0, 10)], [(10, 30)]]]
    d2 = [[[(0, 10)], [(40, 45)]], [[(0, 10)], [(40, 50)]]]
    (r1, r2), layout = (rows(d1, 60), rows(d2, 60)), us.Layout(2)
    o1, e1 = us.cu_disagreements(r1, layout, 2)
    o2, e2 = us.cu_disagreements(r2, layout, 2)
    pooled = float(us.alpha_of(o1 + o2, e1 + e2))
    assert pooled == pytest.approx(1 - (o1 + o2) / (e1 + e2), abs=TOL)
    assert float(us.cu_alpha(r2, layout, 2)) == pytest.approx(1.0, abs=TOL)
    assert float(us.cu_alpha(r1, layout, 2)) < pooled < 1.0


def test_continua_add_up_and_the_statistics_are_vectorised_over_resamples():
    first = rows([[[(0, 5)], [(5, 9)]], [[(0, 6)], [(7, 9)]]], 20)
    second = rows([[[(2, 8)], []], [[(3, 8)], [(10, 12)]]], 15)
    layout = us.Layout(2)
    # Two transcripts as one continuum of their summed lengths: the second shifted by 20.
    joined = rows([[[(0, 5), (22, 28)], [(5, 9)]], [[(0, 6), (23, 28)], [(7, 9), (30, 32)]]], 35)
    assert (first + second).tolist() == joined.tolist()
    w = bootstrap_weights(2, 5)
    stacked = w @ np.stack([first, second])
    together = us.cu_alpha(stacked, layout, 2)
    for b in range(5):
        assert together[b] == pytest.approx(
            float(us.cu_alpha(stacked[b], layout, 2)), abs=TOL, nan_ok=True
        )


# --- from codings ---------------------------------------------------------------------------


def test_codings_with_emoji_and_aeoeaa_at_the_edges_per_code_and_domain(two_coded, monkeypatch):  # noqa: F811
    monkeypatch.setattr(unitized, "MIN_CODED", 10)  # the text is short
    project, t = two_coded
    cb = project.codebooks.get()
    parent = CodeFactory(codebook=cb, name="Støtte")
    kids = [CodeFactory(codebook=cb, name=n, parent=parent) for n in ("Penger", "Råd")]
    other = CodeFactory(codebook=cb, name="Annet")
    a, b, c = (_coder(project, n) for n in ("kari", "per", "ola"))
    s = {
        (a, 0): [_code(t, kids[0], a, "😀 med æøå")],
        (a, 1): [_code(t, kids[1], a, "høsten, og håper på svar før jul 🎄")],
        (b, 0): [_code(t, kids[0], b, "fint 😀"), _code(t, kids[0], b, "jul 🎄.")],
        (b, 1): [_code(t, kids[1], b, "æøå-prosjektet, men")],
        (c, 0): [_code(t, kids[0], c, "Det går fint 😀 med æøå-prosjektet")],
        (c, 1): [_code(t, kids[1], c, "æøå")],  # nested in c's own coding of the other
    }
    own = {a: [_code(t, parent, a, "Hva skjer videre?")], b: [], c: []}
    for u in (a, b, c):
        _code(t, other, u, "Hvordan går det")
    for coders in ([a, b], [a, b, c]):
        report = unitized.build(project, coder_ids=[u.pk for u in coders], resamples=50)
        by_name = {r.code.name: r for r in report.rows}
        n = len(t.text)
        # The domain: its own codings and its two sub-codes as three categories.
        cats = [[own[u]] + [s[(u, k)] for k in (0, 1)] for u in coders]
        want_binary, want_cu = literal([[sum(v, [])] for v in cats], n)[0], literal(cats, n)[1]
        dom = by_name["Støtte"].domain
        assert dom is not None and dom.categories[1:] == ["Penger", "Råd"]
        assert dom.values["u_alpha_binary"] == pytest.approx(want_binary, abs=TOL)
        assert dom.values["cu_alpha"] == pytest.approx(want_cu, abs=TOL)
        assert dom.characters == n
        # A sub-code on its own, and the parent's own codings on their own.
        sub = literal([[s[(u, 0)]] for u in coders], n)[0]
        assert by_name["Penger"].figure.values["u_alpha_binary"] == pytest.approx(sub, abs=TOL)
        assert by_name["Penger"].domain is None
        # Cu-alpha over the domains: "Annet" has no sub-codes, so it is Støtte's cu-alpha.
        assert report.pooled.values["Cu_alpha"] == pytest.approx(want_cu, abs=TOL)
        assert report.pooled.categories == ["Støtte"]
        # |uα of everything: any code against none.
        every = [[sum(cats[i], []) + [_span(t, "Hvordan går det")]] for i in range(len(coders))]
        want = literal(every, n)[0]
        assert report.pooled.values["u_alpha_binary"] == pytest.approx(want, abs=TOL)
    # Only the domain chosen: its sub-codes are still read; rolled up, the code is its domain.
    ids = [a.pk, b.pk]
    only = unitized.build(project, coder_ids=ids, data={"codes": [str(parent.pk)]}, resamples=0)
    assert [r.code.name for r in only.rows] == ["Støtte"]
    full = {r.code.name: r for r in unitized.build(project, coder_ids=ids, resamples=0).rows}
    assert only.rows[0].domain.values == full["Støtte"].domain.values
    rolled = unitized.build(
        project, coder_ids=ids, data={"codes": [str(parent.pk)], "subcodes": "rollup"}, resamples=0
    )
    assert rolled.rows[0].figure.values["u_alpha_binary"] == pytest.approx(
        only.rows[0].domain.values["u_alpha_binary"], abs=TOL
    )
    assert only.rows[0].figure.values["u_alpha_binary"] != pytest.approx(
        only.rows[0].domain.values["u_alpha_binary"], abs=1e-6
    )
    # The emoji edges are one code point each: a's first unit starts with the whole emoji.
    start, end = s[(a, 0)][0]
    assert t.text[start] == "😀" and t.text[start:end] == "😀 med æøå"


def _span(t, phrase: str) -> tuple[int, int]:
    i = t.text.index(phrase)
    return i, i + len(phrase)


def test_too_little_coding_is_marked_and_the_interval_resamples_transcripts(two_coded):  # noqa: F811
    project, t = two_coded
    code = CodeFactory(codebook=project.codebooks.get(), name="K")
    a, b = _coder(project, "kari"), _coder(project, "per")
    _code(t, code, a, "Hva skjer videre?")
    _code(t, code, b, "Hva skjer")
    report = unitized.build(project, coder_ids=[a.pk, b.pk], resamples=50)
    fig = report.rows[0].figure
    assert fig.coded == len("Hva skjer videre?") and fig.coded < unitized.MIN_CODED
    assert fig.values["u_alpha_binary"] is not None
    assert fig.shown("u_alpha_binary") is None and fig.status("u_alpha_binary") == "too_little"
    assert report.as_json()["codes"]["K"]["u_alpha_binary"] is None
    assert fig.intervals.get("u_alpha_binary") is None  # one transcript: nothing to resample


@pytest.mark.django_db
def test_the_demo_study_and_the_command(demo_study):  # noqa: F811
    project = demo_study
    out = io.StringIO()
    call_command("agreement", str(project.pk), "--coders", "forsker_a", "forsker_b",
                 "--unit", "unitized", "--json", stdout=out)  # fmt: skip
    data = json.loads(out.getvalue())
    assert data["unit"] == "unitized" and data["transcripts"] == 8
    entry = next(v for v in data["codes"].values() if v["u_alpha_binary_status"] == "ok")
    assert {"u_alpha_binary", "cu_alpha", "Cu_alpha", "unit", "units"} <= set(entry)
    assert entry["unit"] == "character" and entry["units"] > 100_000
    assert entry["u_alpha_binary_ci95"] is not None
    # The command's per-code |uα equals the identity with nominal alpha over the same
    # characters (the agreement report's character unit, checked there against krippendorff).
    from coding.analysis import agreement

    users = {m.user.username: m.user.pk for m in project.memberships.select_related("user")}
    char = agreement.build(project, coder_ids=[users["forsker_a"], users["forsker_b"]],
                           resamples=0)  # fmt: skip
    report = unitized.build(project, coder_ids=[users["forsker_a"], users["forsker_b"]],
                            resamples=0)  # fmt: skip
    alphas = {r.code.name: r.figure.values["krippendorff_alpha"] for r in char.rows}
    compared = 0
    for r in report.rows:
        u = r.figure.values["u_alpha_binary"]
        if u is None or alphas[r.code.name] is None:
            continue
        assert u >= alphas[r.code.name] - TOL
        compared += 1
    assert compared >= 10
