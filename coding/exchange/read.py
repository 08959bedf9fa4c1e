"""Check and read a REFI-QDA upload (.qdpx, .qdc, or a bare project.qde) into an ExchangePlan.

Nothing is written here. The plan says what an import would create and what it leaves out and
why; coding.services.exchange carries it out. The same checks as transcript uploads apply
(content sniffing, size and zip-bomb limits through coding.importers, no DOCTYPE or entities,
zip paths never leave the zip), and the reader is lenient where real programs differ from the
schema: ``Sources/`` or ``sources/``, ``internal://`` or relative paths, both ``richTextPath``
and ``plainTextPath``, GUIDs in either case or in braces, no ``xsi:schemaLocation``, UTF-8 with
or without BOM, CRLF line ends (offsets are converted to the stored text, and a selection whose
text does not survive the conversion is left out rather than shifted).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

from coding import importers
from coding.exchange.common import norm_guid, parse_datetime, unfold
from coding.exchange.plan import (
    CASE_KEYS,
    CODE_KEYS,
    DOCUMENT_SUFFIXES,
    KINDS,
    NESTED_ARCHIVE_SUFFIXES,
    ExchangePlan,
    RCase,
    RCode,
    RNote,
    RVariable,
    _fail,
)
from coding.exchange.sources import _desc, _kid, _kids, _plain_text, _read_source, _refs

# --- the container -----------------------------------------------------------------------------


def read_exchange(fh: IO[bytes], name: str) -> ExchangePlan:
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


def _color(raw: str | None) -> str:
    raw = (raw or "").strip().lower()
    if len(raw) == 4 and raw.startswith("#"):
        raw = "#" + "".join(ch * 2 for ch in raw[1:])
    if len(raw) == 7 and raw.startswith("#") and all(c in "0123456789abcdef" for c in raw[1:]):
        return raw
    return ""


def _read_codes(
    plan: ExchangePlan, codes_el: etree._Element, parent: str | None, seen: set[str]
) -> None:
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


def _read_codebook(root: etree._Element, name: str) -> ExchangePlan:
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


def _value(kind: str, el: etree._Element) -> object:
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


def _read_project(
    root: etree._Element, name: str, zf: zipfile.ZipFile | None, members: dict[str, str]
) -> ExchangePlan:
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
