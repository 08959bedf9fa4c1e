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
