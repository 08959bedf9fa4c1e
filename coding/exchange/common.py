"""What export and import share: namespaces, GUIDs, and how Description folds our fields."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import uuid

from django.utils import timezone

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PROJECT_SCHEMA = "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
CODEBOOK_SCHEMA = "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd"
ORIGIN = "Kasuskoding"

# Derived GUIDs: uuid5 of this namespace and "project/kind/id", so two exports of the same
# project give the same GUIDs. An object that came in by import keeps the GUID it came with
# (models.ExchangeGuid), which makes export -> import -> export give the same file.
GUID_NAMESPACE = uuid.UUID("6f1c8f8e-4f7a-5a43-9d1e-3b0c2a7d5e10")

GUID_RE = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)


_NS_BYTES = GUID_NAMESPACE.bytes


def derived_guid(project_id: int, kind: str, object_id: int) -> str:
    """``str(uuid.uuid5(GUID_NAMESPACE, "project/kind/id"))``, computed directly: an export
    derives one per selection and coding, and the uuid module's objects cost more than the hash."""
    # RFC 4122 name-based UUIDs (version 5) are SHA-1 by definition; no secret is involved.
    name = _NS_BYTES + f"{project_id}/{kind}/{object_id}".encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.lru_cache(maxsize=4096)  # a file names its users and codes on every coding
def norm_guid(raw: str | None) -> str | None:
    """A GUID as we compare it: no braces, lower case (writers use both cases and braces)."""
    m = GUID_RE.match((raw or "").strip())
    return m.group(1).lower() if m else None


_UTC_OFFSET = dt.timedelta(0)


def xml_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset() != _UTC_OFFSET:
        value = value.astimezone(dt.UTC)
    # isoformat is C code; an export formats one per selection and coding.
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_datetime(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


# --- Description folding ---------------------------------------------------------------------
# REFI has one Description per object. Fields it has no element for are folded into it as
# sections: the main text first, then for each non-empty field a blank line, a header line
# ("When to use:") and the text. Import unfolds the same headers (and the Norwegian ones), so
# another program shows readable text and our own files come back field by field.

SECTIONS = {
    # key: (header we write, other headers we read)
    "inclusion": ("When to use:", ("Brukes når:",)),
    "exclusion": ("When not to use:", ("Brukes ikke når:",)),
    "example": ("Example:", ("Eksempel:",)),
    "short_name": ("Short name:", ("Kortnavn:",)),
    "keywords": ("Keywords:", ("Nøkkelord:",)),
    "kind": ("Kind:", ("Type:",)),
    "informant_of": ("Informant of:", ("Informant i:",)),
    "role_title": ("Role:", ("Rolle:",)),
    "level": ("Level:", ("Nivå:",)),
    "org_unit": ("Unit:", ("Enhet:",)),
    "interview_date": ("Interview date:", ("Intervjudato:",)),
    "mode": ("Mode:", ("Form:",)),
    "interviewers": ("Interviewers:", ("Intervjuere:",)),
    "language": ("Language:", ("Språk:",)),
    "applies_to": ("Applies to:", ("Gjelder:",)),
    "case": ("Case:", ("Kasus:",)),
}
_HEADERS = {h.casefold(): key for key, (main, other) in SECTIONS.items() for h in (main, *other)}


def fold(main: str, fields: list[tuple[str, str]]) -> str:
    """``main`` followed by a section per non-empty (key, text) field, in the order given."""
    parts = [main.strip()] if main and main.strip() else []
    for key, text in fields:
        text = (text or "").strip()
        if text:
            parts.append(f"{SECTIONS[key][0]}\n{text}")
    return "\n\n".join(parts)


def unfold(text: str | None, keys: set[str]) -> tuple[str, dict[str, str]]:
    """Split a Description into its main text and the sections of ``keys`` it holds."""
    main: list[str] = []
    out: dict[str, list[str]] = {}
    current: list[str] = main
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        key = _HEADERS.get(line.strip().casefold())
        if key in keys and key not in out:
            current = out.setdefault(key, [])
            continue
        current.append(line)
    return "\n".join(main).strip(), {k: "\n".join(v).strip() for k, v in out.items()}
