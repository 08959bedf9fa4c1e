"""The memo overview: every memo of a project, filtered, and searched by Norwegian word forms.

The search reads the query with the lemma search's own parser (``search.parse_query``), so a
word matches its other forms as in the transcripts ("bolig" finds "boligene", "bolig*" finds
"boligsosial"); a memo matches when it holds every word of the query, anywhere in it (memos are
short: phrases and NEAR are read as plain words). Memos are not in the word index; their words
are lemmatized here with the same lemmatizer (``nlp.lemmatize``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from coding import nlp
from coding.language.lemma_search import Query, Term
from coding.models import Excerpt, Membership, Memo, MemoLink, Project

KINDS = ("excerpt", "transcript", "case", "code", "project")
MAX_LISTED = 500


def memos_of(
    project: Project,
    *,
    author_id: int | None = None,
    kind: str = "",
    case_id: int | None = None,
    code_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    type_id: int | None = None,
    viewer: Membership | None = None,
) -> QuerySet[Memo]:
    """The project's memos the filters keep, newest first. A case keeps the memos on it, on its
    transcripts and on their passages; a code the memos on it and on passages coded with it;
    both also the memos that link to them ("see also"). ``viewer``: only what blind coding lets
    the member read (``MemoQuerySet.visible_to``)."""
    qs = Memo.objects.filter(project=project).visible_to(viewer)
    if author_id:
        qs = qs.filter(author_id=author_id)
    if kind == "project":
        qs = qs.filter(excerpt=None, transcript=None, case=None, code=None)
    elif kind in KINDS:
        qs = qs.filter(**{f"{kind}__isnull": False})
    if case_id:
        qs = qs.filter(
            Q(case_id=case_id)
            | Q(transcript__case_id=case_id)
            | Q(excerpt__transcript__case_id=case_id)
            | Q(pk__in=MemoLink.objects.filter(case_id=case_id).values("memo_id"))
        )
    if code_id:
        qs = qs.filter(
            Q(code_id=code_id)
            | Q(excerpt__codings__tag_id=code_id)
            | Q(pk__in=MemoLink.objects.filter(code_id=code_id).values("memo_id"))
        ).distinct()
    if type_id:
        qs = qs.filter(memo_type_id=type_id)
    if date_from:
        qs = qs.filter(updated_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(updated_at__date__lte=date_to)
    links = MemoLink.objects.select_related("code", "case", "excerpt__transcript__case")
    if viewer is not None:
        # A "see also" to a passage blind coding hides would show it.
        links = links.filter(
            Q(excerpt__isnull=True) | Q(excerpt__in=Excerpt.objects.visible_to(viewer))
        )
    return (
        qs.select_related(
            "author", "excerpt__transcript__case", "transcript__case", "case", "code", "memo_type"
        )
        .prefetch_related(Prefetch("links", queryset=links.order_by("pk")))
        .order_by("-updated_at", "-pk")
    )


def words_of(text: str) -> set[str]:
    """The lower-cased forms and lemmas of a memo's words, cut as the query's terms and the
    transcripts' word index are (``nlp.index_words``)."""
    table = nlp.lemma_table()
    out: set[str] = set()
    for w in nlp.index_words(text):
        out.add(w)
        out.add(nlp.lemmatize(w, table))
    return out


def _term_matches(term: Term, words: set[str]) -> bool:
    if term.prefix:
        return any(w.startswith(term.values[0]) for w in words)
    return any(v in words for v in term.values)


def matching(memos: Iterable[Memo], query: Query) -> list[Memo]:
    """The memos (title and text) holding every word of ``query``."""
    terms = [*query.left, *query.right]
    out = []
    for memo in memos:
        words = words_of(f"{memo.title} {memo.text}")
        if all(_term_matches(t, words) for t in terms):
            out.append(memo)
    return out
