"""Lemma search: word forms, compounds, abbreviations, phrases, proximity, filters, KWIC, and
the word index built at import and rebuilt by a job."""

import pytest
from django.core.exceptions import ValidationError

from coding import nlp, services, tasks
from coding.language import lemma_index, lemma_search
from coding.models import (
    Job,
    JobKind,
    JobStatus,
    LemmaIndex,
    Level,
    Sentence,
    Transcript,
)

from .factories import CaseFactory
from .language_data import informant, make_transcript, span_of


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English UI text, whatever translations the catalogue holds."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _interviewer_turns_count(project):
    """These tests read the interviewer's questions as text to find words in; search's own
    restriction to interview text is tested in test_interview_text.py."""
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])


def words(project, query: str, exact: bool = False, **filters) -> list[str]:
    """The text of each hit, in order."""
    hits = lemma_search.find_hits(
        project, lemma_search.parse_query(query, exact=exact), lemma_search.Filters(**filters)
    )
    texts = dict(Transcript.objects.values_list("pk", "text"))
    return [texts[h.transcript_id][h.start : h.end] for h in hits]


@pytest.fixture
def housing(case):
    return make_transcript(
        case,
        [
            "I: Hvordan jobber dere med boliger?",
            "IP: Vi har mange boliger. Boligene er små, og boligens standard varierer.",
            "I: Og samarbeidet?",
            "IP: Vi samarbeider med NAV. Vi samarbeidet også med Husbanken om startlånet og "
            "startlånene i fjor.",
            "IP: Det boligsosiale arbeidet er viktig, og boligsosialt arbeid krever f.eks. "
            "tildelingen av boliger i et utvalg, bl.a. for unge.",
            "IP: Tildeling av tjenester og bolig skjer to steder.",
        ],
    )


def test_bolig_finds_boliger_boligene_and_boligens(project, housing):
    got = {w.lower() for w in words(project, "bolig")}
    assert {"boliger", "boligene", "boligens", "bolig"} <= got
    assert "boligsosiale" not in got


def test_samarbeide_finds_samarbeider_and_samarbeidet(project, housing):
    got = [w.lower() for w in words(project, "samarbeide")]
    assert got.count("samarbeidet") == 2
    assert "samarbeider" in got


def test_any_form_in_the_query_finds_the_others(project, housing):
    assert {w.lower() for w in words(project, "boligene")} >= {"boliger", "boligens"}


def test_exact_form_finds_only_that_form(project, housing):
    assert words(project, "boliger", exact=True) == ["boliger"] * 3


@pytest.mark.parametrize(
    ("form", "lemma"),
    [
        ("boligsosial", "boligsosial"),
        ("boligsosiale", "boligsosial"),
        ("boligsosialt", "boligsosial"),
        ("startlånet", "startlån"),
        ("startlånene", "startlån"),
        ("oppfølgingsteamet", "oppfølgingsteam"),
        ("ROP-tjenesten", "rop-tjeneste"),
    ],
)
def test_compounds_take_the_lemma_of_their_last_part(form, lemma):
    assert nlp.lemmatize(form) == lemma


def test_compound_search_finds_inflected_compounds(project, housing):
    assert words(project, "startlån") == ["startlånet", "startlånene"]
    assert words(project, "boligsosial") == ["boligsosiale", "boligsosialt"]


def test_prefix_finds_words_beginning_so(project, housing):
    got = {w.lower() for w in words(project, "boligsos*")}
    assert got == {"boligsosiale", "boligsosialt"}
    assert len(words(project, "bolig*")) == len(words(project, "bolig")) + 2


def test_a_one_letter_prefix_is_refused():
    with pytest.raises(ValidationError, match="at least"):
        lemma_search.parse_query("b*")


def test_abbreviations_are_one_word_and_do_not_end_the_sentence(project, housing):
    assert words(project, "f.eks.") == ["f.eks."]
    assert words(project, "bl.a.") == ["bl.a."]
    # The phrase runs over the abbreviation: it did not end the sentence.
    assert words(project, "krever f.eks. tildeling") == ["krever f.eks. tildelingen"]


def test_a_phrase_matches_its_words_in_a_row_in_any_form(project, housing):
    assert words(project, "tildeling av bolig") == ["tildelingen av boliger"]
    assert words(project, '"tildeling av bolig"') == ["tildelingen av boliger"]
    # "Tildeling av tjenester og bolig" has the words, but not in a row.
    assert words(project, "tildeling av tjeneste") == ["Tildeling av tjenester"]


def test_a_phrase_does_not_run_across_sentences(project, case):
    make_transcript(case, ["IP: Vi fikk en bolig. Av og til flere."], title="Setninger")
    assert words(project, "bolig av") == []


def test_near_finds_words_close_to_each_other_within_one_turn(project, case):
    make_transcript(
        case,
        [
            "IP: Boligen ble tildelt av NAV etter mye arbeid.",
            "IP: Boligen var fin, men det tok lang tid og mange runder før NAV svarte.",
            "I: Boligen?",
            "IP: NAV svarte.",
        ],
        title="Nærhet",
    )
    assert words(project, "bolig NEAR/4 nav") == ["Boligen ble tildelt av NAV"]
    assert len(words(project, "bolig NEAR/20 nav")) == 2
    # Either order.
    assert words(project, "nav NEAR/4 bolig") == ["Boligen ble tildelt av NAV"]


@pytest.mark.parametrize(
    "query", ["", "   ", "NEAR/3 bolig", "bolig NEAR/0 nav", "a NEAR b NEAR c"]
)
def test_unusable_queries_get_a_message(query):
    with pytest.raises(ValidationError):
        lemma_search.parse_query(query)


def test_filters_by_case_level_speaker_and_transcript(project, case):
    other_case = CaseFactory(project=project, name="Sandnes")
    boss = informant(other_case, "Leder", Level.STRATEGIC)
    t1 = make_transcript(case, ["I: Boliger?", "IP: Boliger."], title="Drammen 1")
    t2 = make_transcript(other_case, ["I: Boliger?", "IP: Boliger."], title="Sandnes", who=boss)
    q = lemma_search.parse_query("bolig")

    def n(**kw):
        return len(lemma_search.find_hits(project, q, lemma_search.Filters(**kw)))

    assert n() == 4
    assert n(case_ids=[other_case.pk]) == 2
    assert n(transcript_ids=[t1.pk]) == 2
    assert n(levels=[Level.STRATEGIC]) == 1
    assert n(levels=[Level.OPERATIVE]) == 1
    assert n(speaker="interviewer") == 2
    assert n(speaker="informant", case_ids=[case.pk]) == 1
    assert n(transcript_ids=[t2.pk], levels=[Level.OPERATIVE]) == 0


def test_filters_by_coded_and_not_coded(project, codes, case, alice):
    t = make_transcript(case, ["IP: Boliger her.", "IP: Boliger der."])
    s, e = span_of(t, "Boliger her.")
    services.excerpt_code(transcript=t, start=s, end=e, codes=[codes[1]], coder=alice)
    q = lemma_search.parse_query("bolig")
    coded = lemma_search.find_hits(project, q, lemma_search.Filters(code=codes[1], coded="coded"))
    uncoded = lemma_search.find_hits(
        project, q, lemma_search.Filters(code=codes[1], coded="uncoded")
    )
    other = lemma_search.find_hits(project, q, lemma_search.Filters(code=codes[0], coded="coded"))
    anything = lemma_search.find_hits(project, q, lemma_search.Filters(coded="coded"))
    assert [h.start for h in coded] == [s]
    assert len(uncoded) == 1 and uncoded[0].start != s
    assert other == []
    assert [h.start for h in anything] == [s]


def test_search_never_finds_another_projects_transcripts(project, case):
    make_transcript(CaseFactory(name="Annet"), ["IP: Boliger."])
    make_transcript(case, ["IP: Boliger."])
    assert len(words(project, "bolig")) == 1


# --- keyword in context ---------------------------------------------------------------------


def test_kwic_centres_the_hit_and_cuts_context_at_whole_words_with_aeoeaa():
    left_words = "blåbærsyltetøy " * 6 + "går før økonomiske "
    text = f"{left_words}boligene tåler ærlig øving på åtte års gjærdeig " * 1
    start = text.index("boligene")
    end = start + len("boligene")
    left, right, cut_left, cut_right = lemma_search.kwic(text, start, end, width=30)
    assert text[:start].rstrip().endswith(left)
    assert left.endswith("økonomiske")
    assert left.split()[0] in text.split()  # no word shown in part
    assert all(w in text.split() for w in left.split())
    assert all(w in text.split() for w in right.split())
    assert right.startswith("tåler ærlig")
    assert cut_left and cut_right
    assert len(left) <= 30 and len(right) <= 30


def test_kwic_stays_inside_the_hits_line():
    text = "Første linje om æøå.\nBoligene her er fine.\nTredje linje."
    start = text.index("Boligene")
    left, right, cut_left, cut_right = lemma_search.kwic(text, start, start + 8)
    assert left == ""
    assert right == "her er fine."
    assert not cut_left and not cut_right


def test_search_result_groups_hits_by_transcript_with_counts_per_case(project, case):
    other = CaseFactory(project=project, name="Stovner", order=5)
    make_transcript(case, ["IP: Boliger og boliger."], title="A")
    make_transcript(other, ["IP: En bolig."], title="B")
    result = lemma_search.search(project, lemma_search.parse_query("bolig"))
    assert result.total == 3
    assert [(c.case.name, c.hits, c.transcripts) for c in result.cases] == [
        ("Drammen", 2, 1),
        ("Stovner", 1, 1),
    ]
    assert [g.transcript.title for g in result.groups] == ["A", "B"]
    first = result.groups[0].hits[0]
    assert first.match == "Boliger"
    assert first.url.endswith(f"?start={first.start}&end={first.end}#pos-{first.start}")


# --- the index ------------------------------------------------------------------------------


def stored_words(t) -> list[tuple[int, str, str, int, int]]:
    """The word index of ``t`` as stored on its sentences: (position, lemma, form, start, end)."""
    out = []
    for s in Sentence.objects.filter(transcript=t).order_by("index"):
        words = lemma_index.decode_words(s.start, s.index_lemmas, s.index_forms, s.index_offsets)
        out.extend((s.first_word + i, *w) for i, w in enumerate(words))
    return out


def test_import_builds_the_word_index(project, case):
    t = make_transcript(case, ["IP: Vi har f.eks. 25 boliger – og æøå-ord!"])
    tokens = stored_words(t)
    assert [tok[0] for tok in tokens] == list(range(7))
    assert [tok[2] for tok in tokens] == ["vi", "har", "f.eks.", "25", "boliger", "og", "æøå-ord"]
    assert [tok[1] for tok in tokens][:2] == ["vi", "ha"]
    assert [t.text[tok[3] : tok[4]] for tok in tokens][-1] == "æøå-ord"
    assert LemmaIndex.objects.get(transcript=t).version == lemma_index.INDEX_VERSION
    assert lemma_index.stale_transcript_ids(project) == []


def test_the_index_written_at_import_is_the_one_a_rebuild_writes(project, case):
    """Import computes the tokens before its write transaction; a rebuild from the stored
    sentences must find exactly the same rows."""
    t = make_transcript(
        case,
        [
            "I: Hvordan gikk det med Husbanken?",
            "IP: Startlånet kom. Vi fikk f.eks. 3 boliger.",
            "IP: Drammen og NAV samarbeidet – også om ROP-tjenesten.",
        ],
    )

    def rows():
        return list(
            Sentence.objects.filter(transcript=t)
            .order_by("index")
            .values_list("pk", "first_word", "index_lemmas", "index_forms", "index_offsets")
        )

    at_import = rows()
    assert at_import
    lemma_index.index_transcript(t)
    assert rows() == at_import


def test_import_runs_the_pipeline_once(project, case, monkeypatch):
    """The words of the index come from the pass that cut the sentences: the import never
    runs spaCy over the sentences a second time."""
    calls = []
    real_pipe = type(nlp.get_nlp()).pipe

    def counting_pipe(self, texts, *args, **kwargs):
        calls.append(kwargs.get("disable"))
        return real_pipe(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(nlp.get_nlp()), "pipe", counting_pipe)
    monkeypatch.setattr(
        lemma_index, "sentence_tokens", lambda *a, **k: pytest.fail("second spaCy pass")
    )
    t = make_transcript(case, ["I: Hvordan gikk det?", "IP: Startlånet kom. Vi fikk 3 boliger."])
    assert len(calls) == 1
    assert [tok[1] for tok in stored_words(t)] == [
        "hvordan", "gå", "det", "startlån", "komme", "vi", "få", "3", "bolig",
    ]  # fmt: skip


def test_sentences_made_without_the_pipeline_are_indexed_by_it():
    text = "Vi fikk boliger. Takk."
    spans = [nlp.SentenceSpan(0, 16, ""), nlp.SentenceSpan(17, 22, "")]
    words = lemma_index.words_of_sentences(text, spans)
    assert [[w[3] for w in ws] for ws in words] == [["vi", "få", "bolig"], ["takk"]]
    assert words[1][0][:2] == (17, 21)


def test_reindex_job_rebuilds_stale_transcripts_and_their_sentence_lemmas(project, case, alice):
    t = make_transcript(case, ["IP: Startlånet kom."])
    LemmaIndex.objects.filter(transcript=t).update(version="old pipeline")
    Sentence.objects.filter(transcript=t).update(
        lemmas="stale", index_lemmas="", index_forms="", index_offsets=""
    )
    assert lemma_index.stale_transcript_ids(project) == [t.pk]
    assert words(project, "startlån") == []

    job = services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)

    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.DONE, job.message
    assert lemma_index.stale_transcript_ids(project) == []
    assert words(project, "startlån") == ["Startlånet"]
    assert Sentence.objects.get(transcript=t).lemmas == "startlån komme"
    tasks.run_job(str(job.pk))  # running a finished job again changes nothing
    assert len(stored_words(t)) == 2
