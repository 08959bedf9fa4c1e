"""The database's own full-text engine over the sentences' word index (migration 0016).

One query builder per engine, both over the same stored strings (``lemma_index``): PostgreSQL
reads the generated ``tsvector`` ``coding_sentence.index_vector`` (lemmas as they are, forms
that differ from their lemma marked with a leading "=", each at its word's position in the
sentence) through its GIN index,
with ``<->`` for a phrase and ``:*`` for a prefix; SQLite reads the FTS5 table
``coding_sentence_fts`` (columns ``index_lemmas`` and ``index_forms``) with its phrase and prefix
queries.

The engine answers which sentences may hold a match: the query it gets may be wider than the
search (an FTS5 phrase cannot mix its two columns, so such a phrase becomes "all its words in
the sentence"), never narrower. ``lemma_search`` then reads the words of those sentences and
decides exactly, the same way for both engines, so both give the same hits.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression
from django.db.models.sql.compiler import SQLCompiler

# A term of a query as the engine sees it: (values, prefix). Without ``prefix`` a word matches
# when its lemma (form, with ``exact``) is one of the values; with it, when its lemma or form
# (its form, with ``exact``) begins with the one value.
EngineTerm = tuple[tuple[str, ...], bool]

# An FTS5 phrase of words with several values each becomes one phrase per combination, up to
# this many; past it, the words are required anywhere in the sentence.
_MAX_PHRASES = 16
# Each word takes at least four characters of Sentence.index_offsets ("start length "): a
# sentence of 256 words has at least this many.
_LONG_OFFSETS = 1000


def _ts_lexeme(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_term(values: tuple[str, ...], prefix: bool, exact: bool) -> str:
    # The vector holds a form ("=" + form) only where it differs from its lemma, so a form is
    # looked for as a lemma too (the stored words then tell which of those are that form).
    if prefix:
        return f"({_ts_lexeme(values[0])}:* | {_ts_lexeme('=' + values[0])}:*)"
    if exact:
        return "(" + " | ".join(f"{_ts_lexeme('=' + v)} | {_ts_lexeme(v)}" for v in values) + ")"
    return "(" + " | ".join(_ts_lexeme(v) for v in values) + ")"


def tsquery(terms: Sequence[EngineTerm], exact: bool) -> str:
    """The PostgreSQL ``tsquery`` of a phrase: its words in a row (``<->``)."""
    return " <-> ".join(_ts_term(values, prefix, exact) for values, prefix in terms)


def _fts_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _fts_term(values: tuple[str, ...], prefix: bool, exact: bool) -> str:
    if prefix:
        columns = "index_forms" if exact else "{index_lemmas index_forms}"
        return f"{columns} : {_fts_string(values[0])}*"
    column = "index_forms" if exact else "index_lemmas"
    return f"{column} : (" + " OR ".join(_fts_string(v) for v in values) + ")"


def fts5_query(terms: Sequence[EngineTerm], exact: bool) -> str:
    """The FTS5 query of a phrase: an FTS5 phrase in one column where the phrase allows it,
    else all its words in the sentence (``lemma_search`` checks the order)."""
    if len(terms) == 1:
        return _fts_term(*terms[0], exact)
    prefixes = [prefix for _values, prefix in terms]
    one_column = not any(prefixes[:-1]) and (exact or not prefixes[-1])
    combinations = 1
    for values, _prefix in terms:
        combinations *= len(values)
    if one_column and combinations <= _MAX_PHRASES:
        column = "index_forms" if exact else "index_lemmas"
        star = "*" if prefixes[-1] else ""
        phrases = [
            '"' + " ".join(v.replace('"', '""') for v in combo) + '"' + star
            for combo in itertools.product(*(values for values, _prefix in terms))
        ]
        return f"{column} : (" + " OR ".join(phrases) + ")"
    return " AND ".join(_fts_term(values, prefix, exact) for values, prefix in terms)


class SentenceMatch(Expression):
    """A filter on a Sentence queryset: the engine finds the phrase ``terms`` in the sentence.

    Compiled against the queryset's own alias of the sentence table, so it holds inside
    subqueries too."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, terms: Sequence[EngineTerm], exact: bool) -> None:
        super().__init__(output_field=BooleanField())
        self.terms = tuple(terms)
        self.exact = exact

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        # The alias is Django's own (a quoted table name or U0); the query text is a parameter.
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        if connection.vendor == "postgresql":
            sql, params = f"{alias}.index_vector @@ %s::tsquery", [tsquery(self.terms, self.exact)]
            if len(self.terms) > 1:
                # A tsvector keeps 256 positions per lexeme and none past 16,383, so in a
                # sentence of 256 words or more (its offsets take 1,000 characters or more) a
                # phrase is looked for as all its words.
                sql = (
                    f"({sql} OR (length({alias}.index_offsets) >= {_LONG_OFFSETS} "
                    f"AND {alias}.index_vector @@ %s::tsquery))"
                )
                params.append(" & ".join(_ts_term(v, p, self.exact) for v, p in self.terms))
            return sql, params
        if connection.vendor == "sqlite":
            return (
                f"{alias}.id IN (SELECT rowid FROM coding_sentence_fts "  # noqa: S608
                "WHERE coding_sentence_fts MATCH %s)",
                [fts5_query(self.terms, self.exact)],
            )
        raise NotImplementedError(f"no full-text engine for {connection.vendor}")
