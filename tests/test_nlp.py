import unicodedata

import pytest

from coding import nlp


def sentences(text: str) -> list[str]:
    spans = nlp.split_sentences(text, [(0, len(text))])[0]
    return [text[s.start : s.end] for s in spans]


def test_norwegian_abbreviations_do_not_end_sentences():
    text = (
        "Vi har f.eks. mange boliger, bl.a. i sentrum. Det gjelder ca. 20 leiligheter, "
        "dvs. nesten alle. Vi kan evt. kjøpe flere, jf. planen nr. 3."
    )
    assert sentences(text) == [
        "Vi har f.eks. mange boliger, bl.a. i sentrum.",
        "Det gjelder ca. 20 leiligheter, dvs. nesten alle.",
        "Vi kan evt. kjøpe flere, jf. planen nr. 3.",
    ]


def test_a_sentence_never_crosses_a_line_break():
    assert sentences("Første linje uten punktum\nAndre linje.") == [
        "Første linje uten punktum",
        "Andre linje.",
    ]


def test_sentence_offsets_survive_emoji_and_combining_marks():
    text = "Hun sa 😀 at det gikk bra. Neste sa\u0301 nei."
    text = unicodedata.normalize("NFC", text)
    got = sentences(text)
    assert got == ["Hun sa 😀 at det gikk bra.", "Neste sá nei."]


def test_normalize_text_is_nfc_lf_without_bom_or_controls():
    raw = "\ufeffA\u030a\r\nB\rC\x00D\x1b\n\n\n\nE  "
    assert nlp.normalize_text(raw) == "Å\nB\nCD\n\nE"


@pytest.mark.parametrize(
    ("form", "lemma"),
    [
        ("boliger", "bolig"),
        ("boligene", "bolig"),
        ("boligens", "bolig"),
        ("samarbeider", "samarbeide"),
        ("samarbeidet", "samarbeide"),
        ("Kommunen", "kommune"),
        ("vi", "vi"),
    ],
)
def test_lemmas_come_from_norsk_ordbank(form, lemma):
    assert nlp.lemmatize(form) == lemma


def test_sentences_carry_their_lemmas():
    spans = nlp.split_sentences("Vi har mange boliger i Drammen.", [(0, 31)])[0]
    assert spans[0].lemmas == "vi ha mange bolig i drammen"


def test_word_count_counts_words_not_punctuation():
    assert nlp.count_words("I: Vi har 25 ansatte – og æøå-ord!") == 7


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("x\u0304y", 1),  # a combining mark stays inside its word
        ("don\u2019t", 1),  # typographic apostrophe, as in offsets.js
        ("NAV-kontoret", 1),
        ("gjen\u00adbruk", 1),  # soft hyphen
        ("a_b 12 æøå 😀 – .,", 3),
    ],
)
def test_the_counted_word_is_letters_marks_and_digits_joined_by_joiners(text, n):
    assert nlp.count_words(text) == n


def test_the_browser_snaps_to_the_word_the_server_counts():
    """static/coding/offsets.js WORD and JOINERS state nlp's counted word (WORD_CATEGORIES,
    WORD_EXTRA, JOINERS); and nlp.WORD_RE holds exactly those characters, in every plane."""
    import json
    import re
    import sys
    from pathlib import Path

    js = (Path(__file__).resolve().parent.parent / "static/coding/offsets.js").read_text()
    word = re.search(r"^const WORD = /\[(.*)\]/u;$", js, re.M)
    joiners = re.search(r"^const JOINERS = new Set\(\[(.*)\]\);$", js, re.M)
    assert word and joiners
    body = word.group(1)
    categories = tuple(re.findall(r"\\p\{(\w+)\}", body))
    assert categories == nlp.WORD_CATEGORIES
    assert re.sub(r"\\p\{\w+\}", "", body) == nlp.WORD_EXTRA
    assert "".join(json.loads(f"[{joiners.group(1)}]")) == nlp.JOINERS

    one = re.compile(nlp.WORD_RE.pattern.split("+", 1)[0])
    wrong = [
        cp
        for cp in range(sys.maxunicode + 1)
        if (one.fullmatch(chr(cp)) is not None)
        != (unicodedata.category(chr(cp))[0] in categories or chr(cp) in nlp.WORD_EXTRA)
    ]
    assert wrong == []


def test_memo_search_cuts_words_as_the_query_and_the_index_do():
    from coding.analysis.memo_overview import words_of
    from coding.language.lemma_search import parse_query

    memo = "Vi møtte NAV-kontoret, p.g.a. boligene."
    words = words_of(memo)
    for query in ("NAV-kontoret", "p.g.a.", "bolig"):
        terms = parse_query(query).left
        assert terms and all(set(t.values) & words for t in terms), query


_TRICKY = [
    "Drammen kommune har «Startlånet» f.eks. for 3 boliger. – Kommunen sa 😀 nei!! Ja?",
    "ROP-tjenesten\tog NAV-kontoret  samarbeider.  (Ja.) «Nei!» sa han... Og så? «Tja».",
    "Hei.  Du der. ... Eh, vel.. ?! Nr. 3 kom. Bl.a. Per. 100 %. Slutt:",
    ". ! ? Alt.»Neste« sa hun.",
    "e\u0301n gang. \u00e9n til.\u3002Ferdig",
]


def _component_sentences(paragraph: str) -> list[tuple[int, int, str, tuple]]:
    """What the pipeline's own sentencizer and lemmatizer components give for ``paragraph``:
    each sentence's stripped span, its lemmas and its encoded word index."""
    from coding.language import lemma_index

    out = []
    for sent in nlp.get_nlp()(paragraph).sents:
        raw = sent.text
        if not raw.strip():
            continue
        s = sent.start_char + len(raw) - len(raw.lstrip())
        kept = [t for t in sent if not (t.is_punct or t.is_space)]
        words = [
            (t.idx, t.idx + len(t.text), t.lower_, t.lemma_) for t in sent if nlp.is_index_token(t)
        ]
        index = (*lemma_index.encode_words(s, words), len(words))
        out.append((s, s + len(raw.strip()), " ".join(t.lemma_ for t in kept), index))
    return out


def test_split_sentences_cuts_lemmatizes_and_indexes_as_the_pipeline_components_do():
    # split_sentences runs only the tokenizer and applies the sentencizer's and the
    # lemmatizer's rules in its own loop over the token texts; it must give what the
    # components give, sentence for sentence.
    from coding.benchmarks.import_ import corpus_paragraphs

    for paragraph in [*_TRICKY, *corpus_paragraphs()]:
        got = [
            (x.start, x.end, x.lemmas, x.index)
            for x in nlp.split_sentences(paragraph, [(0, len(paragraph))])[0]
        ]
        assert got == _component_sentences(paragraph), paragraph


def test_count_words_without_marks_counts_as_word_re():
    for text in ("Vi har 25 ansatte – og æøå-ord! don’t gjen\u00adbruk a_b", "e\u0301n to"):
        assert nlp.count_words(text) == len(nlp.WORD_RE.findall(text))
