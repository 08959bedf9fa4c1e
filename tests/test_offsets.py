"""coding.offsets: the one conversion between the browser's UTF-16 offsets and code points."""

import random

import pytest

from coding import nlp
from coding.offsets import OffsetError, Utf16Map, parse_offset, span_from_u16

EMOJI = "\U0001f600"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # three astral code points joined by ZWJ


def u16_of(text: str, cp: int) -> int:
    return len(text[:cp].encode("utf-16-le")) // 2


def assert_exact(text: str) -> None:
    umap = Utf16Map(text)
    assert umap.cp_length == len(text)
    assert umap.u16_length == len(text.encode("utf-16-le")) // 2
    for cp in range(len(text) + 1):
        u = umap.to_u16(cp)
        assert u == u16_of(text, cp), (text, cp)
        assert umap.to_cp(u) == cp


def test_norwegian_letters_count_the_same_in_both_units():
    text = "Blåbærsyltetøy på Ørsta og Æsøy"
    umap = Utf16Map(text)
    assert umap.is_identity
    assert [umap.to_u16(i) for i in range(len(text) + 1)] == list(range(len(text) + 1))
    assert_exact(text)


def test_an_emoji_shifts_every_later_offset_by_one_unit():
    text = f"Hørt {EMOJI} i møter"
    umap = Utf16Map(text)
    assert not umap.is_identity
    after = text.index("i møter")
    assert umap.to_u16(after) == after + 1
    assert umap.to_cp(after + 1) == after
    assert_exact(text)


def test_offsets_inside_a_surrogate_pair_are_refused():
    text = f"a{EMOJI}b"
    umap = Utf16Map(text)
    assert umap.to_cp(1) == 1
    with pytest.raises(OffsetError):
        umap.to_cp(2)  # between the high and the low surrogate
    assert umap.to_cp(3) == 2


def test_combining_marks_and_zwj_sequences_convert_exactly():
    text = nlp.normalize_text(f"x\u0304-verdien {FAMILY} og e\u0301n kafe\u0301")
    assert "x\u0304" in text  # no precomposed form: two code points after NFC
    assert "én" in text  # NFC composed this one
    assert_exact(text)


def test_crlf_imported_text_has_lf_offsets_that_convert_exactly():
    text = nlp.normalize_text(f"I: Hei\r\n\r\nIP: Hørt {EMOJI} her\r\nog der\r\n")
    assert "\r" not in text
    assert_exact(text)
    start = text.index("her")
    assert Utf16Map(text).to_u16(start) == start + 1


def test_a_very_long_line_converts_at_its_far_end():
    line = EMOJI + ("ord " * 250_000) + EMOJI + "slutt"
    umap = Utf16Map(line)
    end = line.index("slutt")
    assert umap.to_u16(end) == end + 2
    assert umap.to_cp(end + 2) == end
    assert umap.to_u16(len(line)) == umap.u16_length == len(line) + 2


def test_random_texts_round_trip_at_every_offset():
    rng = random.Random(4)
    alphabet = ["a", "å", "Ø", " ", "\n", "\t", EMOJI, "\U00010348", "\u0304", "\u200d", "€"]
    for _ in range(200):
        assert_exact("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))


@pytest.mark.parametrize("offset", [-1, 8, 100])
def test_offsets_outside_the_text_are_refused(offset):
    umap = Utf16Map(f"abc{EMOJI}ab")  # 7 UTF-16 units, 6 code points
    with pytest.raises(OffsetError):
        umap.to_cp(offset)
    with pytest.raises(OffsetError):
        umap.to_u16(offset)


def test_the_end_of_the_text_is_a_valid_offset():
    umap = Utf16Map(f"abc{EMOJI}")
    assert umap.to_cp(5) == 4
    assert umap.to_u16(4) == 5


@pytest.mark.parametrize("raw", ["", " ", "1.5", "-3", "+3", "1e3", "٣", "²", None, 2.0, True, [1]])
def test_posted_offsets_must_be_plain_whole_numbers(raw):
    with pytest.raises(OffsetError):
        parse_offset(raw)


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("42", 42), (" 7 ", 7), (12, 12)])
def test_posted_offsets_parse(raw, value):
    assert parse_offset(raw) == value


def test_a_posted_span_converts_both_ends():
    text = f"{EMOJI}{EMOJI} Brukerne blir hørt"
    umap = Utf16Map(text)
    start = text.index("Brukerne")
    assert span_from_u16(umap, str(start + 2), str(len(text) + 2)) == (start, len(text))
