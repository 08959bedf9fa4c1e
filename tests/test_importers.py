import pytest
from django.core.exceptions import ValidationError

from coding import importers
from coding.nlp import normalize_text

from . import docs


def read(data: bytes, name: str = "intervju.docx") -> importers.ParsedDocument:
    import io

    return importers.read_document(io.BytesIO(data), name)


def error_code(data: bytes, name: str = "fil.docx") -> str:
    with pytest.raises(ValidationError) as exc:
        read(data, name)
    assert name in exc.value.messages[0], "the message names the file"
    return exc.value.code


def test_it_reads_docx_paragraphs_in_order():
    doc = read(docs.make_docx(["I: Hei og velkommen.", "IP: Takk, hyggelig å være med."]))
    assert doc.fmt == "docx"
    assert [p.text for p in doc.paragraphs] == [
        "I: Hei og velkommen.",
        "IP: Takk, hyggelig å være med.",
    ]


def test_it_takes_bold_names_in_word_as_speaker_labels():
    data = docs.make_docx(
        ["Astrid Lunde: Hva gjør dere?", "Tone Berg: Vi kjøper boliger."], bold_labels=True
    )
    doc = read(data)
    assert [p.bold_label for p in doc.paragraphs] == ["Astrid Lunde", "Tone Berg"]
    # Bold labels count even when each occurs only once.
    assert dict(importers.detect_speakers(doc)) == {"Astrid Lunde": 1, "Tone Berg": 1}


def test_it_lays_out_a_two_column_table_as_speaker_turns():
    data = docs.make_docx([], table=[["I", "Hvor lenge har du jobbet her?"], ["IP", "Ti år."]])
    doc = read(data)
    assert [p.text for p in doc.paragraphs] == ["I: Hvor lenge har du jobbet her?", "IP: Ti år."]


def test_it_reads_odt(tmp_path):
    doc = read(
        docs.make_odt(["Intervjuer: Hei.", "Informant: Hei på deg, æøå."], tmp_path), "intervju.odt"
    )
    assert doc.fmt == "odt"
    assert doc.paragraphs[1].text == "Informant: Hei på deg, æøå."


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("I: Blåbær og rødt hus.\nIP: Ja.".encode(), "utf-8-sig"),
        (b"\xef\xbb\xbf" + "I: Blåbær.\nIP: Ja.".encode(), "utf-8-sig"),
        ("I: Blåbær og ærlige svar.\r\nIP: Ja.".encode("cp1252"), "cp1252"),
        ("I: Blåbær.\nIP: Ja.".encode("utf-16"), "utf-16"),
    ],
)
def test_it_detects_text_encodings(raw, encoding):
    doc = read(raw, "intervju.txt")
    assert doc.encoding == encoding
    assert doc.paragraphs[0].text.startswith("I: Blåbær")
    assert all("\r" not in p.text and "\ufeff" not in p.text for p in doc.paragraphs)


def test_the_file_name_does_not_decide_the_format():
    # A .docx that is really plain text is read as text, not refused by its name.
    doc = read("I: Hei.\nIP: Hallo.".encode(), "lurt.docx")
    assert doc.fmt == "txt"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (docs.EXE, "wrong_type"),
        (docs.PDF, "pdf"),
        (docs.OLE_ENCRYPTED, "encrypted_or_doc"),
        (b"PK\x03\x04garbage that is not a zip", "corrupt"),
        (bytes(range(256)) * 50, "bad_encoding"),
    ],
)
def test_bad_input_gets_a_clear_error(data, code):
    assert error_code(data) == code


def test_a_truncated_docx_is_reported_as_damaged():
    data = docs.make_docx(["I: Hei."])
    assert error_code(data[: len(data) // 2]) == "corrupt"


def test_a_docx_with_macros_is_refused():
    data = docs.rezip(docs.make_docx(["I: Hei."]), add={"word/vbaProject.bin": b"\0VBA"})
    assert error_code(data) == "macros"


def test_a_zip_bomb_is_refused_without_unpacking_it():
    assert error_code(docs.zip_bomb()) == "zip_bomb"


def test_a_zip_that_is_no_document_is_refused():
    data = docs.rezip(docs.make_docx(["I: Hei."]), drop={"word/document.xml"})
    assert error_code(data) == "wrong_type"


def test_a_docx_with_broken_xml_is_damaged():
    data = docs.rezip(docs.make_docx(["I: Hei."]), replace={"word/document.xml": b"<w:document"})
    assert error_code(data) == "corrupt"


def test_a_file_over_the_limit_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 1000
    assert error_code(b"I: " + b"a" * 2000, "stor.txt") == "too_big"


def test_speaker_labels_of_common_conventions_are_found():
    doc = importers.parse_pasted(
        "Kommune: Drammen\nI: Første spørsmål?\nIP: Svar.\nI: Andre?\nIP: Svar igjen.\n"
        "Informant 2: Jeg vil legge til noe.\nIntervjuer: Takk."
    )
    labels = dict(importers.detect_speakers(doc))
    assert labels == {"I": 2, "IP": 2, "Informant 2": 1, "Intervjuer": 1}
    assert "Kommune" not in labels  # a one-off "Kommune: Drammen" is text, not a speaker


def test_turns_cover_labels_and_continuation_paragraphs():
    doc = importers.parse_pasted("Innledning.\nI: Spørsmål?\nIP: Svar.\nMer svar.\nI: Takk.")
    text, turns = importers.build_text_and_turns(doc, {"I", "IP"})
    assert text == "Innledning.\n\nI: Spørsmål?\n\nIP: Svar.\n\nMer svar.\n\nI: Takk."
    assert [(t.label, text[t.content_start : t.end]) for t in turns] == [
        ("", "Innledning."),
        ("I", "Spørsmål?"),
        ("IP", "Svar.\n\nMer svar."),
        ("I", "Takk."),
    ]


def test_bold_label_without_colon_starts_content_after_the_name():
    doc = importers.ParsedDocument(
        "x", "docx", [importers.Paragraph("Tone Berg Vi har 25 ansatte.", bold_label="Tone Berg")]
    )
    text, turns = importers.build_text_and_turns(doc, {"Tone Berg"})
    assert text[turns[0].content_start : turns[0].end] == "Vi har 25 ansatte."


@pytest.mark.parametrize(
    "raw",
    [
        "I: Ærlig talt 😀 – blåbær.\r\nIP: Ja\u0301 då.\r\n",  # emoji, combining mark, CRLF
        "\ufeffI: Blåbær\rIP: Gammel Mac-linjeslutt.",
        "I: Kontrolltegn\x00 og \x07 forsvinner.\nIP: " + "lang linje " * 5000,
    ],
)
def test_offsets_of_turns_index_the_stored_text(raw):
    doc = importers.parse_pasted(raw)
    text, turns = importers.build_text_and_turns(doc, {"I", "IP"})
    assert text == normalize_text(text), "the stored text is already normalised"
    assert "\r" not in text and "\x00" not in text and "\ufeff" not in text
    for t in turns:
        assert text[t.start : t.start + len(t.label)] == t.label
        assert text[t.content_start - 2 : t.content_start] == ": "


def test_the_interviewer_is_guessed_from_who_asks_the_questions():
    doc = importers.parse_pasted(
        "Astrid Lunde: Hvordan er det organisert?\nTone Berg: Vi har 25 ansatte.\n"
        "Astrid Lunde: Og NAV?\nTone Berg: Samme kommunaldirektør."
    )
    shares = importers.question_shares(doc, {"Astrid Lunde", "Tone Berg"})
    assert shares == {"Astrid Lunde": 1.0, "Tone Berg": 0.0}
    assert importers.guess_interviewer("Astrid Lunde", shares["Astrid Lunde"])
    assert not importers.guess_interviewer("Tone Berg", shares["Tone Berg"])
    assert importers.guess_interviewer("Intervjuer")
