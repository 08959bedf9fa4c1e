"""The lemma index: one ``Token`` row per word of a transcript (form, lemma, offsets, position).

Built at import (``services.transcript_create`` calls ``index_transcript`` at its end) and rebuilt
by a REINDEX job when the pipeline changes: each transcript's ``LemmaIndex.version`` names the
pipeline that built it, and ``INDEX_VERSION`` names the current one. A rebuild also refreshes
``Sentence.lemmas`` (what the suggestions learn from), so the two never disagree.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import version as package_version
from typing import Any

import spacy
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding import nlp
from coding.models import Job, LemmaIndex, Project, Sentence, Token, Transcript

# Bump the last part when the way tokens are cut or stored changes.
INDEX_VERSION = (
    f"spacy {spacy.__version__}; lookups {package_version('spacy-lookups-data')}; "
    f"lemmatizer {nlp.LEMMATIZER_VERSION}; index 1"
)
FIELD_MAX = Token._meta.get_field("lemma").max_length


is_word = nlp.is_word


# A word as the index stores it: (start, end, form, lemma); a token row: (transcript, sentence,
# position, start, end, form, lemma), the order of ``_COLUMNS``.
Word = tuple[int, int, str, str]
TokenRow = tuple[int, int, int, int, int, str, str]


def sentence_tokens(
    text: str, sentences: Iterable[tuple[int, int, int]]
) -> Iterable[tuple[int, list[tuple[int, int, str, str]]]]:
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


def index_transcript(transcript: Transcript, *, refresh_lemmas: bool = False) -> int:
    """(Re)write the tokens of ``transcript`` from its sentences; returns the number of words.

    With ``refresh_lemmas`` the sentences' stored lemma strings are brought up to date as well.
    """
    rows = list(transcript.sentences.order_by("index").values_list("pk", "start", "end", "lemmas"))
    stored = {pk: lemmas for pk, _s, _e, lemmas in rows}
    tokens: list[TokenRow] = []
    changed: list[Sentence] = []
    position = 0
    for sentence_id, words in sentence_tokens(transcript.text, ((r[0], r[1], r[2]) for r in rows)):
        for start, end, form, lemma in words:
            tokens.append(
                (
                    transcript.pk,
                    sentence_id,
                    position,
                    start,
                    end,
                    form[:FIELD_MAX],
                    lemma[:FIELD_MAX],
                )
            )
            position += 1
        if refresh_lemmas:
            lemmas = " ".join(w[3] for w in words)
            if lemmas != stored[sentence_id]:
                changed.append(Sentence(pk=sentence_id, lemmas=lemmas))
    with transaction.atomic():
        Token.objects.filter(transcript=transcript).delete()
        _insert(tokens)
        if changed:
            Sentence.objects.bulk_update(changed, ["lemmas"], batch_size=1000)
        LemmaIndex.objects.update_or_create(
            transcript=transcript,
            defaults={"version": INDEX_VERSION, "built_at": timezone.now()},
        )
    return len(tokens)


_COLUMNS = ("transcript_id", "sentence_id", "position", "start", "end", "form", "lemma")


def _insert(rows: list[TokenRow]) -> None:
    """Insert token rows (see ``insert_rows``)."""
    insert_rows(Token._meta.db_table, _COLUMNS, rows)


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
    """Transcripts of ``project`` whose index is missing or was built by another pipeline."""
    current = set(
        LemmaIndex.objects.filter(
            transcript__case__project=project, version=INDEX_VERSION
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


def words_of_sentences(
    text: str,
    sentences: list[nlp.SentenceSpan],
    progress: Callable[[float], None] | None = None,
) -> list[Sequence[Word]]:
    """The index's words of each sentence, computed before the import's write transaction so
    that the spaCy work does not hold the database's write lock. Sentences from
    ``nlp.split_sentences`` carry their words already (one spaCy pass per import); only spans
    made otherwise go through the pipeline here."""
    if all(s.words is not None for s in sentences):
        return [s.words for s in sentences if s.words is not None]
    out: list[Sequence[Word]] = []
    spans = ((i, s.start, s.end) for i, s in enumerate(sentences))
    for i, words in sentence_tokens(text, spans):
        out.append(words)
        if progress and i % 500 == 0:
            progress(i / max(1, len(sentences)))
    return out


def index_new_transcript(
    transcript: Transcript, sentence_ids: list[int], words: Sequence[Sequence[Word]]
) -> int:
    """Inside ``services.transcript_create``'s transaction: write the tokens computed by
    ``words_of_sentences`` for the just inserted sentences (``sentence_ids`` in their order).
    The same rows ``index_transcript`` would write, without running the pipeline again."""
    tid, position = transcript.pk, itertools.count()
    tokens = [
        (tid, sentence_id, next(position), start, end, form[:FIELD_MAX], lemma[:FIELD_MAX])
        for sentence_id, sentence_words in zip(sentence_ids, words, strict=True)
        for start, end, form, lemma in sentence_words
    ]
    _insert(tokens)
    LemmaIndex.objects.update_or_create(
        transcript=transcript, defaults={"version": INDEX_VERSION, "built_at": timezone.now()}
    )
    return len(tokens)
