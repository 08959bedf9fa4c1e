"""The demo study: build the fixture files, load the project, resolve coding anchors.

Codings in fixtures/ are anchored by quoted text (a start phrase, its occurrence, an end phrase),
not by raw offsets, so they survive small edits of a transcript; an anchor that no longer resolves
makes loading fail loudly.
"""

from __future__ import annotations

import json
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction

from coding import services, tasks
from coding.models import (
    AttributeDefinition,
    AttributeTarget,
    AttributeValue,
    Case,
    Code,
    Codebook,
    Informant,
    Job,
    JobStatus,
    Membership,
    Project,
    Role,
    Transcript,
    name_key,
)

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
STUDY = FIXTURES / "demo" / "study.json"
TRANSCRIPTS = FIXTURES / "transcripts"
MANIFEST = TRANSCRIPTS / "manifest.json"
CODINGS = FIXTURES / "codings"

DEMO_USERS = [
    # username, full name, role, coder key in fixtures
    ("eier", "Eva Eier", Role.OWNER, None),
    ("forsker_a", "Kari Koder A", Role.RESEARCHER, "A"),
    ("forsker_b", "Per Koder B", Role.RESEARCHER, "B"),
    ("veileder", "Vera Veileder", Role.SUPERVISOR, None),
]


def password_file() -> Path:
    """Where load_demo keeps the demo passwords it generated (never committed)."""
    return Path(settings.DEMO_PASSWORD_FILE)


class AnchorError(Exception):
    """A coding anchor in fixtures/ does not resolve against its transcript."""


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


# --- building the fixture files from their plain-text sources ---------------------------------


def source_paragraphs(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [line.strip() for line in text.split("\n") if line.strip()]


def _split_label(par: str, labels: list[str]) -> tuple[str, str] | None:
    for label in sorted(labels, key=len, reverse=True):
        if par.startswith(label + ":"):
            return label + ":", par[len(label) + 1 :]
    return None


def write_docx(
    paragraphs: list[str], out: Path, *, labels: list[str], bold: bool, note: str
) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = out.stem
    document.core_properties.comments = note
    document.sections[0].header.paragraphs[0].text = note
    for par in paragraphs:
        p = document.add_paragraph()
        split = _split_label(par, labels) if bold else None
        if split:
            p.add_run(split[0]).bold = True
            p.add_run(split[1])
        else:
            p.add_run(par)
    document.save(str(out))


def write_odt(paragraphs: list[str], out: Path) -> None:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    )
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)


def write_txt(paragraphs: list[str], out: Path, encoding: str | None) -> None:
    text = "\n\n".join(paragraphs) + "\n"
    if encoding == "cp1252-crlf":
        out.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    elif encoding == "utf-8-bom":
        out.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    else:
        out.write_bytes(text.encode("utf-8"))


def build_fixture_files() -> list[Path]:
    """(Re)write fixtures/transcripts/<id>.<format> from source/<id>.txt."""
    manifest = load_manifest()
    written = []
    for entry in manifest["transcripts"]:
        src = TRANSCRIPTS / entry["source"]
        out = TRANSCRIPTS / entry["file"]
        paragraphs = source_paragraphs(src)
        if entry["format"] == "docx":
            write_docx(
                paragraphs,
                out,
                labels=list(entry["speakers"]),
                bold=entry.get("bold_labels", False),
                note=manifest["note"],
            )
        elif entry["format"] == "odt":
            write_odt(paragraphs, out)
        else:
            write_txt(paragraphs, out, entry.get("encoding"))
        written.append(out)
    return written


# --- anchors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedCoding:
    coder: str
    codes: tuple[str, ...]
    start: int
    end: int
    memo: str


def resolve_anchor(text: str, item: dict, where: str) -> tuple[int, int]:
    """[start, end) of a {"start", "end", "occurrence"} anchor in ``text``."""
    start_q = item["start"]
    occurrence = int(item.get("occurrence", 1))
    pos = -1
    for _ in range(occurrence):
        pos = text.find(start_q, pos + 1)
        if pos == -1:
            raise AnchorError(f"{where}: start {start_q!r} (occurrence {occurrence}) not found")
    end_q = item.get("end")
    if not end_q:
        return pos, pos + len(start_q)
    end_pos = text.find(end_q, pos)
    if end_pos == -1:
        raise AnchorError(f"{where}: end {end_q!r} not found after start {start_q!r}")
    return pos, end_pos + len(end_q)


def resolve_codings(text: str, transcript_id: str) -> list[ResolvedCoding]:
    path = CODINGS / f"{transcript_id}.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for n, item in enumerate(data["codings"], start=1):
        s, e = resolve_anchor(text, item, f"{path.name} coding {n}")
        out.append(ResolvedCoding(item["coder"], tuple(item["codes"]), s, e, item.get("memo", "")))
    return out


# --- loading the demo project -----------------------------------------------------------------


def ensure_users(*, new_passwords: bool = False) -> dict[str, tuple[User, str | None]]:
    """Create the demo users; returns username -> (user, new password or None if unchanged).

    ``new_passwords`` gives the demo users that exist already a new password too (how a lost
    ``.demo-passwords`` is recovered: ``load_demo --new-passwords``).
    """
    User = get_user_model()
    out = {}
    for username, full_name, _role, _coder in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(9)
            first, _sp, last = full_name.partition(" ")
            user = User.objects.create_user(
                username, password=password, first_name=first, last_name=last
            )
        elif new_passwords:
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save(update_fields=["password"])
        out[username] = (user, password)
    return out


def read_passwords() -> dict[str, str]:
    """The demo passwords kept in the password file (user name -> password)."""
    stored: dict[str, str] = {}
    if password_file().exists():
        for line in password_file().read_text(encoding="utf-8").splitlines():
            user, _sp, pw = line.partition(" ")
            if user and pw:
                stored[user] = pw
    return stored


def remember_passwords(new: dict[str, str]) -> dict[str, str]:
    """Add ``new`` to the password file, keeping every other user's line; returns them all."""
    stored = read_passwords()
    if not new:
        return stored
    stored.update(new)
    path = password_file()
    path.write_text("".join(f"{u} {pw}\n" for u, pw in stored.items()), encoding="utf-8")
    path.chmod(0o600)
    return stored


def _create_codes(codebook: Codebook, specs: list[dict], parent: Code | None = None) -> None:
    for order, spec in enumerate(specs):
        code = Code.objects.create(
            codebook=codebook,
            parent=parent,
            order=order,
            name=spec["name"],
            short_name=spec.get("short_name", ""),
            color=spec.get("color", "#cccccc"),
            shortcut=spec.get("shortcut", ""),
            definition=spec.get("definition", ""),
            inclusion=spec.get("inclusion", ""),
            exclusion=spec.get("exclusion", ""),
            example=spec.get("example", ""),
            keywords="\n".join(spec.get("keywords", [])),
        )
        _create_codes(codebook, spec.get("children", []), code)


@transaction.atomic
def create_study(users: dict) -> Project:
    study = json.loads(STUDY.read_text(encoding="utf-8"))
    project = Project.objects.create(**study["project"])
    for username, _full, role, _coder in DEMO_USERS:
        Membership.objects.create(project=project, user=users[username][0], role=role)
    codebook = Codebook.objects.create(project=project, name=study["codebook"]["name"])
    _create_codes(codebook, study["codebook"]["codes"])
    defs = {}
    for order, a in enumerate(study["case_attributes"]):
        defs[a["name"]] = AttributeDefinition.objects.create(
            project=project,
            target=AttributeTarget.CASE,
            name=a["name"],
            kind=a["kind"],
            order=order,
        )
    for order, c in enumerate(study["cases"]):
        case = Case.objects.create(
            project=project,
            name=c["name"],
            kind=c["kind"],
            description=c.get("description", ""),
            order=order,
        )
        if c.get("tags"):
            case.tags.set(c["tags"])
        for name, value in c.get("attributes", {}).items():
            d = defs[name]
            if value in ("", None):
                continue
            AttributeValue.objects.create(definition=d, case=case, **{f"value_{d.kind}": value})
        for inf in c.get("informants", []):
            Informant.objects.create(case=case, **inf)
    return project


def import_transcript(project: Project, entry: dict[str, Any], user: User, note: str) -> Transcript:
    """Import one fixture file through the normal import path (draft job, then the job body)."""
    case = project.cases.get(name=entry["case"])
    informants = {i.pseudonym: i.pk for i in case.informants.all()}
    path = TRANSCRIPTS / entry["file"]
    with path.open("rb") as fh:
        job = services.import_prepare(
            project=project, case=case, user=user, upload=File(fh, name=path.name), enqueue=False
        )
    tasks.run_job(str(job.pk))  # the parse stage: the file is read once, kept on the job
    job.refresh_from_db()
    if job.status != JobStatus.DRAFT:
        raise RuntimeError(f"{entry['file']}: reading failed: {job.message}")
    speakers: dict[str, dict[str, Any]] = {
        label: {"kind": "interviewer"}
        if who == "interviewer"
        else {"kind": "informant", "informant_id": informants[who]}
        for label, who in entry["speakers"].items()
    }
    job.params = {
        **job.params,
        "metadata": {
            "title": entry["title"],
            "interview_date": entry["date"],
            "mode": entry["mode"],
            "interviewers": entry["interviewers"],
            "informant_ids": [informants[p] for p in entry["informants"]],
            "tags": ["syntetisk", entry["format"]],
        },
        "speakers": speakers,
        "stage": "build",
    }
    job.status = JobStatus.QUEUED
    job.save(update_fields=["params", "status"])
    tasks.run_job(str(job.pk))
    job = Job.objects.get(pk=job.pk)
    if job.status != JobStatus.DONE:
        raise RuntimeError(f"{entry['file']}: import failed: {job.message}")
    transcript = job.transcript
    if transcript is None:
        raise RuntimeError(f"{entry['file']}: the import made no transcript")
    services.memo_save(
        project=project, author=user, transcript=transcript, text=note, title="Syntetisk intervju"
    )
    return transcript


def apply_codings(project: Project, transcript: Transcript, entry: dict, coders: dict) -> int:
    codes = {c.name_key: c for c in Code.objects.filter(codebook__project=project)}
    starts = transcript.paragraph_starts()
    n = 0
    for rc in resolve_codings(transcript.text, entry["id"]):
        missing = [name for name in rc.codes if name_key(name) not in codes]
        if missing:
            raise AnchorError(f"{entry['id']}: unknown code(s) {missing}")
        coder = coders[rc.coder]
        excerpt, created = services.excerpt_code(
            transcript=transcript,
            start=rc.start,
            end=rc.end,
            codes=[codes[name_key(name)] for name in rc.codes],
            coder=coder,
            source="import",
            paragraph_starts=starts,
        )
        n += len(created)
        if rc.memo:
            services.memo_save(project=project, author=coder, excerpt=excerpt, text=rc.memo)
    return n
