"""What a REFI-QDA upload would create: the ExchangePlan and its parts, read but not written."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from coding import importers

CODE_KEYS = {"inclusion", "exclusion", "example", "short_name", "keywords"}
CASE_KEYS = {"kind", "informant_of", "role_title", "level", "org_unit"}
SOURCE_KEYS = {"interview_date", "mode", "interviewers", "language"}
KINDS = {
    "Text": "text",
    "Integer": "integer",
    "Float": "decimal",
    "Boolean": "boolean",
    "Date": "date",
    "DateTime": "date",
}
DOCUMENT_SUFFIXES = (".docx", ".odt")
NESTED_ARCHIVE_SUFFIXES = (".zip", ".qdpx", ".jar", ".7z", ".rar", ".gz")


@dataclass
class RCoding:
    guid: str | None
    code: str
    user: str | None
    created_at: dt.datetime | None


@dataclass
class RSelection:
    guid: str | None
    start: int
    end: int
    user: str | None
    created_at: dt.datetime | None
    codings: list[RCoding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class RSource:
    guid: str
    name: str
    text: str  # the stored form (nlp.normalize_text, paragraphs a blank line apart)
    user: str | None
    created_at: dt.datetime | None
    meta: dict[str, str]
    rich: tuple[str, bytes] | None  # (extension, bytes) of the original document
    selections: list[RSelection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class RCode:
    guid: str
    name: str
    parent: str | None
    color: str
    codable: bool
    definition: str
    fields: dict[str, str]
    notes: list[str] = field(default_factory=list)


@dataclass
class RVariable:
    guid: str
    name: str
    kind: str
    target: str  # "case" or "informant"


@dataclass
class RCase:
    guid: str
    name: str
    description: str
    fields: dict[str, str]
    values: list[tuple[str, object]]
    sources: list[str]

    @property
    def informant_of(self) -> str | None:
        return self.fields.get("informant_of") or None


@dataclass
class RNote:
    guid: str
    title: str
    text: str
    user: str | None
    created_at: dt.datetime | None
    modified_at: dt.datetime | None
    case_name: str


@dataclass
class ExchangePlan:
    """What an upload holds, in our terms. ``left_out`` lists (what, why) for the preview."""

    file_name: str
    kind: str  # "project" or "codebook"
    name: str = ""
    description: str = ""
    users: dict[str, str] = field(default_factory=dict)  # guid -> name
    codes: list[RCode] = field(default_factory=list)  # parents before children
    variables: list[RVariable] = field(default_factory=list)
    cases: list[RCase] = field(default_factory=list)
    sources: list[RSource] = field(default_factory=list)
    notes: list[RNote] = field(default_factory=list)
    sets: list[tuple[str, str, list[str]]] = field(default_factory=list)
    project_notes: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict:
        """Counts for the preview and the command line (JSON-serialisable)."""
        per_user: Counter[str] = Counter()
        for s in self.sources:
            for sel in s.selections:
                for c in sel.codings:
                    per_user[self.users.get(c.user or "", _("(unknown coder)"))] += 1
        return {
            "kind": self.kind,
            "name": self.name,
            "users": len(self.users),
            "codes": len(self.codes),
            "sources": len(self.sources),
            "selections": sum(len(s.selections) for s in self.sources),
            "codings": sum(per_user.values()),
            "codings_per_user": dict(sorted(per_user.items())),
            "cases": sum(1 for c in self.cases if not c.informant_of),
            "informants": sum(1 for c in self.cases if c.informant_of),
            "variables": len(self.variables),
            "notes": len(self.notes),
            "sets": len(self.sets),
            "left_out": [{"what": w, "why": y} for w, y in self.left_out],
        }


def _fail(name: str, message: str, code: str) -> ValidationError:
    return importers.fail(name, message, code)


def proposed_speakers(text: str, name: str, pseudonyms: set[str]) -> dict[str, dict]:
    """The speaker mapping ordinary import would propose: labels found in the text, the
    interviewer guessed, informants matched by pseudonym (case-folded; the id is filled in
    when the informant exists), others kept as unnamed speakers."""
    doc = importers.parse_pasted(text, name)
    return _proposal(doc, importers.detect_speakers(doc), pseudonyms)


def _proposal(
    doc: importers.ParsedDocument, labels: list[tuple[str, int]], pseudonyms: set[str]
) -> dict[str, dict]:
    shares = importers.question_shares(doc, {label for label, _n in labels})
    out: dict[str, dict] = {}
    for label, _n in labels:
        if label.casefold() in pseudonyms:
            out[label] = {"kind": "informant", "pseudonym": label.casefold()}
        elif importers.guess_interviewer(label, shares.get(label, 0.0)):
            out[label] = {"kind": "interviewer"}
        else:
            out[label] = {"kind": "speaker"}
    return out


@dataclass(frozen=True)
class SourceSpeakers:
    """A source's speaker labels as ordinary import finds them (with their turns), what
    import would propose for them, and the informants of the file who speak in it (folded
    name -> name)."""

    guid: str
    name: str
    labels: list[tuple[str, int]]
    proposed: dict[str, dict]
    informants: dict[str, str]


def source_speakers(plan: ExchangePlan) -> list[SourceSpeakers]:
    """The speaker labels of every source of ``plan``, for the preview (each text read once)."""
    names = informant_names(plan)
    out = []
    for src in plan.sources:
        informants = names.get(src.guid, {})
        doc = importers.parse_pasted(src.text, src.name)
        labels = importers.detect_speakers(doc)
        proposed = _proposal(doc, labels, set(informants))
        out.append(SourceSpeakers(src.guid, src.name, labels, proposed, informants))
    return out


def informant_names(plan: ExchangePlan) -> dict[str, dict[str, str]]:
    """For each source GUID, the informants of the file who speak in it: folded name -> name."""
    out: dict[str, dict[str, str]] = {}
    for rc in plan.cases:
        if rc.informant_of:
            for g in rc.sources:
                out.setdefault(g, {})[rc.name[:100].casefold()] = rc.name[:100]
    return out
