"""Plain text files and pasted text: the encoding guessed (or chosen), then one paragraph a line."""

from __future__ import annotations

from django.utils.translation import gettext as _

from coding.importers.common import TEXT_ENCODINGS, Paragraph, ParsedDocument, _Collector, _fail
from coding.nlp import normalize_text


def parse_pasted(text: str, name: str = "") -> ParsedDocument:
    name = name or _("pasted text")
    text = normalize_text(text)
    if not text.strip():
        raise _fail(name, _("the text is empty."), "empty")
    return ParsedDocument(name=name, fmt="paste", paragraphs=_lines(text, name))


def _lines(text: str, name: str) -> list[Paragraph]:
    out = _Collector(name)
    out.add_lines(text)
    return out.paragraphs


def _read_text(data: bytes, name: str, chosen: str | None = None) -> dict:
    errors = "strict"
    if chosen in TEXT_ENCODINGS:
        candidates = ["utf-8-sig" if chosen == "utf-8" else chosen]
        errors = "replace"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    bad_utf8 = 0
    for enc in candidates:
        try:
            text = data.decode(enc, errors)
        except UnicodeDecodeError:
            if enc == "utf-8-sig":
                # Mostly UTF-8 with a few broken bytes (a cut copy, one stray byte) is not the
                # same as a Windows-1252 file: count them, so the preview can say so.
                bad = data.decode("utf-8", "replace").count("\ufffd")
                non_ascii = sum(1 for b in data[:1_000_000] if b >= 0x80)
                if bad and non_ascii > 2 * bad:
                    bad_utf8 = bad
            continue
        if _looks_binary(text):
            break
        text = normalize_text(text)
        if not text.strip():
            raise _fail(name, _("the file is empty."), "empty")
        return {
            "paragraphs": _lines(text, name),
            "encoding": enc,
            "bad_utf8_bytes": bad_utf8 if enc == "cp1252" else 0,
        }
    raise _fail(
        name,
        _("the file is not text in UTF-8, UTF-16 or Windows-1252 (it may be a binary file)."),
        "bad_encoding",
    )


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\x0b")
    return "\x00" in sample or controls > max(3, len(sample) // 200)
