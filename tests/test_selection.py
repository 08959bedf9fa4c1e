"""Who speaks: the one rule (coding.analysis.selection) that the matrices, the drill-down, the
Word export's selection and the lemma search all filter by, so that the same data and the same
filter give the same passages everywhere.

The drift this catches: a transcript of two informants without speaker labels, filtered to
level "operative", was found by the search and counted 0 by the matrix (the matrix took the
transcript's first listed informant as the speaker; the search took any of them)."""

import random

import pytest
from django.db.models import F
from django.urls import reverse

from coding import importers, services
from coding.analysis import drilldown, matrices, progress, selection
from coding.exports import selection as export_selection
from coding.exports.word import LAYOUT_SELECTION
from coding.language import lemma_search
from coding.models import Coding, Excerpt, Level, Turn, coded_chars

from .language_data import informant, span_of


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _transcript(case, text: str, informants, speakers=None, title="Gruppeintervju"):
    return services.transcript_create(
        case=case,
        doc=importers.parse_pasted(text, title),
        title=title,
        speakers=speakers or {},
        informant_ids=[i.pk for i in informants],
        user=None,
    )


@pytest.fixture
def pair(case):
    """Two informants on one case; the leader is listed first (the lower id)."""
    return informant(case, "Leder", Level.STRATEGIC), informant(case, "Kari", Level.OPERATIVE)


@pytest.fixture
def unlabelled(case, pair, codes, alice):
    """A transcript of both informants, with no speaker labels, one passage coded."""
    t = _transcript(case, "Vi har mange boliger i kommunen.\n\nDet tar tid.", pair)
    s, e = span_of(t, "Vi har mange boliger i kommunen.")
    services.excerpt_code(transcript=t, start=s, end=e, codes=[codes[0]], coder=alice)
    return t


def search_hits(project, level: str | None, word: str = "bolig") -> int:
    filters = lemma_search.Filters(levels=[level] if level else [])
    return len(lemma_search.find_hits(project, lemma_search.parse_query(word), filters))


def matrix_total(project, code, level: str | None) -> int:
    # Excerpts one by one (the sum basis): these tests are about who speaks in each, and two
    # of them overlap, which the merged default would count as one passage.
    data = {"codes": [str(code.pk)], "basis": "sum", **({"levels": [level]} if level else {})}
    form = selection.bound_form(project, data)
    m = matrices.case_code_matrix(form, lambda r, c: "")
    return m.column_totals.total.value if m.column_totals else 0


@pytest.mark.parametrize("level", [None, Level.OPERATIVE, Level.STRATEGIC, Level.USER])
def test_unlabelled_text_of_two_informants_search_and_matrix_agree(
    project, codes, unlabelled, level
):
    expected = 0 if level == Level.USER else 1
    assert search_hits(project, level) == expected
    assert selection.filter_codings(project, {"levels": [level] if level else []}).count() == (
        expected
    )
    assert matrix_total(project, codes[0], level) == expected


def test_the_operative_filter_keeps_the_unlabelled_passage_in_every_reader(
    project, codes, unlabelled, pair
):
    data = {"levels": [Level.OPERATIVE], "codes": [str(codes[0].pk)]}
    # The drill-down names a speaker who passes the filter, not the first listed informant.
    _n, items = drilldown.drilldown(selection.filter_codings(project, data))
    assert [it.speaker for it in items] == [pair[1]]
    # Without a filter, the first listed informant stands for the passage.
    _n, items = drilldown.drilldown(selection.filter_codings(project, {}))
    assert [it.speaker for it in items] == [pair[0]]
    # The Word export's selection of the same filter.
    got, _described = export_selection.codings_for(
        project, {"layout": LAYOUT_SELECTION, "filters": data}
    )
    assert got.count() == 1
    # Rows of informant levels: one row per coding (the first speaker who passes).
    form = selection.bound_form(project, {**data, "rows": "level", "measure": "informants"})
    m = matrices.case_code_matrix(form, lambda r, c: "")
    cells = {row.key: row.total.value for g in m.groups for row in g.rows}
    assert cells == {Level.OPERATIVE.value: 1}


@pytest.fixture
def labelled(case, pair, codes, alice):
    leader, kari = pair
    t = _transcript(
        case,
        "I: Hvordan går det med boligene?\n\nL: Boligene er mange.\n\nK: Boliger mangler.",
        pair,
        speakers={
            "I": {"kind": "interviewer"},
            "L": {"kind": "informant", "informant_id": leader.pk},
            "K": {"kind": "informant", "informant_id": kari.pk},
        },
        title="Merket",
    )
    spans = {
        "question": span_of(t, "Hvordan går det med boligene?"),
        "leader": span_of(t, "Boligene er mange."),
        "kari": span_of(t, "Boliger mangler."),
        "both": (span_of(t, "Boligene er mange.")[0], span_of(t, "Boliger mangler.")[1]),
    }
    for s, e in spans.values():
        services.excerpt_code(transcript=t, start=s, end=e, codes=[codes[0]], coder=alice)
    return t, spans


def _excerpt_texts(project, level):
    qs = selection.filter_codings(project, {"levels": [level]})
    return sorted(c.content_object.text for c in qs.select_related("content_object"))


def test_labelled_turns_decide_and_the_interviewer_speaks_for_no_informant(
    project, codes, labelled
):
    t, spans = labelled
    assert Turn.objects.filter(transcript=t, is_interviewer=True).count() == 1
    both = t.text[spans["both"][0] : spans["both"][1]]
    # An excerpt over two informants' turns is what each of them said.
    assert _excerpt_texts(project, Level.STRATEGIC) == sorted(["Boligene er mange.", both])
    assert _excerpt_texts(project, Level.OPERATIVE) == sorted(["Boliger mangler.", both])
    # The question is the interviewer's: no level filter keeps it, in search or matrix; and
    # search finds it only where the project counts the interviewer's turns as interview text.
    assert search_hits(project, Level.STRATEGIC) == 1
    assert search_hits(project, Level.OPERATIVE) == 1
    assert search_hits(project, None) == 2
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])
    assert search_hits(project, None) == 3
    assert search_hits(project, Level.STRATEGIC) == 1
    assert matrix_total(project, codes[0], Level.STRATEGIC) == 2
    assert matrix_total(project, codes[0], Level.OPERATIVE) == 2
    assert matrix_total(project, codes[0], None) == 4


def test_search_page_and_matrix_page_agree_on_who_speaks(bob_client, project, codes, unlabelled):
    search = bob_client.get(
        reverse("coding:search", args=[project.pk]), {"q": "bolig", "level": Level.OPERATIVE}
    )
    assert search.status_code == 200
    assert search.context["result"].total == 1
    matrix = bob_client.get(
        reverse("coding:analysis-matrix", args=[project.pk]),
        {"levels": Level.OPERATIVE, "codes": str(codes[0].pk)},
    )
    assert matrix.status_code == 200
    assert matrix.context["matrix"].column_totals.total.value == 1


# --- text coverage: the same union of spans in Python and in SQL -----------------------------
#
# Two definitions on purpose: the project page and the dashboard read every coded span of the
# project in one query and add them up per transcript (coding.models.coded_chars); the matrix's
# share measure groups a filtered set by row and column in one statement, so it takes the union
# in SQL (a window over the spans: CodingQuerySet.matrix_counts("coverage")). They must agree.


def test_coverage_in_python_and_in_sql_is_the_same_union_of_spans(project, case, codes, alice):
    rng = random.Random(12)
    who = informant(case)
    expected = {}
    for n in range(6):
        t = _transcript(case, "x" * 240, [who], title=f"T{n}")
        spans = [(0, 10), (0, 10), (5, 20), (20, 30), (100, 110), (102, 105)]  # dup, overlap,
        for _ in range(10):  # adjacent and nested, then random ones
            s = rng.randrange(0, 230)
            spans.append((s, rng.randrange(s + 1, 241)))
        for i, (s, e) in enumerate(spans):
            chosen = [codes[i % 3]] + ([codes[(i + 1) % 3]] if i % 4 == 0 else [])
            services.excerpt_code(transcript=t, start=s, end=e, codes=chosen, coder=alice)
        expected[t.pk] = coded_chars(spans)
    in_python = {pk: tp.coded for pk, tp in progress.project_progress(project).transcripts.items()}
    in_sql = {
        tid: n
        for tid, _ck, n in Coding.objects.filter(tag__codebook__project=project).matrix_counts(
            "coverage", row=F("content_object__transcript_id")
        )
    }
    assert in_python == in_sql == expected
    assert len(set(expected.values())) > 1  # the sets differ, so the check means something


def test_the_python_rule_names_the_speaker_the_sql_rule_names(project, codes, labelled, unlabelled):
    """Both forms of the rule in selection: every excerpt of both transcripts."""
    listed = {}
    for t in (labelled[0], unlabelled):
        listed[t.pk] = list(t.informants.values_list("pk", flat=True))
    checked = 0
    for e in selection.with_speaker(Excerpt.objects.for_project(project), ""):
        overlapped = Turn.objects.filter(
            transcript_id=e.transcript_id, start__lt=e.end, end__gt=e.start
        ).order_by("start")
        found = selection.speakers(
            overlapped.values_list("informant_id", "is_interviewer"), listed[e.transcript_id]
        )
        assert (found[0] if found else None) == e.speaker_id
        checked += 1
    assert checked == 5
