"""Norwegian text processing: normalisation, the spaCy pipeline, sentences and lemmas.

The pipeline is ``spacy.blank("nb")`` with a sentencizer and a lookup lemmatizer built from the
Norsk Ordbank forms that spacy-lookups-data ships (``nb_lemma_exc``, flattened, lower-cased).
Both are loaded once per process. spaCy's Norwegian tokenizer exceptions keep abbreviations such
as "f.eks.", "bl.a.", "ca.", "dvs.", "evt." and "nr." whole, so they never end a sentence.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import spacy
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Token

from coding.offsets import paragraph_spans

# C0/C1 controls except tab and newline, and the two noncharacters XML forbids.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_POS_PREFERENCE = ("noun", "verb", "adj", "adv")
# Pronouns, determiners and the like that Ordbank's open-class tables would misread ("vi" -> "vie").
_CLOSED_CLASS = frozenset(
    "jeg du han hun vi dere de meg deg ham henne oss dem seg min mitt mine din ditt dine sin sitt "
    "sine vår vårt våre deres hans hennes den det denne dette disse som og eller men at om i på "
    "til fra med av for ikke også så da når hvor hva hvem hvilke hvis alle noen ingen mange".split()
)


# What a word is. Two definitions, each written once, because they serve different ends:
# - the counted word (WORD_RE): a run of letters, marks, digits and "_" (Unicode categories
#   L, M, N), joined by a hyphen, an apostrophe (straight or typographic) or a soft hyphen. It
#   gives every word count shown (Transcript.word_count, Excerpt.words) and is what the browser
#   snaps a selection to (static/coding/offsets.js WORD and JOINERS mirror these constants, as
#   tests/test_nlp.py checks): it needs no pipeline, so the page can apply it while dragging.
# - the index word (is_index_token): a spaCy token with a letter or digit. Lemmas belong to
#   spaCy's tokens (its tokenizer keeps abbreviations such as "p.g.a." whole and splits "don’t"),
#   so the word index, search queries, memo search and suggestions all cut text this way.
WORD_CATEGORIES = ("L", "M", "N")
WORD_EXTRA = "_"
JOINERS = "-'\u2019\u00ad"


def _category_class(major: str) -> str:
    """A regex character class body of the code points whose Unicode category starts with
    ``major``. Marks live only in planes 0, 1 and 14 (the test checks all planes)."""
    spans: list[tuple[int, int]] = []
    for lo, hi in ((0, 0x1FFFF), (0xE0000, 0xE0FFF)):
        for cp in range(lo, hi + 1):
            if unicodedata.category(chr(cp))[0] == major:
                if spans and spans[-1][1] == cp - 1:
                    spans[-1] = (spans[-1][0], cp)
                else:
                    spans.append((cp, cp))
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in spans)


# Python's \w is exactly categories L and N plus "_"; the marks are added by hand.
_WORD_CHAR = "[\\w" + _category_class("M") + "]"
WORD_RE = re.compile(f"{_WORD_CHAR}+(?:[{re.escape(JOINERS)}]{_WORD_CHAR}+)*")


def normalize_text(raw: str) -> str:
    """The stored form of any text: NFC, LF line ends, no BOM, no control characters.

    Each line is stripped at the right; runs of blank lines become one blank line.
    """
    if raw.isprintable():
        # One line without controls, BOM, surrogates or line separators (most paragraphs):
        # only composition and the trailing space are left to do.
        return unicodedata.normalize("NFC", raw).rstrip()
    text = raw.replace("\ufeff", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n").replace("\x0b", "\n").replace("\x0c", "\n")
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def paragraphs_to_text(paragraphs: Iterable[str]) -> str:
    """Join paragraphs as the stored text does: one paragraph a line, a blank line between."""
    return "\n\n".join(p for p in (normalize_text(p).strip() for p in paragraphs) if p)


# WORD_RE without the marks: the same words in a text that has no mark (nearly every text, as
# NFC composes the letters Norwegian uses), and a simpler character class is several times faster.
_WORD_RE_UNMARKED = re.compile(f"\\w+(?:[{re.escape(JOINERS)}]\\w+)*")


def count_words(text: str) -> int:
    """The number of counted words (WORD_RE) in ``text``."""
    if any(unicodedata.category(ch)[0] == "M" for ch in set(text) if not ch.isascii()):
        return WORD_RE.subn("", text)[1]
    return _WORD_RE_UNMARKED.subn("", text)[1]


@lru_cache(maxsize=1)
def lemma_table() -> dict[str, str]:
    """Word form -> lemma, lower-cased, from Norsk Ordbank (nouns win over verbs, then adj/adv)."""
    raw = resources.files("spacy_lookups_data").joinpath("data/nb_lemma_exc.json.gz")
    with raw.open("rb") as fh:
        data = json.load(gzip.open(fh))
    table: dict[str, str] = {w: w for w in _CLOSED_CLASS}
    # A form that is a lemma itself in any part of speech stays as it is ("bolig", "lån").
    for pos in _POS_PREFERENCE:
        for form, lemmas in data.get(pos, {}).items():
            if form.lower() in (lemma.lower() for lemma in lemmas):
                table.setdefault(form.lower(), form.lower())
    for pos in _POS_PREFERENCE:
        for form, lemmas in data.get(pos, {}).items():
            if lemmas:
                table.setdefault(form.lower(), lemmas[0].lower())
    # Lemmas map to themselves, so a search for "bolig" and a text with "bolig" agree.
    for lemma in set(table.values()):
        table.setdefault(lemma, lemma)
    return table


def lemmatize(word: str, table: dict[str, str] | None = None) -> str:
    """The lemma of one word form (lower-cased). Genitive -s falls back to the stem's lemma;
    a compound Ordbank does not list takes the lemma of its last part ("startlånet" ->
    "startlån", "boligsosiale" -> "boligsosial", "ROP-tjenesten" -> "rop-tjeneste")."""
    table = table if table is not None else lemma_table()
    w = word.lower()
    if len(w) > MAX_LEMMA_CHARS:
        return w  # no word is this long; splitting it would cost time quadratic in its length
    return _lookup(w, table) or _compound_lemma(w, table) or w


# The longest Norwegian compounds in use have about 40 letters; a longer "word" (a URL, a row of
# letters) is its own lemma, so lemmatizing stays linear in the length of the text.
MAX_LEMMA_CHARS = 64
# Bump when lemmas change (table, rules, compounds): stored lemma indexes are then rebuilt.
LEMMATIZER_VERSION = 2
_MIN_PART = 3


def _lookup(w: str, table: dict[str, str]) -> str | None:
    hit = table.get(w)
    if hit is None and len(w) > 3 and w.endswith("s"):
        hit = table.get(w[:-1])
    return hit


# First parts ending so take the linking -s- ("oppfølgings|teamet", not "oppfølging|steamet").
_LINKING_S_ENDINGS = ("ing", "het", "else", "sjon", "skap", "dom", "tet")


def _known_first_part(part: str, last: str, table: dict[str, str]) -> bool:
    """A compound's first part: a word, or a word with the linking -s- or -e- ("samfunns")."""
    if last.startswith("s") and part.endswith(_LINKING_S_ENDINGS):
        return False
    return part in table or (part[-1] in "se" and len(part) > _MIN_PART and part[:-1] in table)


def _compound_lemma(w: str, table: dict[str, str]) -> str | None:
    """First part as written + lemma of the longest known last part, or None."""
    if "-" in w:
        head, _sep, tail = w.rpartition("-")
        tail_lemma = _lookup(tail, table) or _compound_lemma(tail, table)
        return f"{head}-{tail_lemma}" if head and tail_lemma else None
    if not w.isalpha() or len(w) < 2 * _MIN_PART:
        return None
    for cut in range(_MIN_PART, len(w) - _MIN_PART + 1):
        first, last = w[:cut], w[cut:]
        last_lemma = _lookup(last, table)
        if last_lemma and _known_first_part(first, last, table):
            return first + last_lemma
    return None


def token_lemma(text: str, lower: str, first_word: bool, table: dict[str, str]) -> str:
    """The lemma of a word token (``text`` as written, ``lower`` its lower case), the one rule
    the lemmatizer component and ``split_sentences`` apply."""
    if not first_word and len(text) > 1 and text.istitle():
        # A capitalised word inside a sentence is most likely a name: "Drammen", not "dram".
        # The sentence's first word counts as its start after a dash or a quote too.
        return lower
    return table.get(lower) or lemmatize(lower, table)


# The longest form or lemma the word index keeps (PostgreSQL refuses lexemes over 2 kB).
FIELD_MAX = 100


def lexeme(word: str) -> str:
    """A form or lemma as the word index stores it and a query looks it up: at most
    ``FIELD_MAX`` characters, no white space (the engines part tokens at white space only)."""
    w = word[:FIELD_MAX]
    if w.isprintable() and " " not in w:
        return w  # the usual case, checked in C: no white space of any kind
    return "_".join(w.split()) or "_"


# What ``split_sentences`` needs of a token text, computed once per process for each text:
# whether it is punctuation or white space (spaCy's lexical attributes, a function of the text),
# its lemma at a sentence's start and inside one (``token_lemma``) and, for an index word, its
# lower-cased form and those two lemmas as the index stores them (``lexeme``; None for a token
# that is no index word). A transcript repeats its words, so most tokens cost one dict lookup.
# The last two are what spaCy's sentencizer reads of a token (``_doc_sentences``): whether it may
# start a sentence after a sentence end (neither punctuation nor one of the sentencizer's
# ``punct_chars``) and whether it ends one (one of those).
TokenInfo = tuple[bool, str, str, str | None, str, str, bool, bool]
_TOKEN_INFO: dict[str, TokenInfo] = {}
_MAX_TOKEN_INFO = 500_000


@lru_cache(maxsize=1)
def _sentence_ends() -> frozenset[str]:
    """The token texts after which the pipeline's sentencizer starts a new sentence."""
    sentencizer = get_nlp().get_pipe("sentencizer")
    assert isinstance(sentencizer, Sentencizer)  # noqa: S101 (get_nlp adds it)
    return frozenset(sentencizer.punct_chars)


def _token_info(text: str, table: dict[str, str]) -> TokenInfo:
    lex = get_nlp().vocab[text]
    ends = text in _sentence_ends()
    starts = not (lex.is_punct or ends)
    info: TokenInfo = (True, "", "", None, "", "", starts, ends)
    if not (lex.is_punct or lex.is_space):
        lower = text.lower()
        at_start = token_lemma(text, lower, True, table)
        inside = token_lemma(text, lower, False, table)
        if is_word(text):
            lexemes = (lexeme(lower), lexeme(at_start), lexeme(inside))
            info = (False, at_start, inside, *lexemes, starts, ends)
        else:
            info = (False, at_start, inside, None, "", "", starts, ends)
    if len(_TOKEN_INFO) < _MAX_TOKEN_INFO:
        _TOKEN_INFO[text] = info
    return info


@Language.component("nb_lookup_lemmatizer")
def _nb_lookup_lemmatizer(doc: Doc) -> Doc:
    table = lemma_table()
    first_word = True
    for token in doc:
        if token.is_sent_start:
            first_word = True
        if token.is_punct or token.is_space:
            continue
        token.lemma_ = token_lemma(token.text, token.lower_, first_word, table)
        first_word = False
    return doc


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """The project's pipeline, once per process."""
    nlp = spacy.blank("nb")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("nb_lookup_lemmatizer")
    nlp.max_length = 5_000_000
    return nlp


def warm() -> None:
    """Load what the first search or import would otherwise load (``casestudy.wsgi`` calls it
    as the server starts)."""
    get_nlp()
    lemma_table()


@lru_cache(maxsize=1)
def get_bare_nlp() -> Language:
    """spaCy's bare Norwegian pipeline (sentencizer only), the benchmarks' baseline."""
    nlp = spacy.blank("nb")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 5_000_000
    return nlp


# A sentence's word index as the Sentence row stores it: index_lemmas, index_forms,
# index_offsets (``lemma_index.encode_words``) and the number of its index words.
IndexColumns = tuple[str, str, str, int]


@dataclass(frozen=True)
class SentenceSpan:
    start: int
    end: int
    lemmas: str
    # The word index's words of the sentence, (start, end, lower-cased form, lemma) with offsets
    # into the text; None when the span was made without the pipeline or by ``split_sentences``,
    # which gives ``index`` instead.
    words: tuple[tuple[int, int, str, str], ...] | None = field(
        default=None, compare=False, repr=False
    )
    # The same words already encoded for the Sentence row (``IndexColumns``), from the same
    # spaCy pass (language.lemma_index writes them); None when made without the pipeline.
    index: IndexColumns | None = field(default=None, compare=False, repr=False)


_ALNUM = re.compile(r"[^\W_]")  # a character str.isalnum accepts


def is_word(text: str) -> bool:
    """What the word index holds: tokens with a letter or digit (no punctuation, no emoji)."""
    return _ALNUM.search(text) is not None


def is_index_token(token: Token) -> bool:
    """The index word (see WORD_RE's comment): a spaCy token that is a word, not punctuation."""
    return not (token.is_punct or token.is_space) and is_word(token.text)


def index_words(text: str) -> list[str]:
    """The lower-cased index words of ``text``, cut by the tokenizer as the word index is."""
    return [t.lower_ for t in get_nlp().tokenizer(text) if is_index_token(t)]


def split_sentences(
    text: str,
    spans: list[tuple[int, int]],
    *,
    progress: Callable[[float], None] | None = None,
) -> list[list[SentenceSpan]]:
    """Sentences of each [start, end) span of ``text``; a sentence never crosses a line break.

    Returns one list per input span, offsets into ``text``. Each sentence carries its word
    index too (``SentenceSpan.index``): the import runs spaCy once.
    """
    nlp = get_nlp()
    table = lemma_table()
    jobs: list[tuple[int, int, int]] = []  # (span index, para start, para end)
    for i, (s, e) in enumerate(spans):
        jobs.extend((i, ps, pe) for ps, pe in paragraph_spans(text, s, e))
    out: list[list[SentenceSpan]] = [[] for _ in spans]
    total = max(1, len(jobs))
    # Only the tokenizer runs: the loop below applies the sentencizer's rule and the
    # lemmatizer's (token_lemma) over the token texts, reading spaCy's token offsets as one
    # array per paragraph rather than making a Python object per token, as both components do.
    docs = nlp.pipe(
        (text[ps:pe] for _, ps, pe in jobs),
        batch_size=256,
        disable=["sentencizer", "nb_lookup_lemmatizer"],
    )
    for n, ((i, ps, _pe), doc) in enumerate(zip(jobs, docs, strict=True)):
        out[i].extend(_doc_sentences(doc, text, ps, table))
        if progress and n % 200 == 0:
            progress(n / total)
    return out


_TOKEN_ATTRS = [IDX, LENGTH]


def _doc_sentences(doc: Doc, text: str, offset: int, table: dict[str, str]) -> list[SentenceSpan]:
    """The sentences of a tokenized ``doc`` of ``text[offset:]`` as the sentencizer cuts them,
    with lemmas as the lemmatizer component gives them and index words as
    ``is_index_token`` does, encoded as ``lemma_index.encode_words`` would
    (tests/test_nlp.py checks all three against the components). Offsets
    into ``text`` (``doc.text`` would rebuild the string token by token)."""
    out: list[SentenceSpan] = []
    lemmas: list[str] = []
    forms: list[str] = []
    word_lemmas: list[str] = []
    spans: list[int] = []  # each index word's start in the paragraph and its length
    first_char = last_char = 0
    first_word = True

    def close() -> None:
        raw = text[offset + first_char : offset + last_char]
        stripped = raw.strip()
        if stripped:
            s = offset + first_char + len(raw) - len(raw.lstrip())
            rel = s - offset
            pairs = zip(spans[0::2], spans[1::2], strict=True)
            offsets = " ".join([f"{a - rel} {n}" for a, n in pairs])
            index = (" ".join(word_lemmas), " ".join(forms), offsets, len(forms))
            out.append(SentenceSpan(s, s + len(stripped), " ".join(lemmas), index=index))

    get = _TOKEN_INFO.get
    seen_end = False
    # One list per attribute: a 2-D array's tolist() costs twice as much.
    array = doc.to_array(_TOKEN_ATTRS)
    starts = array[:, 0].tolist()
    for idx, length in zip(starts, array[:, 1].tolist(), strict=True):
        end = idx + length
        tok = text[offset + idx : offset + end]
        info = get(tok) or _token_info(tok, table)
        # spaCy's sentencizer (Sentencizer.predict): after a sentence end, the first token that
        # is neither punctuation nor a sentence end starts the next sentence.
        if seen_end and info[6]:
            close()
            lemmas, forms, word_lemmas, spans = [], [], [], []
            first_char, first_word, seen_end = idx, True, False
        elif info[7]:
            seen_end = True
        last_char = end
        if info[0]:
            continue
        if first_word:
            first_word = False
            lemmas.append(info[1])
            if info[3] is not None:
                forms.append(info[3])
                word_lemmas.append(info[4])
                spans += (idx, length)
        else:
            lemmas.append(info[2])
            if info[3] is not None:
                forms.append(info[3])
                word_lemmas.append(info[5])
                spans += (idx, length)
    if starts:
        close()
    return out
