"""The memo overview: every memo of a project, filtered, and searched by Norwegian word forms.

The search reads the query with the lemma search's own parser (``search.parse_query``), so a
word matches its other forms as in the transcripts ("bolig" finds "boligene", "bolig*" finds
"boligsosial"); a memo matches when it holds every word of the query, anywhere in it (memos are
short: phrases and NEAR are read as plain words). Memos are not in the word index; their words
are lemmatized here with the same lemmatizer (``nlp.lemmatize``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from coding import nlp
from coding.language.lemma_search import Query, Term, parse_query
from coding.models import Excerpt, Membership, Memo, MemoLink, Project

KINDS = ("excerpt", "transcript", "case", "code", "project")
# Memos a page of the memo overview lists.
PAGE_SIZE = 50
# Memos a page shows beside its own content (the case page, a code in the codebook, the
# dashboard); the memo overview lists the rest.
SHOWN_BESIDE = 10


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


def filtered(
    project: Project, d: Mapping[str, Any], *, viewer: Membership | None = None
) -> QuerySet[Memo] | list[Memo]:
    """The memos the memo overview's filter (``MemoFilterForm.cleaned_data``) keeps, newest
    first: the page lists them, the Word export of memos writes them. Raises ValidationError
    for a search the lemma search's parser refuses."""
    qs = memos_of(
        project,
        author_id=d.get("author"),
        kind=d.get("kind") or "",
        case_id=d.get("case"),
        code_id=d.get("code"),
        date_from=d.get("date_from"),
        date_to=d.get("date_to"),
        type_id=d.get("type"),
        viewer=viewer,
    )
    if d.get("q"):
        return matching(qs, parse_query(d["q"]))
    return qs


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


@dataclass(frozen=True)
class Beside:
    """A memo shown on a case's page or under a code: ``linked`` when it is there by a "see
    also" link rather than written on the case or code itself."""

    memo: Memo
    linked: bool = False


def _listed(qs: QuerySet[Memo]) -> QuerySet[Memo]:
    return (
        qs.select_related(
            "author", "excerpt__transcript__case", "transcript__case", "case", "code", "memo_type"
        )
        .defer("excerpt__transcript__text", "transcript__text")
        .order_by("-updated_at", "-pk")
    )


def recent(
    project: Project, limit: int = SHOWN_BESIDE, *, viewer: Membership | None = None
) -> list[Beside]:
    """The project's most recently written or edited memos ``viewer`` may read, newest first."""
    qs = Memo.objects.filter(project=project).visible_to(viewer)
    return [Beside(m) for m in _listed(qs)[:limit]]


def about(
    project: Project,
    *,
    case_id: int | None = None,
    code_id: int | None = None,
    viewer: Membership | None = None,
) -> tuple[list[Beside], int]:
    """The memos on a case (or a code) itself and those linking to it ("see also"), newest
    first, at most ``SHOWN_BESIDE``, and how many there are. Memos on the case's transcripts and
    passages, or on passages coded with the code, are in the memo overview filtered by it."""
    if case_id:
        own, link = Q(case_id=case_id), MemoLink.objects.filter(case_id=case_id)
    elif code_id:
        own, link = Q(code_id=code_id), MemoLink.objects.filter(code_id=code_id)
    else:
        raise ValueError("about() needs a case or a code")
    qs = (
        Memo.objects.filter(project=project)
        .visible_to(viewer)
        .filter(own | Q(pk__in=link.values("memo_id")))
    )
    shown = [
        Beside(m, linked=(m.case_id != case_id) if case_id else (m.code_id != code_id))
        for m in _listed(qs)[:SHOWN_BESIDE]
    ]
    return shown, qs.count()


def about_codes(project: Project, *, viewer: Membership | None = None) -> dict[int, list[Beside]]:
    """Code id -> the memos on that code and those linking to it (newest first, at most
    ``SHOWN_BESIDE`` each), for the codebook, in two queries."""
    links = MemoLink.objects.filter(memo__project=project, code__isnull=False)
    linked_to: dict[int, list[int]] = {}
    for memo_id, code_id in links.values_list("memo_id", "code_id"):
        linked_to.setdefault(memo_id, []).append(code_id)
    qs = (
        Memo.objects.filter(project=project)
        .visible_to(viewer)
        .filter(Q(code__isnull=False) | Q(pk__in=links.values("memo_id")))
    )
    out: dict[int, list[Beside]] = {}
    for m in _listed(qs):
        places = [(m.code_id, False)] if m.code_id else []
        places += [(c, True) for c in linked_to.get(m.pk, []) if c != m.code_id]
        for code_id, linked in places:
            shown = out.setdefault(code_id, [])
            if len(shown) < SHOWN_BESIDE:
                shown.append(Beside(m, linked))
    return out


PASSAGES_OFFERED = 20


def passages_to_link(
    memo: Memo,
    *,
    words: str = "",
    transcript_id: int | None = None,
    viewer: Membership | None = None,
) -> tuple[list[Excerpt], int]:
    """Coded passages of the memo's project a researcher may link it to ("see also"): those
    holding ``words`` (a case-insensitive part of the passage's text; the picker's search) and of
    ``transcript_id``, in the transcripts' order, at most ``PASSAGES_OFFERED``, and how many match.
    The memo's own passage and the passages it links to already are left out."""
    linked = MemoLink.objects.filter(memo=memo, excerpt__isnull=False).values("excerpt_id")
    qs = (
        Excerpt.objects.for_project(memo.project)
        .visible_to(viewer)
        .exclude(pk__in=linked)
        .select_related("transcript__case")
        .defer("transcript__text")
    )
    if memo.excerpt_id:
        qs = qs.exclude(pk=memo.excerpt_id)
    if transcript_id:
        qs = qs.filter(transcript_id=transcript_id)
    for word in words.split():
        qs = qs.filter(text__icontains=word)
    qs = qs.order_by("transcript__case__kind", "transcript__case__order", "transcript_id", "start")
    return list(qs[:PASSAGES_OFFERED]), qs.count()


def linking_to_passage(excerpt: Excerpt, *, viewer: Membership | None = None) -> list[Memo]:
    """The memos ``viewer`` may read that link to ``excerpt`` ("see also"), the other side of a
    passage link."""
    return list(_listed(Memo.objects.filter(links__excerpt=excerpt).visible_to(viewer)))
