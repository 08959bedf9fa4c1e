"""coding/importers/odt.py and docx.py: what the writer typed comes through as the words a
reader sees (spaces, tabs, line breaks, hyphens), footnotes and page breaks do not, and a
damaged file is refused naming the file."""

import io

import pytest
from django.core.exceptions import ValidationError

from coding import importers

from . import docs

ODF = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
)
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _odt(body: str, tmp_path, *, with_body: bool = True) -> bytes:
    inner = f"<office:body><office:text>{body}</office:text></office:body>" if with_body else ""
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF}>{inner}'
    content += "</office:document-content>"
    return docs.rezip(docs.make_odt(["x"], tmp_path), replace={"content.xml": content.encode()})


def _docx(body: str) -> bytes:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    )
    return docs.rezip(docs.make_docx(["x"]), replace={"word/document.xml": xml.encode()})


def _texts(data: bytes, name: str) -> list[str]:
    return [p.text for p in importers.read_document(io.BytesIO(data), name).paragraphs]


def _refused(data: bytes, name: str) -> str:
    with pytest.raises(ValidationError) as exc:
        importers.read_document(io.BytesIO(data), name)
    assert name in exc.value.messages[0], "the message names the file"
    return exc.value.code


# --- .odt ----------------------------------------------------------------------------------


def test_odt_spaces_tabs_and_line_breaks_are_kept_and_notes_left_out(tmp_path):
    body = (
        "<text:p>IP: Tre<text:s text:c='3'/>ord<text:tab/>og"
        "<text:note><text:note-body><text:p>Fotnote.</text:p></text:note-body></text:note>"
        " linje<text:line-break/>to.</text:p>"
        "<text:h>Overskrift æøå</text:h>"
    )
    texts = _texts(_odt(body, tmp_path), "intervju.odt")
    joined = "\n".join(texts)
    assert "Fotnote" not in joined, "a footnote is not part of what was said"
    assert "Tre   ord" in joined  # three spaces, as the writer typed them
    assert "linje" in joined and "to." in joined
    assert texts[-1] == "Overskrift æøå"


def test_odt_a_huge_space_count_is_capped(tmp_path):
    from coding.importers.common import MAX_SPACE_RUN

    body = "<text:p>A<text:s text:c='100000000'/>B</text:p>"
    (text,) = _texts(_odt(body, tmp_path), "intervju.odt")
    assert text.startswith("A") and text.endswith("B")
    assert len(text) <= MAX_SPACE_RUN + 2


def test_odt_a_table_of_speaker_and_words_becomes_turns(tmp_path):
    row = (
        "<table:table-row><table:table-cell><text:p>{}</text:p></table:table-cell>"
        "<table:table-cell><text:p>{}</text:p></table:table-cell></table:table-row>"
    )
    body = (
        "<table:table>"
        + row.format("I", "Hvor lenge har du jobbet her?")
        + row.format("IP", "Ti år.")
        + "</table:table>"
    )
    assert _texts(_odt(body, tmp_path), "intervju.odt") == [
        "I: Hvor lenge har du jobbet her?",
        "IP: Ti år.",
    ]


@pytest.mark.parametrize(
    ("body", "with_body", "code"),
    [
        ("<text:p>A<text:s text:c='mange'/>B</text:p>", True, "corrupt"),
        ("", False, "corrupt"),
        ("<text:p>   </text:p>", True, "empty"),
    ],
)
def test_odt_a_damaged_or_empty_document_is_refused(tmp_path, body, with_body, code):
    assert _refused(_odt(body, tmp_path, with_body=with_body), "skadet.odt") == code


# --- .docx ---------------------------------------------------------------------------------


def test_docx_tabs_breaks_and_hyphens_read_as_word_shows_them():
    body = (
        "<w:p><w:r><w:t>IP: Ti</w:t><w:tab/><w:t>år</w:t><w:noBreakHyphen/><w:t>vis</w:t>"
        "<w:br/><w:t>ny linje</w:t><w:cr/><w:t>og en til. </w:t>"
        '<w:br w:type="page"/><w:t>Samme linje</w:t></w:r></w:p>'
    )
    # A line break or carriage return starts a new line (a paragraph each, as in a .txt); a
    # page break is layout and adds no line.
    assert _texts(_docx(body), "intervju.docx") == [
        "IP: Ti\tår-vis",
        "ny linje",
        "og en til. Samme linje",
    ]


def test_docx_a_page_break_between_words_keeps_them_apart():
    body = (
        '<w:p><w:r><w:t>IP: og en til</w:t><w:br w:type="page"/><w:t>samme linje</w:t></w:r></w:p>'
    )
    (text,) = _texts(_docx(body), "intervju.docx")
    # Word shows "til" at the foot of one page and "samme" atop the next: two words.
    assert "tilsamme" not in text
    assert text.split()[-3:] == ["til", "samme", "linje"]


@pytest.mark.parametrize(
    ("rpr", "label"),
    [
        ("<w:b/>", "Tone"),
        ('<w:b w:val="true"/>', "Tone"),
        ('<w:b w:val="0"/>', None),
        ('<w:b w:val="false"/>', None),
        ("", None),
    ],
)
def test_docx_a_leading_bold_run_is_a_label_unless_bold_is_switched_off(rpr, label):
    body = (
        f"<w:p><w:r><w:rPr>{rpr}</w:rPr><w:t>Tone:</w:t></w:r>"
        "<w:r><w:t xml:space='preserve'> Vi kjøper boliger.</w:t></w:r></w:p>"
    )
    (p,) = importers.read_document(io.BytesIO(_docx(body)), "intervju.docx").paragraphs
    assert p.bold_label == label
    assert p.text == "Tone: Vi kjøper boliger."
