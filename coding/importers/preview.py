"""What the import's parse stage keeps on the job for the preview."""

from __future__ import annotations

import json
from dataclasses import dataclass

from coding.importers.common import Paragraph, ParsedDocument
from coding.importers.header import header_metadata
from coding.importers.speakers import detect_speakers, header_paragraphs, question_shares


@dataclass
class ParsedPreview:
    """What the import's parse stage keeps on the job: the document and what the preview shows."""

    doc: ParsedDocument
    labels: list[tuple[str, int]]
    shares: dict[str, float]
    header: dict
    # Leading paragraphs found to be the heading or metadata block (the preview's proposal).
    header_lines: int = 0

    @classmethod
    def of(cls, doc: ParsedDocument) -> ParsedPreview:
        labels = detect_speakers(doc)
        names = {label for label, _n in labels}
        return cls(
            doc=doc,
            labels=labels,
            shares=question_shares(doc, names),
            header=header_metadata(doc),
            header_lines=header_paragraphs(doc, names),
        )

    def to_json(self) -> str:
        header = dict(self.header)
        if header.get("interview_date"):
            header["interview_date"] = header["interview_date"].isoformat()
        d = self.doc
        return json.dumps(
            {
                "name": d.name,
                "fmt": d.fmt,
                "encoding": d.encoding,
                "bad_utf8_bytes": d.bad_utf8_bytes,
                "paragraphs": [[p.text, p.bold_label] for p in d.paragraphs],
                "labels": self.labels,
                "shares": self.shares,
                "header": header,
                "header_lines": self.header_lines,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> ParsedPreview:
        import datetime as dt

        data = json.loads(raw)
        doc = ParsedDocument(
            name=data["name"],
            fmt=data["fmt"],
            paragraphs=[Paragraph(t, b) for t, b in data["paragraphs"]],
            encoding=data.get("encoding"),
            bad_utf8_bytes=data.get("bad_utf8_bytes", 0),
        )
        header = data.get("header", {})
        if header.get("interview_date"):
            header["interview_date"] = dt.date.fromisoformat(header["interview_date"])
        labels = [(label, n) for label, n in data["labels"]]
        header_lines = data.get("header_lines")
        if header_lines is None:  # a draft parsed before the header was kept
            header_lines = header_paragraphs(doc, {label for label, _n in labels})
        return cls(
            doc=doc,
            labels=labels,
            shares=data["shares"],
            header=header,
            header_lines=int(header_lines),
        )
