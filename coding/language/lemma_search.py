"""Lemma search across a project's transcripts, with keyword-in-context (KWIC) lines.

The query language (the search page explains it too):

=====================  =================================================================
``bolig``              every form of the lemma: boliger, boligene, boligens
``bolig*``             words beginning so: boligsosial, boligkontoret, boliger
``tildeling av bolig`` a phrase: the words in a row in one sentence, each by its lemma
``"tildeling av bolig"``  the same; quotes are optional
``bolig NEAR/5 nav``   both within five words of each other in one speaker turn (NEAR: 10)
=====================  =================================================================

With ``exact=True`` words match their written form (case-insensitive) instead of their lemma.
Hits are only made in interview text (``Turn.objects.interview_text_of``).
Searching reads the word index (``language.lemma_index``), so it never runs spaCy on the texts:
the database's full-text engine finds the sentences that may match (``language.fulltext``) and
the words stored on them decide the hits and give their exact offsets. Transcripts whose index
is still in the old format are read through ``language.legacy_index`` until the REINDEX job
has moved them.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from coding import nlp
from coding.language import fulltext, hit_filters, legacy_index, lemma_index
from coding.language.hit_filters import Filters, Hit
from coding.models import (
    Case,
    Code,
    Excerpt,
    IndexFormat,
    LemmaIndex,
    Project,
    Sentence,
    Transcript,
    Turn,
)
from coding.models.transcript import interview_text_q

DEFAULT_NEAR = 10
MAX_NEAR = 50
MIN_PREFIX = 2
MAX_TERMS = 12
KWIC_CHARS = 60
PAGE_SIZE = 200

_QUERY_PART = re.compile(r'"([^"]*)"|(\bNEAR(?:/(\d+))?\b)|(\S+)')


@dataclass(frozen=True)
class Term:
    """One word of a query: what was typed and the lemmas or forms it matches."""

    text: str
    values: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    left: tuple[Term, ...]
    right: tuple[Term, ...] = ()
    near: int | None = None
    exact: bool = False

    def describe(self) -> str:
        def side(terms: Sequence[Term]) -> str:
            return " ".join(t.text + ("*" if t.prefix else "") for t in terms)

        if self.near is None:
            return side(self.left)
        return f"{side(self.left)} NEAR/{self.near} {side(self.right)}"


def _terms(chunk: str, exact: bool) -> list[Term]:
    """The words of one side of a query, cut as the index cuts the transcripts."""
    out: list[Term] = []
    for raw in chunk.split():
        prefix = raw.endswith("*")
        word = raw.rstrip("*")
        tokens = [t for t in nlp.get_nlp().tokenizer(word) if nlp.is_index_token(t)]
        for i, tok in enumerate(tokens):
            is_prefix = prefix and i == len(tokens) - 1
            lower = lemma_index.lexeme(tok.lower_)
            if is_prefix:
                if len(lower) < MIN_PREFIX:
                    raise ValidationError(
                        _("A word ending in * needs at least %(n)s letters before the star."),
                        code="short_prefix",
                        params={"n": MIN_PREFIX},
                    )
                values: tuple[str, ...] = (lower,)
            elif exact:
                values = (lower,)
            else:
                # The lemma, and the form itself: a capitalised word inside a sentence is kept
                # as a name by the lemmatizer ("Husbanken" -> "husbanken").
                values = tuple(dict.fromkeys((lemma_index.lexeme(nlp.lemmatize(tok.text)), lower)))
            out.append(Term(tok.text, values, is_prefix))
    return out


def parse_query(raw: str, *, exact: bool = False) -> Query:
    """Read a query; ValidationError (a message for the researcher) when it cannot be used."""
    raw = (raw or "").strip()
    sides: list[list[str]] = [[]]
    near: int | None = None
    for m in _QUERY_PART.finditer(raw):
        quoted, near_word, distance, word = m.groups()
        if near_word:
            if near is not None:
                raise ValidationError(
                    _("Use NEAR once in a query, between two words or phrases."),
                    code="near_twice",
                )
            near = int(distance) if distance else DEFAULT_NEAR
            if not 1 <= near <= MAX_NEAR:
                raise ValidationError(
                    _("NEAR takes a distance from 1 to %(max)s words."),
                    code="near_range",
                    params={"max": MAX_NEAR},
                )
            sides.append([])
        else:
            sides[-1].append(quoted if quoted is not None else word)
    parts = [_terms(" ".join(chunks), exact) for chunks in sides]
    if not parts[0] or (near is not None and not parts[1]):
        if near is not None:
            raise ValidationError(
                _("NEAR needs a word or phrase on each side, as in: bolig NEAR/5 NAV."),
                code="near_side",
            )
        raise ValidationError(_("Type a word or phrase to search for."), code="empty")
    if sum(len(p) for p in parts) > MAX_TERMS:
        raise ValidationError(
            _("A query may hold at most %(n)s words."), code="too_long", params={"n": MAX_TERMS}
        )
    return Query(
        left=tuple(parts[0]),
        right=tuple(parts[1]) if near is not None else (),
        near=near,
        exact=exact,
    )


# --- filters and hits -----------------------------------------------------------------------


@dataclass
class TranscriptGroup:
    transcript: Transcript
    hits: list[Hit]
    total: int


@dataclass
class CaseCount:
    case: Case
    hits: int
    transcripts: int


@dataclass
class SearchResult:
    query: Query
    hits: list[Hit]
    groups: list[TranscriptGroup] = field(default_factory=list)
    cases: list[CaseCount] = field(default_factory=list)
    page: int = 1
    pages: int = 1

    @property
    def total(self) -> int:
        return len(self.hits)


# A posting: (transcript id, position, start, end, sentence id, turn id)
Posting = legacy_index.Posting
# A match of a term or phrase: its first and its last word.
Match = tuple[Posting, Posting]


def _transcripts(project: Project, filters: Filters) -> QuerySet[Transcript]:
    qs = Transcript.objects.filter(case__project=project)
    if filters.case_ids:
        qs = qs.filter(case_id__in=filters.case_ids)
    if filters.transcript_ids:
        qs = qs.filter(pk__in=filters.transcript_ids)
    return qs


def searched_sentences(project: Project, filters: Filters) -> QuerySet[Sentence]:
    """The sentences a search reads: the interview text (``interview_text_q``, the rule of
    ``Turn.objects.interview_text_of``) of the project's transcripts that ``filters`` keep.
    The one place that says which text is searched: every engine and the old index read
    through it, so no hit outside interview text is ever decoded."""
    # The ids as a list, not a subquery: PostgreSQL then reads the GIN index once for the
    # project rather than once per transcript (its estimate of a subquery's rows is 1). The
    # turn rule is a join, not a subquery of turn ids, for the same reason: PostgreSQL reads
    # the GIN index once and joins the turns to what it found.
    ids = list(_transcripts(project, filters).values_list("pk", flat=True))
    return Sentence.objects.filter(
        interview_text_q("turn__", "transcript__case__project__"), transcript_id__in=ids
    )


@dataclass
class _Scope:
    """The searched sentences split by index format: through the engine, or (transcripts
    the REINDEX job has not migrated yet) through the old token rows."""

    fulltext: QuerySet[Sentence]
    legacy: QuerySet[Sentence] | None


def _scope(project: Project, filters: Filters) -> _Scope:
    sentences = searched_sentences(project, filters)
    legacy = list(
        LemmaIndex.objects.filter(
            transcript__case__project=project, format=IndexFormat.TOKENS
        ).values_list("transcript_id", flat=True)
    )
    if not legacy:
        return _Scope(sentences, None)
    return _Scope(
        sentences.exclude(transcript_id__in=legacy), sentences.filter(transcript_id__in=legacy)
    )


# Which words of a sentence a term matches: its stored lemmas and forms (space-separated) ->
# the indices of those words, in order.
WordTest = Callable[[str, str], list[int]]


def _starting(prefix: str, words: str) -> list[int]:
    """Indices of the space-separated ``words`` that begin with ``prefix``."""
    # str.find over the whole string (C speed; a regular expression that begins with an
    # alternative gets no literal search), counting the spaces before each find once.
    text, needle = " " + words, " " + prefix
    out: list[int] = []
    index, counted = -1, 0  # the word at ``counted`` in ``text`` is number ``index`` + 1
    at = text.find(needle)
    while at != -1:
        index += text.count(" ", counted, at + 1)
        counted = at + 1
        out.append(index)
        at = text.find(needle, counted)
    return out


def _word_test(term: Term, exact: bool) -> WordTest:
    """The words (lemma, form) ``term`` matches: by lemma (by form with ``exact``); a prefix
    by lemma or form (by form with ``exact``)."""
    if term.prefix:
        # The words that begin so: found in the whole string, not by a Python test per word
        # (a prefix reads the most sentences).
        prefix = term.values[0]
        if exact:
            return lambda lemmas, forms: _starting(prefix, forms)
        return lambda lemmas, forms: sorted(
            set(_starting(prefix, lemmas)) | set(_starting(prefix, forms))
        )
    values = frozenset(term.values)
    if exact:
        return lambda lemmas, forms: [i for i, f in enumerate(forms.split(" ")) if f in values]
    return lambda lemmas, forms: [i for i, w in enumerate(lemmas.split(" ")) if w in values]


def _engine_terms(terms: Sequence[Term]) -> list[fulltext.EngineTerm]:
    return [(t.values, t.prefix) for t in terms]


def _engine_postings(
    terms: Sequence[Term],
    exact: bool,
    sentences: QuerySet[Sentence],
    other: Sequence[Term] | None = None,
) -> list[list[Posting]]:
    """Postings of each of ``terms`` in the sentences where the engine finds the phrase
    (with ``other``, only in turns where it finds ``other`` too: the two sides of NEAR)."""
    qs = sentences.filter(fulltext.SentenceMatch(_engine_terms(terms), exact))
    if other is not None:
        qs = qs.filter(
            turn_id__in=sentences.filter(
                fulltext.SentenceMatch(_engine_terms(other), exact)
            ).values("turn_id")
        )
    tests = list(enumerate(_word_test(t, exact) for t in terms))
    out: list[list[Posting]] = [[] for _ in terms]
    rows = qs.order_by().values_list(
        "pk", "transcript_id", "turn_id", "start", "first_word",
        "index_lemmas", "index_forms", "index_offsets",
    )  # fmt: skip
    for pk, tid, turn_id, start, first, lemmas, forms, offsets in rows:
        for k, test in tests:
            found = test(lemmas, forms)
            if found:
                spans = lemma_index.word_spans(start, offsets, found)
                out[k].extend(
                    (tid, first + i, s, e, pk, turn_id)
                    for i, (s, e) in zip(found, spans, strict=True)
                )
    return out


def _phrase(
    terms: Sequence[Term], scope: _Scope, exact: bool, other: Sequence[Term] | None = None
) -> list[Match]:
    """Runs of consecutive words matching ``terms`` in one sentence: (first, last) postings."""
    per_term = _engine_postings(terms, exact, scope.fulltext, other)
    if scope.legacy is not None:
        for k, t in enumerate(terms):
            per_term[k] += legacy_index.postings(t.values, t.prefix, exact, scope.legacy)
    first = per_term[0]
    if len(terms) == 1:
        return [(p, p) for p in first]
    later = [{(p[0], p[1]): p for p in postings} for postings in per_term[1:]]
    out: list[Match] = []
    for p in first:
        chain = p
        for i, table in enumerate(later, start=1):
            nxt = table.get((p[0], p[1] + i))
            if nxt is None or nxt[4] != p[4]:
                break
            chain = nxt
        else:
            out.append((p, chain))
    return out


def _near(left: list[Match], right: list[Match], distance: int) -> list[Match]:
    """Pairs of a left and a right match in one turn, at most ``distance`` words apart (the
    closest right match for each left match)."""
    by_turn: dict[int, list[Match]] = defaultdict(list)
    for r in right:
        by_turn[r[0][5]].append(r)
    for turn_matches in by_turn.values():
        turn_matches.sort(key=lambda r: r[0][1])
    out: list[Match] = []
    for a, b in left:
        items = by_turn.get(a[5])
        if not items:
            continue
        starts = [r[0][1] for r in items]
        lo = bisect.bisect_left(starts, a[1] - distance - MAX_TERMS)
        hi = bisect.bisect_right(starts, b[1] + distance)
        best = None
        for c, d in items[lo:hi]:
            if c[1] > b[1]:
                gap = c[1] - b[1]
            elif d[1] < a[1]:
                gap = a[1] - d[1]
            else:
                continue  # overlapping matches are not two words near each other
            if gap <= distance and (best is None or gap < best[0]):
                best = (gap, c, d)
        if best is not None:
            _gap, c, d = best
            out.append((min(a, c, key=lambda p: p[1]), max(b, d, key=lambda p: p[1])))
    return out


def find_hits(project: Project, query: Query, filters: Filters | None = None) -> list[Hit]:
    """Every hit of ``query`` in ``project`` that passes ``filters``, in text order per
    transcript (transcripts in id order; ``search`` orders them for display)."""
    filters = filters or Filters()
    scope = _scope(project, filters)
    if query.near is None:
        matches = _phrase(query.left, scope, query.exact)
    else:
        matches = _near(
            _phrase(query.left, scope, query.exact, other=query.right),
            _phrase(query.right, scope, query.exact, other=query.left),
            query.near,
        )
    seen = set()
    hits = []
    for a, b in sorted(matches, key=lambda m: (m[0][0], m[0][1])):
        span = (a[0], a[2], b[3])
        if span in seen:
            continue
        seen.add(span)
        hits.append(Hit(a[0], a[2], b[3], a[4], a[5]))
    hits = hit_filters.by_speaker(hits, filters)
    return hit_filters.by_coding(hits, filters)


# --- keyword in context ---------------------------------------------------------------------


def kwic(text: str, start: int, end: int, width: int = KWIC_CHARS) -> tuple[str, str, bool, bool]:
    """Context left and right of text[start:end]: at most ``width`` characters each, inside
    the hit's line, cut at white space so no word is shown in part. Returns (left, right,
    cut_left, cut_right): cut_* is True where the context stops before the line does."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    left_from = max(line_start, start - width)
    left = text[left_from:start]
    cut_left = left_from > line_start
    if cut_left and not text[left_from - 1].isspace():
        space = re.search(r"\s", left)
        left = left[space.end() :] if space else ""
    right_to = min(line_end, end + width)
    right = text[end:right_to]
    cut_right = right_to < line_end
    if cut_right and not text[right_to].isspace():
        last_space = max((m.start() for m in re.finditer(r"\s", right)), default=None)
        right = right[:last_space] if last_space is not None else ""
    return left.strip(), right.strip(), cut_left, cut_right


def search(
    project: Project,
    query: Query,
    filters: Filters | None = None,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchResult:
    """Hits grouped by transcript (in case and interview order) with counts per case; KWIC
    lines for the hits of one page."""
    hits = find_hits(project, query, filters)
    tids = {h.transcript_id for h in hits}
    transcripts = {
        t.pk: t
        for t in Transcript.objects.filter(pk__in=tids)
        .select_related("case")
        .defer("text")
        .order_by("case__order", "case__name", "interview_date", "title")
    }
    order = {pk: i for i, pk in enumerate(transcripts)}
    hits.sort(key=lambda h: (order[h.transcript_id], h.start))
    per_case: dict[int, Counter[int]] = defaultdict(Counter)
    for h in hits:
        per_case[transcripts[h.transcript_id].case_id][h.transcript_id] += 1
    cases = [
        CaseCount(case, sum(per_case[case.pk].values()), len(per_case[case.pk]))
        for case in Case.objects.filter(project=project).order_by("order", "name")
        if case.pk in per_case
    ]
    pages = max(1, -(-len(hits) // page_size))
    page = min(max(1, page), pages)
    shown = hits[(page - 1) * page_size : page * page_size]
    texts = dict(
        Transcript.objects.filter(pk__in={h.transcript_id for h in shown}).values_list("pk", "text")
    )
    groups: list[TranscriptGroup] = []
    totals = Counter(h.transcript_id for h in hits)
    for h in shown:
        text = texts[h.transcript_id]
        h.match = text[h.start : h.end]
        h.left, h.right, h.cut_left, h.cut_right = kwic(text, h.start, h.end)
        h.spaced_left = h.start == 0 or text[h.start - 1].isspace()
        h.spaced_right = h.end >= len(text) or text[h.end].isspace()
        if not groups or groups[-1].transcript.pk != h.transcript_id:
            groups.append(
                TranscriptGroup(transcripts[h.transcript_id], [], totals[h.transcript_id])
            )
        groups[-1].hits.append(h)
    return SearchResult(query, hits, groups, cases, page, pages)


# --- code from search -----------------------------------------------------------------------


@dataclass
class Passage:
    """Where a code from search goes: a hit's sentence or speaker turn."""

    transcript: Transcript
    start: int
    end: int
    hits: int = 0
    already: bool = False

    @property
    def text(self) -> str:
        return self.transcript.text[self.start : self.end]


def passages_for(
    project: Project,
    hits: Iterable[Hit],
    extent: str,
    *,
    code: Code | None = None,
    coder: User | None = None,
) -> list[Passage]:
    """The sentences (``extent`` "sentence") or speaker turns ("turn") that hold ``hits``,
    one passage for several hits in it; ``already`` marks those ``coder`` coded with ``code``.
    """
    hits = list(hits)
    if extent == "turn":
        ids = {h.turn_id for h in hits}
        spans = {
            pk: (tid, s, e)
            for pk, tid, s, e in Turn.objects.filter(pk__in=ids).values_list(
                "pk", "transcript_id", "content_start", "end"
            )
        }
        key = [h.turn_id for h in hits]
    else:
        ids = {h.sentence_id for h in hits}
        spans = {
            pk: (tid, s, e)
            for pk, tid, s, e in Sentence.objects.filter(pk__in=ids).values_list(
                "pk", "transcript_id", "start", "end"
            )
        }
        key = [h.sentence_id for h in hits]
    transcripts = {
        t.pk: t
        for t in Transcript.objects.filter(
            pk__in={tid for tid, _s, _e in spans.values()}, case__project=project
        ).select_related("case__project")
    }
    found: dict[int, Passage] = {}
    for k in key:
        tid, s, e = spans[k]
        if tid not in transcripts:
            continue
        text = transcripts[tid].text
        # A turn's content may begin or end with white space; a coding should not.
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s >= e:
            continue
        passage = found.setdefault(k, Passage(transcripts[tid], s, e))
        passage.hits += 1
    out = sorted(found.values(), key=lambda p: (p.transcript.pk, p.start))
    if code is not None and coder is not None:
        done = set(
            Excerpt.objects.filter(
                transcript_id__in={p.transcript.pk for p in out},
                codings__tag=code,
                codings__coder=coder,
            ).values_list("transcript_id", "start", "end")
        )
        for p in out:
            p.already = (p.transcript.pk, p.start, p.end) in done
    return out
