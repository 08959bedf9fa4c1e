"""Transcript import, one module per format (``docx``, ``odt``, ``txt``) beside what they share
(``common``, ``zips``), the speaker labels (``speakers``), the header (``header``) and the
preview (``preview``): plain functions over file objects, testable without a request or broker.

``read_document`` checks the bytes (content, not the file name) and returns paragraphs;
``detect_speakers`` proposes speaker labels; ``build_turns`` lays turns over the stored text.
Every error is a ``ValidationError`` whose message names the file and the problem.
"""

from coding.importers.common import (
    MAX_PARAGRAPH_CHARS,
    MAX_PARAGRAPHS,
    MAX_SPACE_RUN,
    MAX_TEXT_CHARS,
    MAX_XML_DEPTH,
    MAX_XML_ELEMENTS,
    TEXT_ENCODINGS,
    Paragraph,
    ParsedDocument,
    _Collector,
    _fail,
    fail,
)
from coding.importers.document import (
    ELF_MAGIC,
    EXE_MAGIC,
    ODT_MIME,
    OLE_MAGIC,
    PDF_MAGIC,
    ZIP_MAGIC,
    read_document,
    sniff_format,
)
from coding.importers.docx import (
    W,
)
from coding.importers.header import (
    HEADER_LINES,
    header_metadata,
)
from coding.importers.odt import (
    ODF_OFFICE,
    ODF_TABLE,
    ODF_TEXT,
)
from coding.importers.preview import (
    ParsedPreview,
)
from coding.importers.speakers import (
    INTERVIEWER_RE,
    KNOWN_LABEL_RE,
    LABEL_RE,
    MAX_HEADER_LINES,
    MAX_LABEL_CHARS,
    MAX_LABEL_WORDS,
    TurnSpan,
    build_text_and_turns,
    detect_speakers,
    guess_interviewer,
    header_paragraphs,
    label_of,
    question_shares,
)
from coding.importers.txt import (
    parse_pasted,
)
from coding.importers.zips import (
    MAX_COMPRESSION_RATIO,
    SafeZip,
    open_zip_safely,
)

__all__ = [
    "Paragraph",
    "ParsedDocument",
    "TEXT_ENCODINGS",
    "_fail",
    "MAX_PARAGRAPHS",
    "MAX_TEXT_CHARS",
    "MAX_PARAGRAPH_CHARS",
    "MAX_XML_DEPTH",
    "MAX_XML_ELEMENTS",
    "MAX_SPACE_RUN",
    "_Collector",
    "fail",
    "MAX_COMPRESSION_RATIO",
    "SafeZip",
    "open_zip_safely",
    "parse_pasted",
    "MAX_LABEL_CHARS",
    "MAX_LABEL_WORDS",
    "LABEL_RE",
    "KNOWN_LABEL_RE",
    "INTERVIEWER_RE",
    "label_of",
    "detect_speakers",
    "guess_interviewer",
    "question_shares",
    "TurnSpan",
    "build_text_and_turns",
    "header_paragraphs",
    "MAX_HEADER_LINES",
    "W",
    "ODF_TEXT",
    "ODF_TABLE",
    "ODF_OFFICE",
    "HEADER_LINES",
    "header_metadata",
    "ParsedPreview",
    "ZIP_MAGIC",
    "OLE_MAGIC",
    "PDF_MAGIC",
    "EXE_MAGIC",
    "ELF_MAGIC",
    "ODT_MIME",
    "sniff_format",
    "read_document",
]
