"""The word index before issue 16: ``Token`` rows, read for transcripts not yet migrated.

Search keeps working while the REINDEX job moves a project's transcripts to the full-text index
(``IndexFormat.FULLTEXT``), one transcript per transaction: ``lemma_search`` reads the migrated
ones through the engine and the rest here, and merges the postings. Nothing writes ``Token``
rows any more; this module and the table go once every installation has migrated.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from coding.models import Sentence, Token

MAX_PREFIX_WORDS = 1000

# A posting: (transcript id, position, start, end, sentence id, turn id)
Posting = tuple[int, int, int, int, int, int]


def _prefix_q(column: str, prefix: str) -> Q:
    q = Q(**{f"{column}__startswith": prefix})
    if connection.vendor == "sqlite":
        # SQLite's LIKE is case-insensitive and so cannot use the index; a range on the
        # (binary-collated) column can, and LIKE keeps the answer exact.
        q &= Q(**{f"{column}__gte": prefix, f"{column}__lt": prefix + "\U0010ffff"})
    return q


def _expand(column: str, prefix: str, *, skip_lemmas: str | None = None) -> list[str]:
    """The distinct values of ``column`` that begin with ``prefix``, read from its index; with
    ``skip_lemmas``, only forms of a lemma that does not begin with that prefix itself."""
    qs = Token.objects.filter(_prefix_q(column, prefix))
    if skip_lemmas is not None:
        qs = qs.exclude(lemma__startswith=skip_lemmas)
    values = list(qs.order_by().values_list(column, flat=True).distinct()[: MAX_PREFIX_WORDS + 1])
    if len(values) > MAX_PREFIX_WORDS:
        raise ValidationError(
            _("“%(prefix)s*” fits more than %(n)s different words; type more of the word."),
            code="broad_prefix",
            params={"prefix": prefix, "n": MAX_PREFIX_WORDS},
        )
    return values


def postings(
    values: tuple[str, ...], prefix: bool, exact: bool, sentences: QuerySet[Sentence]
) -> list[Posting]:
    """Every old-format word in ``sentences`` that the term (``values``, ``prefix``) matches."""
    first = values[0]
    if not prefix:
        lookups = [Q(**{("form" if exact else "lemma") + "__in": values})]
    elif exact:
        lookups = [Q(form__in=_expand("form", first))]
    else:
        # Words whose lemma begins so, and words written so whose lemma does not.
        lookups = [
            Q(lemma__in=_expand("lemma", first)),
            Q(form__in=_expand("form", first, skip_lemmas=first)) & ~Q(lemma__startswith=first),
        ]
    found: dict[tuple[int, int], Posting] = {}
    for q in lookups:
        rows = Token.objects.filter(q, sentence__in=sentences.values("pk")).values_list(
            "transcript_id", "position", "start", "end", "sentence_id", "sentence__turn_id"
        )
        for row in rows:
            found[(row[0], row[1])] = row
    return list(found.values())
