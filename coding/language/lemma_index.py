"""The word index: each sentence's index words (lemma, lower-cased form, offsets) stored on the
``Sentence`` row itself and indexed by the database's own full-text engine (migration 0016: a
generated ``tsvector`` with a GIN index on PostgreSQL, an FTS5 table on SQLite), so the engine
finds the sentences and the stored offsets give each hit's exact span (``lemma_search``).

Built at import from the one spaCy pass (``services.transcript_create`` writes the sentence
rows with ``write_sentences``) and rebuilt by the REINDEX job when the pipeline changes or a
transcript still has the old index (``Token`` rows, ``IndexFormat.TOKENS``): each transcript's
``LemmaIndex`` names the pipeline (``version``) and the format that built it. A rebuild also
refreshes ``Sentence.lemmas`` (what the suggestions learn from), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import version as package_version
from typing import Any

import spacy
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding import nlp
from coding.models import IndexFormat, Job, LemmaIndex, Project, Sentence, Token, Transcript

# Bump the last part when the way words are cut or stored changes.
INDEX_VERSION = (
    f"spacy {spacy.__version__}; lookups {package_version('spacy-lookups-data')}; "
    f"lemmatizer {nlp.LEMMATIZER_VERSION}; index 2"
)
FIELD_MAX = nlp.FIELD_MAX

is_word = nlp.is_word


# A word as the index stores it: (start, end, form, lemma), offsets into the transcript.
Word = tuple[int, int, str, str]
# A decoded stored word: (lemma, form, start, end), offsets into the transcript.
StoredWord = tuple[str, str, int, int]

# The sentence columns the import writes, in the order of ``sentence_row``.
SENTENCE_COLUMNS = (
    "transcript_id",
    "turn_id",
    "index",
    "start",
    "end",
    "lemmas",
    "first_word",
    "index_lemmas",
    "index_forms",
    "index_offsets",
)


lexeme = nlp.lexeme


def encode_words(start: int, words: Sequence[Word]) -> tuple[str, str, str]:
    """The stored (index_lemmas, index_forms, index_offsets) of a sentence at ``start``."""
    return (
        " ".join([lexeme(w[3]) for w in words]),
        " ".join([lexeme(w[2]) for w in words]),
        " ".join([f"{w[0] - start} {w[1] - w[0]}" for w in words]),
    )


def decode_words(start: int, lemmas: str, forms: str, offsets: str) -> list[StoredWord]:
    """The words ``encode_words`` stored, as (lemma, form, start, end) in transcript offsets."""
    if not lemmas:
        return []
    nums = [int(n) for n in offsets.split(" ")]
    starts = [start + n for n in nums[0::2]]
    return [
        (lemma, form, s, s + length)
        for lemma, form, s, length in zip(
            lemmas.split(" "), forms.split(" "), starts, nums[1::2], strict=True
        )
    ]


def word_spans(start: int, offsets: str, indices: Sequence[int]) -> list[tuple[int, int]]:
    """The (start, end) transcript offsets of the words at ``indices`` of a sentence at
    ``start`` whose stored offsets are ``offsets`` (``encode_words``)."""
    nums = offsets.split(" ")
    out = []
    for i in indices:
        s = start + int(nums[2 * i])
        out.append((s, s + int(nums[2 * i + 1])))
    return out


def sentence_rows(
    transcript_id: int,
    turn_ids: Sequence[int],
    sentences: Sequence[nlp.SentenceSpan],
    columns: Sequence[nlp.IndexColumns],
) -> Iterable[tuple[Any, ...]]:
    """The rows of ``SENTENCE_COLUMNS`` for a transcript's sentences in order."""
    position = 0
    for n, (turn_id, s, (lemmas, forms, offsets, count)) in enumerate(
        zip(turn_ids, sentences, columns, strict=True)
    ):
        yield (
            transcript_id,
            turn_id,
            n,
            s.start,
            s.end,
            s.lemmas,
            position,
            lemmas,
            forms,
            offsets,
        )
        position += count


def write_sentences(
    transcript: Transcript,
    turn_ids: Sequence[int],
    sentences: Sequence[nlp.SentenceSpan],
    columns: Sequence[nlp.IndexColumns],
) -> None:
    """Inside ``services.transcript_create``'s transaction: insert the new transcript's
    sentences with their word index (``index_of_sentences``) and record the index's version.
    The one writer of new sentences with index words (on SQLite it fills the FTS5 table too;
    updates and deletes reach it by triggers). Nothing runs the pipeline here."""
    insert_rows(
        Sentence._meta.db_table,
        SENTENCE_COLUMNS,
        sentence_rows(transcript.pk, turn_ids, sentences, columns),
    )
    if connection.vendor == "sqlite":
        # FTS5 in one statement for the transcript (PostgreSQL's column is generated).
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO coding_sentence_fts(rowid, index_lemmas, index_forms) "
                "SELECT id, index_lemmas, index_forms FROM coding_sentence "
                "WHERE transcript_id = %s",
                [transcript.pk],
            )
    _record_built(transcript)


def _record_built(transcript: Transcript) -> None:
    """Record that ``transcript``'s index is now the current pipeline's, in the current format."""
    LemmaIndex.objects.update_or_create(
        transcript=transcript,
        defaults={
            "version": INDEX_VERSION,
            "format": IndexFormat.FULLTEXT,
            "built_at": timezone.now(),
        },
    )


def sentence_tokens(
    text: str, sentences: Iterable[tuple[int, int, int]]
) -> Iterable[tuple[int, list[Word]]]:
    """For each (sentence id, start, end): the sentence id and its words as
    (start, end, lower-cased form, lemma), offsets into ``text``."""
    pipeline = nlp.get_nlp()
    sentences = list(sentences)
    docs = pipeline.pipe(
        (text[s:e] for _pk, s, e in sentences), batch_size=512, disable=["sentencizer"]
    )
    for (pk, s, _e), doc in zip(sentences, docs, strict=True):
        words = []
        for tok in doc:
            if not nlp.is_index_token(tok):
                continue
            start = s + tok.idx
            words.append((start, start + len(tok.text), tok.lower_, tok.lemma_ or tok.lower_))
        yield pk, words


_INDEX_FIELDS = ("first_word", "index_lemmas", "index_forms", "index_offsets")


def index_transcript(transcript: Transcript, *, refresh_lemmas: bool = False) -> int:
    """(Re)write the word index of ``transcript`` from its sentences, in the current format
    (its old ``Token`` rows, if any, go); returns the number of words.

    With ``refresh_lemmas`` the sentences' stored lemma strings are brought up to date as well.
    """
    rows = list(transcript.sentences.order_by("index").values_list("pk", "start", "end"))
    start_of = {pk: start for pk, start, _e in rows}
    updates: list[tuple[Any, ...]] = []
    position = 0
    for sentence_id, words in sentence_tokens(transcript.text, rows):
        row: tuple[Any, ...] = (position, *encode_words(start_of[sentence_id], words))
        if refresh_lemmas:
            # Sentence.lemmas: every token's lemma but punctuation's (nlp.split_sentences).
            row += (" ".join(w[3] for w in words),)
        updates.append((sentence_id, *row))
        position += len(words)
    columns = _INDEX_FIELDS + (("lemmas",) if refresh_lemmas else ())
    with transaction.atomic():
        Token.objects.filter(transcript=transcript).delete()
        update_rows(Sentence._meta.db_table, columns, updates)
        _record_built(transcript)
    return position


def update_rows(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Set ``columns`` of the rows of ``table`` whose id is each row's first value: on
    PostgreSQL one COPY into a temporary table and one UPDATE ... FROM, elsewhere one prepared
    statement (bulk_update would send a CASE per column per batch)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMPORARY TABLE _updates ON COMMIT DROP AS "  # noqa: S608
                f"SELECT id, {', '.join(qn(c) for c in columns)} FROM {qn(table)} WITH NO DATA"
            )
            names = ", ".join(["id", *(qn(c) for c in columns)])
            with cursor.cursor.copy(f"COPY _updates ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            sets = ", ".join(f"{qn(c)} = u.{qn(c)}" for c in columns)
            cursor.execute(
                f"UPDATE {qn(table)} AS t SET {sets} FROM _updates AS u "  # noqa: S608
                "WHERE t.id = u.id"
            )
            cursor.execute("DROP TABLE _updates")
            return
        sets = ", ".join(f"{qn(c)} = %s" for c in columns)
        cursor.executemany(
            f"UPDATE {qn(table)} SET {sets} WHERE id = %s",  # noqa: S608
            [(*row[1:], row[0]) for row in rows],
        )


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert plain rows fast: COPY on PostgreSQL (one stream, no statement per row), one
    prepared statement (executemany) elsewhere. A large transcript has hundreds of thousands
    of tokens, and bulk_create would build every row as a model and, on SQLite, cut them into
    batches of a few hundred statements."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {qn(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        rows = list(rows)
        if rows:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})",  # noqa: S608
                rows,
            )


def stale_transcript_ids(project: Project) -> list[int]:
    """Transcripts of ``project`` whose index is missing, was built by another pipeline or
    is still in the old format (Token rows)."""
    current = set(
        LemmaIndex.objects.filter(
            transcript__case__project=project,
            version=INDEX_VERSION,
            format=IndexFormat.FULLTEXT,
        ).values_list("transcript_id", flat=True)
    )
    every = Transcript.objects.filter(case__project=project).values_list("pk", flat=True)
    return [pk for pk in every if pk not in current]


def run_reindex_job(job: Job, progress: Callable[[int], None]) -> str:
    """REINDEX job body: rebuild stale transcripts (all with params {"all": true}).

    Each transcript is rebuilt in its own transaction, so a job run again after a lost worker
    simply continues with what is still stale.
    """
    if job.params.get("all"):
        ids = list(
            Transcript.objects.filter(case__project=job.project).values_list("pk", flat=True)
        )
    else:
        ids = stale_transcript_ids(job.project)
    words = 0
    for n, pk in enumerate(ids, start=1):
        transcript = Transcript.objects.filter(pk=pk).only("pk", "text").first()
        if transcript is not None:
            words += index_transcript(transcript, refresh_lemmas=True)
        progress(int(100 * n / max(1, len(ids))))
    return _("Rebuilt the word index of %(n)s transcripts (%(words)s words).") % {
        "n": len(ids),
        "words": words,
    }


def index_of_sentences(
    text: str,
    sentences: list[nlp.SentenceSpan],
    progress: Callable[[float], None] | None = None,
) -> list[nlp.IndexColumns]:
    """The word index of each sentence as its row stores it, computed before the import's
    write transaction so that the spaCy work does not hold the database's write lock.
    Sentences from ``nlp.split_sentences`` carry it already (one spaCy pass per import); only
    spans made otherwise go through the pipeline here (``words_of_sentences``)."""
    if all(s.index is not None for s in sentences):
        return [s.index for s in sentences if s.index is not None]
    return [
        (*encode_words(s.start, ws), len(ws))
        for s, ws in zip(sentences, words_of_sentences(text, sentences, progress), strict=True)
    ]


def words_of_sentences(
    text: str,
    sentences: list[nlp.SentenceSpan],
    progress: Callable[[float], None] | None = None,
) -> list[Sequence[Word]]:
    """The index's words of each sentence, (start, end, form, lemma): those it carries, else
    from the pipeline over its span."""
    if all(s.words is not None for s in sentences):
        return [s.words for s in sentences if s.words is not None]
    out: list[Sequence[Word]] = []
    spans = ((i, s.start, s.end) for i, s in enumerate(sentences))
    for i, words in sentence_tokens(text, spans):
        out.append(words)
        if progress and i % 500 == 0:
            progress(i / max(1, len(sentences)))
    return out
