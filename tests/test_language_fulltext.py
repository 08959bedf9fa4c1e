"""The word index in the database's full-text engine (coding/language/fulltext.py, migration
0016): the engine finds the sentences, the stored words give exact hits; the same answers as
the old token rows (language.legacy_index) on this database, whichever engine it has; the
migration from the old index runs as a job with progress while search keeps working."""

import importlib

import pytest
from django.db import connection

from coding import services
from coding.language import fulltext, lemma_index, lemma_search
from coding.models import IndexFormat, Job, JobKind, JobStatus, LemmaIndex, Sentence, Token
from coding.services import maintenance

from .language_data import make_transcript


@pytest.fixture(autouse=True)
def _interviewer_turns_count(project):
    """These tests read the interviewer's questions as text to find words in; search's own
    restriction to interview text is tested in test_interview_text.py."""
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


TURNS = [
    "I: Hvordan jobber dere med boliger og ROP-tjenesten?",
    "IP: Tildeling av bolig skjer i Tromsø. Boligene er små 😀, og æøå-ordet står der.",
    "IP: Vi samarbeider med NAV om startlånet. Etter mye arbeid fikk vi en bolig hos NAV.",
    "IP: ROP-tjenesten og NAV-kontoret hjelper 👍🏽 blåbærplukkere på Ørland med "
    "boligsosialt arbeid.",
    "I: Og tildelingen av boliger i Bærum?",
]

QUERIES = [
    ("bolig", False),
    ("boligene", True),
    ("bolig*", False),
    ("bolig*", True),
    ("tildeling av bolig", False),
    ('"tildeling av bolig*"', False),
    ("bolig NEAR/5 nav", False),
    ("nav NEAR/3 startlån", False),
    ("rop-tjeneste", False),
    ("rop-tjenesten", True),
    ("æøå-ord*", False),
    ("blåbærplukker", False),
    ("ørland", False),
    ("bærum", True),
    ("nav-kontor*", False),
]


def hits(project, text: str, exact: bool) -> list[tuple[int, int, int, int, int]]:
    query = lemma_search.parse_query(text, exact=exact)
    return [
        (h.transcript_id, h.start, h.end, h.sentence_id, h.turn_id)
        for h in lemma_search.find_hits(project, query)
    ]


def to_old_format(transcript) -> None:
    """What a transcript indexed before issue 16 looks like: Token rows, no sentence index."""
    rows = []
    for s in Sentence.objects.filter(transcript=transcript).order_by("index"):
        words = lemma_index.decode_words(s.start, s.index_lemmas, s.index_forms, s.index_offsets)
        for i, (lemma, form, start, end) in enumerate(words):
            rows.append(
                Token(
                    transcript=transcript,
                    sentence=s,
                    position=s.first_word + i,
                    start=start,
                    end=end,
                    form=form,
                    lemma=lemma,
                )
            )
    Token.objects.bulk_create(rows)
    Sentence.objects.filter(transcript=transcript).update(
        index_lemmas="", index_forms="", index_offsets="", first_word=0
    )
    LemmaIndex.objects.filter(transcript=transcript).update(
        version="spacy old; index 1", format=IndexFormat.TOKENS
    )


@pytest.fixture
def two(case):
    return [make_transcript(case, TURNS, title="A"), make_transcript(case, TURNS[1:], title="B")]


def test_the_engine_and_the_old_index_give_the_same_hits(project, two):
    new = {(q, exact): hits(project, q, exact) for q, exact in QUERIES}
    for q, exact in QUERIES:
        assert new[(q, exact)], f"{q!r} finds something ({connection.vendor})"
    for t in two:
        to_old_format(t)
    assert lemma_search._scope(project, lemma_search.Filters()).legacy is not None
    old = {(q, exact): hits(project, q, exact) for q, exact in QUERIES}
    assert old == new


def test_the_hits_are_the_words_meant(project, two):
    a = two[0]

    def texts(q: str, exact: bool = False) -> list[str]:
        return [a.text[s:e] for tid, s, e, _sid, _turn in hits(project, q, exact) if tid == a.pk]

    assert texts("bolig") == ["boliger", "bolig", "Boligene", "bolig", "boliger"]
    assert texts("boligene", exact=True) == ["Boligene"]
    assert texts("bolig*") == [
        "boliger", "bolig", "Boligene", "bolig", "boligsosialt", "boliger",
    ]  # fmt: skip
    assert texts("tildeling av bolig") == ["Tildeling av bolig", "tildelingen av boliger"]
    assert texts("rop-tjeneste") == ["ROP-tjenesten", "ROP-tjenesten"]
    assert texts("æøå-ord*") == ["æøå-ordet"]
    assert texts("nav-kontor*") == ["NAV-kontoret"]
    assert texts("ørland") == ["Ørland"]
    # NEAR counts words across the sentences of one turn ("startlånet" ends one sentence,
    # "bolig hos NAV" is in the next); "NAV-kontoret" is one word, not "NAV".
    assert texts("nav NEAR/3 startlån") == ["NAV om startlånet"]
    assert texts("bolig NEAR/5 nav") == ["bolig hos NAV"]
    assert texts("startlån NEAR/7 bolig") == ["startlånet. Etter mye arbeid fikk vi en bolig"]
    assert texts("startlån NEAR/6 bolig") == []
    # A phrase stays inside one sentence; words in another order are no phrase.
    assert texts("bolig av tildeling") == []
    assert texts("startlån etter") == []


def test_kwic_offsets_are_exact_next_to_emoji_and_æøå(project, case):
    t = make_transcript(case, ["IP: 😀👍🏽 Blåbær-syltetøy på Ørland, 🇳🇴 og ROP-tjenesten 😀."])
    result = lemma_search.search(project, lemma_search.parse_query("rop-tjeneste"))
    (hit,) = result.hits
    assert t.text[hit.start : hit.end] == hit.match == "ROP-tjenesten"
    assert hit.left.endswith("🇳🇴 og") and hit.right == "😀."
    (berry,) = lemma_search.find_hits(project, lemma_search.parse_query("blåbær-syltetøy"))
    assert t.text[berry.start : berry.end] == "Blåbær-syltetøy"
    (place,) = lemma_search.find_hits(project, lemma_search.parse_query("ørland"))
    assert t.text[place.start : place.end] == "Ørland"


def test_the_engine_itself_narrows_to_the_sentences_with_the_phrase(project, two):
    def found(terms, exact=False) -> set[str]:
        qs = Sentence.objects.filter(transcript__in=two).filter(
            fulltext.SentenceMatch(terms, exact)
        )
        return {
            two[0].text[s:e] for s, e in qs.filter(transcript=two[0]).values_list("start", "end")
        }

    assert found([(("tildeling",), False), (("av",), False), (("bolig",), False)]) == {
        "Tildeling av bolig skjer i Tromsø.",
        "Og tildelingen av boliger i Bærum?",
    }
    assert found([(("boliger",), False)], exact=True) == {
        "Hvordan jobber dere med boliger og ROP-tjenesten?",
        "Og tildelingen av boliger i Bærum?",
    }, "an exact form reads the forms, not the lemmas"
    assert found([(("boligene",), False)], exact=True) == {
        "Boligene er små 😀, og æøå-ordet står der."
    }
    assert found([(("æøå-o",), True)]) == {"Boligene er små 😀, og æøå-ordet står der."}
    assert len(found([(("bolig",), True)])) == 6  # lemma or form beginning so


def test_the_engine_follows_every_write_to_a_sentence(project, case):
    t = make_transcript(case, ["IP: Vi fikk boliger."])
    s = Sentence.objects.get(transcript=t)
    match = fulltext.SentenceMatch([(("startlån",), False)], False)
    assert not Sentence.objects.filter(match).exists()
    Sentence.objects.filter(pk=s.pk).update(
        index_lemmas="vi få startlån", index_forms="vi fikk startlånet"
    )
    assert list(Sentence.objects.filter(match).values_list("pk", flat=True)) == [s.pk]
    t.delete()
    assert not Sentence.objects.filter(match).exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM coding_sentence_fts WHERE coding_sentence_fts MATCH ?",
                ['index_lemmas : "startlån"'],
            )
            assert cursor.fetchone()[0] == 0, "the FTS5 rows go with their sentences"


def test_the_migration_is_a_job_with_progress_and_search_works_meanwhile(project, case):
    transcripts = [make_transcript(case, TURNS, title=f"T{i}") for i in range(3)]
    queries = [(q, exact) for q, exact in QUERIES[:8]]
    before = {k: hits(project, *k) for k in queries}
    for t in transcripts:
        to_old_format(t)
    assert set(lemma_index.stale_transcript_ids(project)) == {t.pk for t in transcripts}

    seen: list[tuple[int, int, bool]] = []

    def progress(pct: int) -> None:
        # Between two transcripts: some moved, the rest still on token rows, every hit found.
        migrated = LemmaIndex.objects.filter(
            transcript__in=transcripts, format=IndexFormat.FULLTEXT
        ).count()
        seen.append((pct, migrated, {k: hits(project, *k) for k in queries} == before))

    job = Job.objects.create(project=project, kind=JobKind.REINDEX, status=JobStatus.RUNNING)
    lemma_index.run_reindex_job(job, progress)

    assert seen == [(33, 1, True), (66, 2, True), (100, 3, True)]
    assert not Token.objects.exists(), "the old rows go with the migration"
    assert {k: hits(project, *k) for k in queries} == before
    assert lemma_index.stale_transcript_ids(project) == []


def test_the_schedule_starts_the_migration_of_projects_on_the_old_index(project, case):
    t = make_transcript(case, TURNS[:2])
    assert maintenance.migrate_old_indexes() == []
    to_old_format(t)

    assert maintenance.migrate_old_indexes() == [project.pk]

    job = Job.objects.get(project=project, kind=JobKind.REINDEX)
    assert job.status == JobStatus.DONE, job.message  # the test runner runs jobs inline
    assert job.progress == 100
    assert LemmaIndex.objects.get(transcript=t).format == IndexFormat.FULLTEXT
    assert len(hits(project, "bolig", False)) == 3  # boliger, bolig, Boligene
    assert maintenance.migrate_old_indexes() == []


def test_a_started_migration_is_not_queued_twice(project, case, alice):
    t = make_transcript(case, TURNS[:2])
    to_old_format(t)
    first = services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)
    assert Job.objects.get(pk=first.pk).status == JobStatus.DONE
    assert maintenance.migrate_old_indexes() == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 triggers")
def test_sqlite_keeps_the_fts5_triggers_after_every_migration(db):
    """A later migration that rebuilds coding_sentence on SQLite (Django's way to alter a
    table there) drops its triggers; then this fails and the migration must recreate them."""
    migration = importlib.import_module("coding.migrations.0016_issue16_fulltext")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[0] for row in cursor.fetchall()}
    assert set(migration.SQLITE_TRIGGERS) <= names


def test_a_phrase_is_found_deep_in_a_sentence_of_many_words(project, case):
    """A tsvector keeps no positions past 16,383 nor more than 256 of one word: an unpunctuated
    transcript of 17,000 words is one sentence, and its late phrase is still found."""
    t = make_transcript(case, ["IP: " + "ord og " * 8500 + "tildeling av bolig"])
    assert Sentence.objects.filter(transcript=t).count() == 1
    (hit,) = lemma_search.find_hits(project, lemma_search.parse_query("tildeling av bolig"))
    assert t.text[hit.start : hit.end] == "tildeling av bolig"
    (near,) = lemma_search.find_hits(project, lemma_search.parse_query("ord NEAR/4 bolig"))
    assert t.text[near.start : near.end] == "ord og tildeling av bolig"
