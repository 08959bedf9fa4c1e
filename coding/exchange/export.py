"""Write a project as a REFI-QDA project (.qdpx) or its codebook as a REFI-QDA codebook (.qdc).

Offsets are code points from 0 into the plain text, which is the transcript's stored text as it
is (sources/<guid>.txt, UTF-8 without BOM). Everything is sorted by a key that survives a round
trip (codebook order, case order, spans, GUIDs), never by database id.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _
from lxml import etree
from taggit.models import TaggedItem

from coding.exchange.common import (
    CODEBOOK_NS,
    CODEBOOK_SCHEMA,
    ORIGIN,
    PROJECT_NS,
    PROJECT_SCHEMA,
    XSI_NS,
    derived_guid,
    fold,
    xml_datetime,
)
from coding.models import (
    AttributeDefinition,
    AttributeValue,
    Case,
    Code,
    CodeHierarchy,
    Coding,
    CodingLayer,
    Excerpt,
    ExchangeGuid,
    Informant,
    Membership,
    Memo,
    Project,
    Role,
    Transcript,
)
from coding.people import display_name

VARIABLE_TYPES = {
    "text": "Text",
    "integer": "Integer",
    "decimal": "Float",
    "boolean": "Boolean",
    "date": "Date",
}
VALUE_ELEMENTS = {
    "text": "TextValue",
    "integer": "IntegerValue",
    "decimal": "FloatValue",
    "boolean": "BooleanValue",
    "date": "DateValue",
}


# The one user id no account has (ids start at 1): the consensus layer's place among the users.
CONSENSUS_USER = 0


class Guids:
    """GUID of each exported object: the one it was imported with, else a derived one."""

    def __init__(self, project: Project) -> None:
        self.project_id = project.pk
        self.stored = {
            (kind, oid): str(guid)
            for kind, oid, guid in ExchangeGuid.objects.filter(project=project).values_list(
                "kind", "object_id", "guid"
            )
        }

    def __call__(self, kind: str, object_id: int) -> str:
        return self.stored.get((kind, object_id)) or derived_guid(self.project_id, kind, object_id)


@dataclass(frozen=True)
class _ExcerptRow:
    pk: int
    transcript_id: int
    start: int
    end: int
    created_by_id: int | None
    created_at: dt.datetime


@dataclass
class ExportStats:
    users: int = 0
    codes: int = 0
    sources: int = 0
    selections: int = 0
    codings: int = 0
    notes: int = 0
    cases: int = 0
    variables: int = 0
    sets: int = 0


# Characters XML 1.0 cannot hold. Transcript text is stored without them; names, memos and
# definitions typed or imported elsewhere might not be, and lxml refuses them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text) if text else text


def _el(parent: etree._Element, tag: str, ns: str = PROJECT_NS, **attrs: Any) -> etree._Element:
    if attrs.get("name"):
        attrs["name"] = xml_safe(attrs["name"])
    return etree.SubElement(
        parent, f"{{{ns}}}{tag}", {k: v for k, v in attrs.items() if v is not None}
    )


def _text_el(parent: etree._Element, tag: str, text: str, ns: str = PROJECT_NS) -> None:
    if text:
        _el(parent, tag, ns).text = xml_safe(text)


def code_description(code: Code) -> str:
    return fold(
        code.definition,
        [
            ("inclusion", code.inclusion),
            ("exclusion", code.exclusion),
            ("example", code.example),
            ("short_name", code.short_name),
            ("keywords", code.keywords),
        ],
    )


def _codes_tree(
    parent: etree._Element,
    codes: list[Code],
    guids: Guids,
    ns: str,
    note_refs: Mapping[int | None, list[str]] | None = None,
) -> int:
    """Write the code hierarchy under ``parent``; returns how many codes."""
    codes_el = _el(parent, "Codes", ns)
    # The element of each depth on the way down: a code's element goes under its parent's.
    path = [codes_el]
    for c, depth in CodeHierarchy(codes).walk():
        del path[depth + 1 :]
        code_el = _el(
            path[depth],
            "Code",
            ns,
            guid=guids("code", c.pk),
            name=c.name,
            isCodable="true",
            color=c.color.upper(),
        )
        _text_el(code_el, "Description", code_description(c), ns)
        for note in (note_refs or {}).get(c.pk, []):
            _el(code_el, "NoteRef", ns, targetGUID=note)
        path.append(code_el)
    return len(codes)


def _ordered_codes(project: Project) -> list[Code]:
    return list(Code.objects.filter(codebook__project=project).order_by("order", "name", "pk"))


def export_qdc(fh: IO[bytes], project: Project) -> int:
    """Write the project's codebook as a REFI-QDA codebook (.qdc); returns the number of codes."""
    guids = Guids(project)
    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook",
        nsmap={None: CODEBOOK_NS, "xsi": XSI_NS},
        attrib={
            "origin": ORIGIN,
            f"{{{XSI_NS}}}schemaLocation": f"{CODEBOOK_NS} {CODEBOOK_SCHEMA}",
        },
    )
    codes = _ordered_codes(project)
    if not codes:
        from django.core.exceptions import ValidationError

        raise ValidationError(_("The codebook has no codes to export."), code="no_codes")
    n = _codes_tree(root, codes, guids, CODEBOOK_NS)
    fh.write(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
    return n


def _value_text(av: AttributeValue, kind: str) -> str | None:
    v = getattr(av, f"value_{kind}")
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return f"{v.normalize():f}"
    return str(v)


def build_project_xml(
    project: Project, *, viewer: Membership | None = None
) -> tuple[etree._Element, list[tuple[str, str | FieldFile]], ExportStats]:
    """The project.qde tree and the files to put beside it: (path in zip, str text or FieldFile).
    ``viewer``: whose eyes the file is for (blind coding: ``CodingQuerySet.visible_to``)."""
    guids = Guids(project)
    stats = ExportStats()
    files: list[tuple[str, str | FieldFile]] = []
    User = get_user_model()

    transcripts = list(
        Transcript.objects.filter(case__project=project)
        .select_related("case")
        .prefetch_related("informants")
        .order_by("case__order", "case__name", "interview_date", "title", "pk")
    )
    # Plain rows, not models: an export reads every passage and coding of the project.
    excerpts = [
        _ExcerptRow(*row)
        for row in Excerpt.objects.filter(transcript__case__project=project)
        .visible_to(viewer)
        .order_by("transcript_id", "start", "end")
        .values_list("pk", "transcript_id", "start", "end", "created_by_id", "created_at")
    ]
    # REFI-QDA has no coding layers: the consensus is exported as one more user, named so
    # (CONSENSUS_USER), whose codings are the consensus; its decisions are not carried.
    codings = [
        (pk, ex, tag, CONSENSUS_USER if layer == CodingLayer.CONSENSUS else coder, created)
        for pk, ex, tag, coder, created, layer in Coding.objects.filter(
            content_object__transcript__case__project=project
        )
        .visible_to(viewer)
        .values_list("pk", "content_object_id", "tag_id", "coder_id", "created_at", "layer")
    ]
    memos = list(Memo.objects.filter(project=project).visible_to(viewer))
    cases = list(Case.objects.filter(project=project).order_by("order", "name", "pk"))
    informants = list(
        Informant.objects.filter(case__project=project)
        .select_related("case")
        .order_by("case__order", "case__name", "pseudonym", "pk")
    )
    definitions = list(AttributeDefinition.objects.filter(project=project))
    values = list(AttributeValue.objects.filter(definition__project=project))
    codes = _ordered_codes(project)

    # Users: every member and everyone whose name is on something exported.
    user_ids = set(project.memberships.values_list("user_id", flat=True))
    user_ids |= {c[3] for c in codings}
    user_ids |= {m.author_id for m in memos}
    user_ids |= {x.created_by_id for x in excerpts if x.created_by_id}
    user_ids |= {t.created_by_id for t in transcripts if t.created_by_id}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    names = {uid: display_name(u) for uid, u in users.items()}
    if any(c[3] == CONSENSUS_USER for c in codings):
        names[CONSENSUS_USER] = str(_("Consensus"))

    # Looked up with possibly empty ids (an excerpt without its maker): None then.
    user_guid: dict[int | None, str] = {uid: guids("user", uid) for uid in names}
    ug = user_guid.get

    owner = project.memberships.filter(role=Role.OWNER).order_by("created_at", "pk").first()
    root = etree.Element(
        f"{{{PROJECT_NS}}}Project",
        nsmap={None: PROJECT_NS, "xsi": XSI_NS},
        attrib={
            "name": xml_safe(project.name),
            "origin": ORIGIN,
            f"{{{XSI_NS}}}schemaLocation": f"{PROJECT_NS} {PROJECT_SCHEMA}",
        },
    )
    if owner is not None:
        root.set("creatingUserGUID", guids("user", owner.user_id))
    root.set("creationDateTime", xml_datetime(project.created_at))

    if names:
        users_el = _el(root, "Users")
        for uid, guid in sorted(((uid, guids("user", uid)) for uid in names), key=lambda x: x[1]):
            _el(users_el, "User", guid=guid, name=names[uid])
        stats.users = len(names)

    # Memos, by what they are about.
    note_guid = {m.pk: guids("note", m.pk) for m in memos}
    notes_on: dict[str, dict[int | None, list[str]]] = defaultdict(lambda: defaultdict(list))
    for m in memos:
        target = (
            ("excerpt", m.excerpt_id)
            if m.excerpt_id
            else ("transcript", m.transcript_id)
            if m.transcript_id
            else ("code", m.code_id)
            if m.code_id
            else ("case", m.case_id)
            if m.case_id
            else ("project", None)
        )
        notes_on[target[0]][target[1]].append(note_guid[m.pk])
    for by in notes_on.values():
        for refs in by.values():
            refs.sort()

    if codes:
        cb = _el(root, "CodeBook")
        stats.codes = _codes_tree(cb, codes, guids, PROJECT_NS, notes_on["code"])

    defs = sorted(definitions, key=lambda d: (d.target, d.order, d.name))
    if defs:
        vars_el = _el(root, "Variables")
        for d in defs:
            v = _el(
                vars_el,
                "Variable",
                guid=guids("variable", d.pk),
                name=d.name,
                typeOfVariable=VARIABLE_TYPES[d.kind],
            )
            _text_el(v, "Description", fold("", [("applies_to", d.target)]))
        stats.variables = len(defs)
    def_by_id = {d.pk: d for d in definitions}
    values_of: dict[tuple[str, int | None], list[AttributeValue]] = defaultdict(list)
    for av in values:
        d = def_by_id[av.definition_id]
        owner_key = ("case", av.case_id) if av.case_id else ("informant", av.informant_id)
        values_of[owner_key].append(av)

    def write_values(el: etree._Element, key: tuple[str, int | None]) -> None:
        for av in sorted(
            values_of.get(key, []),
            key=lambda a: (def_by_id[a.definition_id].order, def_by_id[a.definition_id].name),
        ):
            d = def_by_id[av.definition_id]
            text = _value_text(av, d.kind)
            if text is None:
                continue
            vv = _el(el, "VariableValue")
            _el(vv, "VariableRef", targetGUID=guids("variable", d.pk))
            _el(vv, VALUE_ELEMENTS[d.kind]).text = text

    source_guid = {t.pk: guids("source", t.pk) for t in transcripts}
    by_case: dict[int, list[str]] = defaultdict(list)
    by_informant: dict[int, list[str]] = defaultdict(list)
    for t in transcripts:
        by_case[t.case_id].append(source_guid[t.pk])
        for i in t.informants.all():
            by_informant[i.pk].append(source_guid[t.pk])
    if cases or informants:
        cases_el = _el(root, "Cases")
        for c in cases:
            el = _el(cases_el, "Case", guid=guids("case", c.pk), name=c.name)
            _text_el(el, "Description", fold(c.description, [("kind", c.kind)]))
            write_values(el, ("case", c.pk))
            for g in sorted(by_case.get(c.pk, [])):
                _el(el, "SourceRef", targetGUID=g)
        # Informants are REFI cases too (persons, as NVivo's person cases), marked in their
        # Description with the case they belong to.
        for i in informants:
            el = _el(cases_el, "Case", guid=guids("informant", i.pk), name=i.pseudonym)
            desc = fold(
                "",
                [
                    ("informant_of", i.case.name),
                    ("role_title", i.role_title),
                    ("level", i.level),
                    ("org_unit", i.org_unit),
                ],
            )
            _text_el(el, "Description", desc)
            write_values(el, ("informant", i.pk))
            for g in sorted(by_informant.get(i.pk, [])):
                _el(el, "SourceRef", targetGUID=g)
        stats.cases = len(cases) + len(informants)

    codings_of: dict[int, list[tuple]] = defaultdict(list)
    for pk, ex_id, tag_id, coder_id, created in codings:
        codings_of[ex_id].append((guids("coding", pk), tag_id, coder_id, created))
    excerpts_of: dict[int, list[_ExcerptRow]] = defaultdict(list)
    for x in excerpts:
        excerpts_of[x.transcript_id].append(x)
    if transcripts:
        sources_el = _el(root, "Sources")
        sub = etree.SubElement
        selection_tag, coding_tag, code_ref_tag = (
            f"{{{PROJECT_NS}}}{tag}" for tag in ("PlainTextSelection", "Coding", "CodeRef")
        )
        code_guid = {tag_id: guids("code", tag_id) for _p, _x, tag_id, _c, _t in codings}
        for t in transcripts:
            guid = source_guid[t.pk]
            attrs = {
                "guid": guid,
                "name": t.title,
                "plainTextPath": f"internal://{guid}.txt",
                "creatingUser": ug(t.created_by_id),
                "creationDateTime": xml_datetime(t.created_at),
            }
            if t.original_file and t.original_file.storage.exists(t.original_file.name):
                ext = PurePosixPath(t.original_file.name).suffix.lower() or ".bin"
                # A .txt original must not take the plain text's name.
                stem = f"{guid}.original" if ext == ".txt" else guid
                attrs["richTextPath"] = f"internal://{stem}{ext}"
                files.append((f"sources/{stem}{ext}", t.original_file))
            src = _el(sources_el, "TextSource", PROJECT_NS, **attrs)
            desc = fold(
                "",
                [
                    ("interview_date", t.interview_date.isoformat() if t.interview_date else ""),
                    ("mode", t.mode),
                    ("interviewers", t.interviewers),
                    ("language", t.language if t.language != "nb" else ""),
                ],
            )
            _text_el(src, "Description", desc)
            files.append((f"sources/{guid}.txt", t.text))
            # The project's bulk (a selection per passage, a coding per code and coder):
            # SubElement directly, with the attributes _el would give (no None, no name).
            for x in excerpts_of.get(t.pk, []):
                attrs = {
                    "guid": guids("selection", x.pk),
                    "startPosition": str(x.start),
                    "endPosition": str(x.end),
                }
                if x.created_by_id in user_guid:
                    attrs["creatingUser"] = user_guid[x.created_by_id]
                attrs["creationDateTime"] = xml_datetime(x.created_at)
                sel = sub(src, selection_tag, attrs)
                for cguid, tag_id, coder_id, created in sorted(codings_of.get(x.pk, [])):
                    attrs = {"guid": cguid}
                    if coder_id in user_guid:
                        attrs["creatingUser"] = user_guid[coder_id]
                    attrs["creationDateTime"] = xml_datetime(created)
                    sub(
                        sub(sel, coding_tag, attrs), code_ref_tag, {"targetGUID": code_guid[tag_id]}
                    )
                    stats.codings += 1
                for note in notes_on["excerpt"].get(x.pk, []):
                    _el(sel, "NoteRef", targetGUID=note)
                stats.selections += 1
            for note in notes_on["transcript"].get(t.pk, []):
                _el(src, "NoteRef", targetGUID=note)
        stats.sources = len(transcripts)

    if memos:
        notes_el = _el(root, "Notes")
        case_name: dict[int | None, str] = {c.pk: c.name for c in cases}
        for m in sorted(memos, key=lambda m: note_guid[m.pk]):
            el = _el(
                notes_el,
                "Note",
                guid=note_guid[m.pk],
                name=m.title or None,
                creatingUser=ug(m.author_id),
                creationDateTime=xml_datetime(m.created_at),
                modifiedDateTime=xml_datetime(m.updated_at),
            )
            # A case memo: REFI's Case has no NoteRef, so the case is named in the Description.
            _text_el(el, "Description", fold("", [("case", case_name.get(m.case_id, ""))]))
            _el(el, "PlainTextContent").text = xml_safe(m.text)
        stats.notes = len(memos)

    tag_rows = TaggedItem.objects.filter(
        content_type__app_label="coding",
        content_type__model="transcript",
        object_id__in=list(source_guid),
    ).values_list("tag_id", "tag__name", "object_id")
    sets: dict[int, tuple[str, list[str]]] = {}
    for tag_id, name, oid in tag_rows:
        sets.setdefault(tag_id, (name, []))[1].append(source_guid[oid])
    if sets:
        sets_el = _el(root, "Sets")
        for tag_id, (name, members) in sorted(sets.items(), key=lambda x: x[1][0]):
            s = _el(sets_el, "Set", guid=guids("tag", tag_id), name=name)
            for g in sorted(members):
                _el(s, "MemberSource", targetGUID=g)
        stats.sets = len(sets)

    _text_el(root, "Description", project.description)
    for note in notes_on["project"].get(None, []):
        _el(root, "NoteRef", targetGUID=note)
    return root, files, stats


def export_qdpx(
    fh: IO[bytes], project: Project, *, viewer: Membership | None = None
) -> ExportStats:
    """Write ``project`` as a .qdpx: project.qde and sources/ (plain text, and originals), as
    ``viewer`` may see it (None: everything)."""
    root, files, stats = build_project_xml(project, viewer=viewer)
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "project.qde",
            etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True),
        )
        for path, content in files:
            if isinstance(content, str):
                zf.writestr(path, content.encode("utf-8"))
            else:
                with content.open("rb") as src, zf.open(path, "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
    return stats
