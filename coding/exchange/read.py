"""Check and read a REFI-QDA upload (.qdpx, .qdc, or a bare project.qde) into an ExchangePlan.

Nothing is written here. The plan says what an import would create and what it leaves out and
why; coding.exchange.write carries it out. The same checks as transcript uploads apply
(content sniffing, size and zip-bomb limits through coding.importers, no DOCTYPE or entities,
zip paths never leave the zip), and the reader is lenient where real programs differ from the
schema: ``Sources/`` or ``sources/``, ``internal://`` or relative paths, both ``richTextPath``
and ``plainTextPath``, GUIDs in either case or in braces, no ``xsi:schemaLocation``, UTF-8 with
or without BOM, CRLF line ends (offsets are converted to the stored text, and a selection whose
text does not survive the conversion is left out rather than shifted).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from lxml import etree

from coding import importers
from coding.exchange.common import norm_guid, parse_datetime, unfold

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


# --- the container -----------------------------------------------------------------------------


def read_exchange(fh: BinaryIO, name: str) -> ExchangePlan:
    """Check and read an upload. Raises ValidationError naming the file for anything hostile."""
    data = fh.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(data) > settings.UPLOAD_MAX_BYTES:
        limit_mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        raise _fail(name, _("the file is larger than %(mb)s MB.") % {"mb": limit_mb}, "too_big")
    if not data.strip():
        raise _fail(name, _("the file is empty."), "empty")
    kind = importers.sniff_format(data[:8])
    if kind == "zip":
        zf, members = _open_zip(data, name)
        qde = members.get("project.qde")
        if qde is None:
            raise _fail(
                name,
                _("the zip file has no project.qde: it is not a REFI-QDA project."),
                "no_project",
            )
        root = _parse_xml(zf.read(qde), name)
        if root.tag != "Project":
            raise _fail(name, _("project.qde is not a REFI-QDA project."), "wrong_type")
        return _read_project(root, name, zf, members)
    if kind != "text":
        raise _fail(
            name, _("this is not a REFI-QDA project (.qdpx) or codebook (.qdc)."), "wrong_type"
        )
    root = _parse_xml(data, name)
    if root.tag == "CodeBook":
        return _read_codebook(root, name)
    if root.tag == "Project":
        return _read_project(root, name, None, {})
    raise _fail(name, _("this is not a REFI-QDA project (.qdpx) or codebook (.qdc)."), "wrong_type")


def _open_zip(data: bytes, name: str) -> tuple[zipfile.ZipFile, dict[str, str]]:
    """The zip and its member names by lower-cased path, after every safety check."""
    # The transcript uploads' zip checks: every member decompressed once within real limits.
    zf = importers.open_zip_safely(data, name).zf
    infos = zf.infolist()
    members: dict[str, str] = {}
    for info in infos:
        raw = info.filename
        path = raw.replace("\\", "/")
        parts = PurePosixPath(path).parts
        if (
            path.startswith("/")
            or (len(path) > 1 and path[1] == ":")
            or ".." in parts
            or "\x00" in path
        ):
            raise _fail(
                name,
                _("the zip file holds a path that leads outside it (%(path)s).") % {"path": raw},
                "zip_traversal",
            )
        if info.is_dir():
            continue
        if path.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
            raise _fail(
                name,
                _("the zip file holds another archive (%(path)s).") % {"path": raw},
                "nested_zip",
            )
        with zf.open(info) as member:
            head = member.read(4)
        if head == importers.ZIP_MAGIC:
            if path.lower().endswith(DOCUMENT_SUFFIXES):
                # A .docx/.odt original is a zip by nature: it gets the same bomb checks.
                importers.open_zip_safely(zf.read(info), raw)
            else:
                raise _fail(
                    name,
                    _("the zip file holds another archive (%(path)s).") % {"path": raw},
                    "nested_zip",
                )
        members[path.lower()] = raw
    return zf, members


def _parse_xml(data: bytes, name: str) -> etree._Element:
    """Parse without DTDs, entities or network; namespaces dropped (writers differ)."""
    head = data[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(name, _("the XML is damaged."), "corrupt") from exc
        data = data.replace(b'encoding="UTF-16"', b'encoding="UTF-8"').replace(
            b"encoding='UTF-16'", b"encoding='UTF-8'"
        )
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _fail(
            name,
            _("the XML declares a DOCTYPE or entities, which REFI-QDA never needs."),
            "xml_entities",
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _fail(name, _("the XML is damaged: %(error)s") % {"error": exc}, "corrupt") from exc
    for el in root.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    return root


# --- the XML -----------------------------------------------------------------------------------


def _kids(el, tag: str) -> list:
    return [c for c in el if c.tag == tag]


def _kid(el, tag: str):
    for c in el:
        if c.tag == tag:
            return c
    return None


def _desc(el) -> str:
    d = _kid(el, "Description")
    return (d.text or "") if d is not None else ""


def _refs(el, tag: str) -> list[str]:
    return [g for g in (norm_guid(r.get("targetGUID")) for r in _kids(el, tag)) if g]


def _color(raw: str | None) -> str:
    raw = (raw or "").strip().lower()
    if len(raw) == 4 and raw.startswith("#"):
        raw = "#" + "".join(ch * 2 for ch in raw[1:])
    if len(raw) == 7 and raw.startswith("#") and all(c in "0123456789abcdef" for c in raw[1:]):
        return raw
    return ""


def _read_codes(plan: ExchangePlan, codes_el, parent: str | None, seen: set[str]) -> None:
    for el in _kids(codes_el, "Code"):
        guid = norm_guid(el.get("guid"))
        name = " ".join((el.get("name") or "").split())
        if not guid or guid in seen or not name:
            plan.left_out.append(
                (
                    _("Code “%(name)s”") % {"name": name or "?"},
                    _("it has no name or no valid, unique GUID"),
                )
            )
            continue
        seen.add(guid)
        definition, fields = unfold(_desc(el), CODE_KEYS)
        plan.codes.append(
            RCode(
                guid=guid,
                name=name,
                parent=parent,
                color=_color(el.get("color")),
                codable=(el.get("isCodable") or "true").strip().lower() not in ("false", "0"),
                definition=definition,
                fields=fields,
                notes=_refs(el, "NoteRef"),
            )
        )
        _read_codes(plan, el, guid, seen)


def _read_codebook(root, name: str) -> ExchangePlan:
    plan = ExchangePlan(file_name=name, kind="codebook")
    codes_el = _kid(root, "Codes")
    if codes_el is not None:
        _read_codes(plan, codes_el, None, set())
    sets = _kid(root, "Sets")
    if sets is not None and len(sets):
        plan.left_out.append(
            (_("%(n)s code sets") % {"n": len(sets)}, _("the codebook here has no sets of codes"))
        )
    if not plan.codes:
        raise _fail(name, _("the codebook has no codes."), "no_codes")
    return plan


def _value(kind: str, el) -> object:
    text = (el.text or "").strip()
    if el.tag == "TextValue":
        return (el.text or "").strip()[:500]
    if el.tag == "IntegerValue":
        return int(text)
    if el.tag == "FloatValue":
        return Decimal(text)
    if el.tag == "BooleanValue":
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise ValueError(text)
    if el.tag == "DateValue":
        return dt.date.fromisoformat(text)
    if el.tag == "DateTimeValue":
        value = parse_datetime(text)
        if value is None:
            raise ValueError(text)
        return value.date()
    raise ValueError(el.tag)


def _read_project(root, name: str, zf: zipfile.ZipFile | None, members: dict[str, str]):
    plan = ExchangePlan(
        file_name=name,
        kind="project",
        name=(root.get("name") or "").strip(),
        description=_desc(root),
    )
    users_el = _kid(root, "Users")
    for u in _kids(users_el, "User") if users_el is not None else []:
        guid = norm_guid(u.get("guid"))
        if guid:
            plan.users[guid] = (u.get("name") or u.get("id") or "").strip() or guid[:8]
    cb = _kid(root, "CodeBook")
    codes_el = _kid(cb, "Codes") if cb is not None else None
    if codes_el is not None:
        _read_codes(plan, codes_el, None, set())
    code_guids = {c.guid for c in plan.codes}

    vars_el = _kid(root, "Variables")
    var_kind: dict[str, str] = {}
    for v in _kids(vars_el, "Variable") if vars_el is not None else []:
        guid = norm_guid(v.get("guid"))
        vname = (v.get("name") or "").strip()
        kind = KINDS.get((v.get("typeOfVariable") or "").strip())
        if not guid or not vname or kind is None:
            plan.left_out.append(
                (
                    _("Variable “%(name)s”") % {"name": vname or "?"},
                    _("its name, GUID or type is missing or unknown"),
                )
            )
            continue
        _main, f = unfold(_desc(v), {"applies_to"})
        target = "informant" if f.get("applies_to", "").strip().lower() == "informant" else "case"
        plan.variables.append(RVariable(guid=guid, name=vname[:100], kind=kind, target=target))
        var_kind[guid] = kind

    cases_el = _kid(root, "Cases")
    for c in _kids(cases_el, "Case") if cases_el is not None else []:
        guid = norm_guid(c.get("guid"))
        if not guid:
            continue
        main, fields = unfold(_desc(c), CASE_KEYS)
        values = []
        for vv in _kids(c, "VariableValue"):
            ref = _kid(vv, "VariableRef")
            vguid = norm_guid(ref.get("targetGUID")) if ref is not None else None
            value_el = next((x for x in vv if x.tag != "VariableRef"), None)
            if vguid not in var_kind or value_el is None:
                continue
            try:
                values.append((vguid, _value(var_kind[vguid], value_el)))
            except (ValueError, InvalidOperation):
                plan.left_out.append(
                    (
                        _("A value of case “%(case)s”") % {"case": c.get("name")},
                        _("it does not fit its variable's type"),
                    )
                )
        if _kids(c, "SelectionRef") or _kids(c, "CodeRef"):
            plan.left_out.append(
                (
                    _("Case “%(case)s”: codes and selections") % {"case": c.get("name")},
                    _("a case here holds whole transcripts only"),
                )
            )
        plan.cases.append(
            RCase(
                guid=guid,
                name=(c.get("name") or guid[:8]).strip()[:200],
                description=main,
                fields=fields,
                values=values,
                sources=_refs(c, "SourceRef"),
            )
        )

    notes_el = _kid(root, "Notes")
    for n in _kids(notes_el, "Note") if notes_el is not None else []:
        guid = norm_guid(n.get("guid"))
        text = _plain_text(n, zf, members, plan, n.get("name") or _("a note"))
        if not guid or text is None:
            continue
        if not text.strip():
            plan.left_out.append(
                (_("Note “%(name)s”") % {"name": n.get("name") or guid[:8]}, _("it is empty"))
            )
            continue
        _main, f = unfold(_desc(n), {"case"})
        plan.notes.append(
            RNote(
                guid=guid,
                title=(n.get("name") or "").strip()[:200],
                text=text.strip(),
                user=norm_guid(n.get("creatingUser")),
                created_at=parse_datetime(n.get("creationDateTime")),
                modified_at=parse_datetime(n.get("modifiedDateTime")),
                case_name=f.get("case", ""),
            )
        )

    sources_el = _kid(root, "Sources")
    for s in list(sources_el) if sources_el is not None else []:
        sname = s.get("name") or norm_guid(s.get("guid")) or "?"
        if s.tag != "TextSource":
            what = {
                "PictureSource": _("picture"),
                "PDFSource": "PDF",
                "AudioSource": _("audio"),
                "VideoSource": _("video"),
            }.get(s.tag, s.tag)
            plan.left_out.append(
                (
                    _("Source “%(name)s” (%(what)s)") % {"name": sname, "what": what},
                    _("only text sources can be coded here"),
                )
            )
            continue
        src = _read_source(s, sname, zf, members, plan, code_guids)
        if src is not None:
            plan.sources.append(src)

    sets_el = _kid(root, "Sets")
    source_guids = {s.guid for s in plan.sources}
    for st in _kids(sets_el, "Set") if sets_el is not None else []:
        guid = norm_guid(st.get("guid"))
        sname = " ".join((st.get("name") or "").split())[:100]
        members_ = [g for g in _refs(st, "MemberSource") if g in source_guids]
        if _kids(st, "MemberCode") or _kids(st, "MemberNote"):
            plan.left_out.append(
                (
                    _("Set “%(name)s”: codes and notes") % {"name": sname},
                    _("sets here are transcript tags"),
                )
            )
        if guid and sname and members_:
            plan.sets.append((guid, sname, members_))
    for tag, what in (("Links", _("links")), ("Graphs", _("graphs"))):
        el = _kid(root, tag)
        if el is not None and len(el):
            plan.left_out.append(
                (f"{len(el)} {what}", _("this program has no %(what)s") % {"what": what})
            )
    plan.project_notes = _refs(root, "NoteRef")
    return plan


def _resolve(path: str | None, members: dict[str, str]) -> tuple[str | None, bool]:
    """(member name, external) for a REFI path: internal://x lies in sources/ (or Sources/);
    a relative path is tried as it is and under sources/; anything else lies outside the file."""
    if not path:
        return None, False
    p = path.strip().replace("\\", "/")
    if p.lower().startswith("internal://"):
        rel = p[len("internal://") :].lstrip("/")
        candidates = [f"sources/{rel}", rel]
    elif "://" in p or p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        return None, True
    else:
        candidates = [p, f"sources/{p}"]
    for c in candidates:
        if ".." in PurePosixPath(c).parts:
            return None, True
        hit = members.get(c.lower())
        if hit:
            return hit, False
    return None, False


def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _plain_text(el, zf, members, plan: ExchangePlan, label: str) -> str | None:
    """PlainTextContent, else the file at plainTextPath (both allowed when they agree)."""
    content = _kid(el, "PlainTextContent")
    if content is not None and content.text:
        return content.text
    member, external = _resolve(el.get("plainTextPath"), members)
    if member is None or zf is None:
        why = (
            _("its text is a file outside the project file")
            if external
            else _("its plain text is missing")
        )
        plan.left_out.append((label, why))
        return None
    text = _decode(zf.read(member))
    if text is None:
        plan.left_out.append((label, _("its text is not UTF-8 or UTF-16")))
    return text


def _read_source(s, sname, zf, members, plan, code_guids) -> RSource | None:
    guid = norm_guid(s.get("guid"))
    label = _("Source “%(name)s”") % {"name": sname}
    if not guid:
        plan.left_out.append((label, _("it has no valid GUID")))
        return None
    raw = _plain_text(s, zf, members, plan, label)
    if raw is None:
        return None
    doc = importers.parse_pasted(raw, sname) if raw.strip() else None
    if doc is None:
        plan.left_out.append((label, _("it has no text")))
        return None
    text, _turns = importers.build_text_and_turns(doc, set())
    mapping = OffsetMap(raw, text)
    rich = None
    member, _external = _resolve(s.get("richTextPath"), members)
    if member is not None and zf is not None:
        ext = PurePosixPath(member).suffix.lower()
        if ext in (".docx", ".odt", ".txt", ".rtf"):
            rich = (ext, zf.read(member))
    _main, meta = unfold(_desc(s), SOURCE_KEYS)
    src = RSource(
        guid=guid,
        name=sname.strip()[:300],
        text=text,
        user=norm_guid(s.get("creatingUser")),
        created_at=parse_datetime(s.get("creationDateTime")),
        meta=meta,
        rich=rich,
        notes=_refs(s, "NoteRef"),
    )
    whole = _kids(s, "Coding")
    selections = list(_kids(s, "PlainTextSelection"))
    bad_range = bad_text = unknown_code = blank = 0
    for el in selections + ([None] if whole else []):
        if el is None:  # codings of the whole source: a selection of all of its text
            start, end, sel_el = 0, len(raw), s
            codings_el = whole
        else:
            sel_el, codings_el = el, _kids(el, "Coding")
            try:
                start, end = int(el.get("startPosition")), int(el.get("endPosition"))
            except (TypeError, ValueError):
                bad_range += 1
                continue
        if not (0 <= start < end <= len(raw)):
            bad_range += 1
            continue
        piece = raw[start:end]
        if not piece.strip() or (not piece.isprintable() and not OffsetMap.bare(piece)):
            blank += 1
            continue
        span = mapping.span(start, end)
        if span is None:
            bad_text += 1
            continue
        codings = []
        for c in codings_el:
            code = _refs(c, "CodeRef")
            if not code or code[0] not in code_guids:
                unknown_code += 1
                continue
            codings.append(
                RCoding(
                    guid=norm_guid(c.get("guid")),
                    code=code[0],
                    user=norm_guid(c.get("creatingUser")) or norm_guid(sel_el.get("creatingUser")),
                    created_at=parse_datetime(c.get("creationDateTime")),
                )
            )
        notes = _refs(sel_el, "NoteRef") if el is not None else []
        if not codings and not notes:
            continue
        src.selections.append(
            RSelection(
                guid=norm_guid(sel_el.get("guid")) if el is not None else None,
                start=span[0],
                end=span[1],
                user=norm_guid(sel_el.get("creatingUser")),
                created_at=parse_datetime(sel_el.get("creationDateTime")),
                codings=codings,
                notes=notes,
            )
        )
    if bad_range:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s selections") % {"label": label, "n": bad_range},
                _("their offsets fall outside the text"),
            )
        )
    if bad_text:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s selections") % {"label": label, "n": bad_text},
                _("their text no longer matches after line ends and spaces were normalised"),
            )
        )
    if blank:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s selections") % {"label": label, "n": blank},
                _("they hold only white space"),
            )
        )
    if unknown_code:
        plan.left_out.append(
            (
                _("%(label)s: %(n)s codings") % {"label": label, "n": unknown_code},
                _("their code is not in the codebook"),
            )
        )
    return src


class OffsetMap:
    """Maps code-point offsets in a source's raw text to its stored form.

    The stored form (importers.build_text_and_turns over nlp.normalize_text) differs from the
    raw text only in white space, control characters and NFC composition; the two are walked
    side by side once. A span maps to the stored characters its raw characters became, and is
    refused when its text (white space aside) is not the same afterwards.
    """

    def __init__(self, raw: str, text: str) -> None:
        self.raw, self.text = raw, text
        if raw == text:  # already in the stored form (our own exports): nothing moves
            self.identity = True
            return
        self.identity = False
        keep = [-1] * len(raw)
        i = j = 0
        n, m = len(raw), len(text)
        while i < n:
            c = raw[i]
            if j < m and c == text[j]:
                keep[i] = j
                i += 1
                j += 1
            elif c.isspace() or unicodedata.category(c) in ("Cc", "Cf"):
                i += 1
            elif j < m and text[j].isspace():
                j += 1
            elif j < m and text[j] == "\ufffd" and unicodedata.category(c) == "Cs":
                keep[i] = j
                i += 1
                j += 1
            else:
                for k in (2, 3, 4):
                    if j < m and unicodedata.normalize("NFC", raw[i : i + k]) == text[j]:
                        for d in range(k):
                            keep[i + d] = j
                        i += k
                        j += 1
                        break
                else:
                    break  # the rest cannot be aligned: its spans are refused
        self.keep = keep
        nxt = [-1] * (n + 1)
        for x in range(n - 1, -1, -1):
            nxt[x] = keep[x] if keep[x] >= 0 else nxt[x + 1]
        prv = [-1] * (n + 1)
        for x in range(1, n + 1):
            prv[x] = keep[x - 1] if keep[x - 1] >= 0 else prv[x - 1]
        self.nxt, self.prv = nxt, prv

    @staticmethod
    def bare(s: str) -> str:
        s = unicodedata.normalize("NFC", s)
        return "".join(
            ch for ch in s if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")
        )

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        if self.identity:
            return start, end
        s, e = self.nxt[start], self.prv[end]
        if s < 0 or e < 0 or e + 1 <= s:
            return None
        e += 1
        if self.bare(self.raw[start:end]) != self.bare(self.text[s:e]):
            return None
        return s, e
