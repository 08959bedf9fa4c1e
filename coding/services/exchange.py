"""Carry out an ExchangePlan: one transaction, so an import is all or nothing.

A service, not part of coding.exchange (plain functions over files): it writes through the other
services (transcript_create, code_create, excerpts_import, memo_save, member_add); the objects
that have no service of their own (cases, informants, attribute definitions and values) are
created here inside the same transaction. Every object keeps the
GUID it came with (ExchangeGuid), so exporting the import gives the file back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from coding import importers, nlp, services
from coding.exchange.plan import ExchangePlan, informant_names, proposed_speakers
from coding.exchange.read import read_exchange
from coding.language.lemma_index import insert_rows
from coding.models import (
    AttributeDefinition,
    AttributeValue,
    Case,
    CaseKind,
    Code,
    Codebook,
    Coding,
    Excerpt,
    ExchangeGuid,
    Informant,
    Job,
    Level,
    Membership,
    Memo,
    Mode,
    Project,
    Role,
    Transcript,
    field_limit,
    name_key,
)

CODER_NAME_MAX = 150


@dataclass
class ImportResult:
    project: Project
    created: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # REFI name -> account
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project.pk,
            "project_name": self.project.name,
            "created": self.created,
            "users": self.users,
            "left_out": [{"what": w, "why": y} for w, y in self.left_out],
        }


def _unique(
    name: str, taken: set[str], limit: int, key: Callable[[str], str] = str.casefold
) -> str:
    """``name``, or "name (2)", "name (3)" … where the name is taken (compared by ``key``)."""
    name = name[:limit]
    if key(name) not in taken:
        taken.add(key(name))
        return name
    i = 2
    while True:
        suffix = f" ({i})"
        candidate = name[: limit - len(suffix)] + suffix
        if key(candidate) not in taken:
            taken.add(key(candidate))
            return candidate
        i += 1


def _coder_account(name: str) -> User:
    """A new account for a REFI user: it cannot log in until an owner invites it."""
    base = slugify(name).replace("-", "_")[:120] or "coder"
    username, i = base, 1
    while User.objects.filter(username__iexact=username).exists():
        i += 1
        username = f"{base}_{i}"
    user = User(username=username, first_name=name[:CODER_NAME_MAX])
    user.set_unusable_password()
    user.save()
    return user


# Per source GUID: the speaker mapping and the sentences of each turn (``segment_sources``).
Prepared = dict[str, tuple[dict[str, dict[str, Any]], list[list[nlp.SentenceSpan]]]]


def segment_sources(
    plan: ExchangePlan,
    *,
    speakers: dict[str, dict[str, dict[str, Any]]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Prepared:
    """Segment every source into sentences by its speaker mapping (the slow part, outside any
    transaction; ``progress`` from 0 to 100).

    ``speakers``: per source GUID, the speaker mapping chosen in the preview (label ->
    {"kind": "interviewer" | "speaker" | "none"} or {"kind": "informant", "pseudonym":
    folded name}); sources without one get ``proposed_speakers``."""
    progress = progress or (lambda pct: None)
    prepared: Prepared = {}
    names = informant_names(plan)
    chosen = speakers or {}
    n = max(1, len(plan.sources))
    for k, src in enumerate(plan.sources):
        mapping = chosen.get(src.guid) or proposed_speakers(
            src.text, src.name, set(names.get(src.guid, {}))
        )
        doc = importers.parse_pasted(src.text, src.name)
        labels = {label for label, v in mapping.items() if v.get("kind") != "none"}
        text, turns = importers.build_text_and_turns(doc, labels)
        sentences = nlp.split_sentences(text, [(t.content_start, t.end) for t in turns])
        prepared[src.guid] = (mapping, sentences)
        progress(int(100 * (k + 1) / n))
    return prepared


def import_plan(
    plan: ExchangePlan,
    *,
    progress: Callable[[int], None] | None = None,
    speakers: dict[str, dict[str, dict[str, Any]]] | None = None,
    **kwargs: Any,
) -> ImportResult:
    """``segment_sources``, then write everything in one transaction (``write_plan``, whose
    arguments ``kwargs`` are)."""
    progress = progress or (lambda pct: None)
    prepared = segment_sources(
        plan, speakers=speakers, progress=lambda pct: progress(pct * 60 // 100)
    )
    return write_plan(
        plan, prepared=prepared, progress=lambda pct: progress(60 + pct * 40 // 100), **kwargs
    )


def _resolve_speaker(v: dict[str, Any], by_name: dict[str, int]) -> dict[str, Any]:
    """An informant label names its informant's id, or stays an unnamed speaker's turn."""
    if v.get("kind") != "informant":
        return v
    if v.get("pseudonym") in by_name:
        return {"kind": "informant", "informant_id": by_name[v["pseudonym"]]}
    return {"kind": "speaker"}


@transaction.atomic
def write_plan(
    plan: ExchangePlan,
    *,
    actor: User | None,
    project: Project | None = None,
    new_project_name: str = "",
    user_map: dict[str, dict[str, Any]] | None = None,
    merge_codes: bool = True,
    mappable_user_ids: set[int] | None = None,
    prepared: Prepared | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write ``plan`` into ``project`` (or a new project called ``new_project_name``).

    ``user_map``: REFI user GUID -> {"mode": "existing", "user_id": id} (a member of the
    project, or ``actor``), {"mode": "coder"} (a new researcher account that cannot log in
    until an owner invites it; the default) or {"mode": "name"} (the same account, but not a
    member: the coder's name on the codings only). ``mappable_user_ids`` widens who may be
    chosen (the members of the project the import was started from, when it makes a new one).
    ``merge_codes``: a code whose name the codebook has already is that code; otherwise both
    are kept, the imported one renamed "name (2)".
    """
    progress = progress or (lambda pct: None)
    user_map = user_map or {}
    if project is None:
        project = Project.objects.create(
            name=(new_project_name or plan.name or plan.file_name)[:200],
            description=plan.description,
        )
        Codebook.objects.create(project=project, name=_("Codebook"))
        if actor is not None:
            Membership.objects.create(project=project, user=actor, role=Role.OWNER)
    else:
        # One import into a project at a time: _save_guids checks the GUIDs it holds.
        list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk"))
    result = ImportResult(project=project, left_out=list(plan.left_out))
    created = result.created
    guid_rows: list[tuple[str, int, str]] = []  # (kind, object id, GUID): _save_guids

    def remember(kind: str, object_id: int, guid: str | None) -> None:
        if guid:
            guid_rows.append((kind, object_id, guid))

    # Users.
    members = set(project.memberships.values_list("user_id", flat=True))
    users: dict[str, User] = {}
    for guid, name in plan.users.items():
        choice = user_map.get(guid, {"mode": "coder"})
        if choice.get("mode") == "existing":
            uid = int(choice["user_id"])
            allowed = members | (mappable_user_ids or set()) | ({actor.pk} if actor else set())
            if uid not in allowed:
                raise ValidationError(
                    _("%(name)s can only be mapped to a member of the project.") % {"name": name},
                    code="map_member",
                )
            users[guid] = User.objects.get(pk=uid)
            result.users[name] = users[guid].get_username()
        else:
            users[guid] = _coder_account(name)
            result.users[name] = users[guid].get_username()
            created["accounts"] = created.get("accounts", 0) + 1
        # "name": the coder's name on the codings only; not a member, so never invited.
        if users[guid].pk not in members and choice.get("mode") != "name":
            services.member_add(
                project=project, actor=actor, user=users[guid], role=Role.RESEARCHER
            )
            members.add(users[guid].pk)
        remember("user", users[guid].pk, guid)
    fallback = actor

    def user_of(guid: str | None) -> User:
        nonlocal fallback
        if guid and guid in users:
            return users[guid]
        if fallback is None:
            fallback = _coder_account(_("Unknown coder"))
            services.member_add(project=project, actor=None, user=fallback, role=Role.RESEARCHER)
        return fallback

    # The codebook.
    codebook = project.codebook
    existing_codes = {c.name_key: c for c in Code.objects.filter(codebook=codebook)}
    taken = set(existing_codes)
    codes: dict[str, Code] = {}
    new: dict[str, int] = {}  # REFI GUID -> index in wanted: the codes made below
    wanted: list[services.NewCode] = []
    for rcode in plan.codes:
        if merge_codes and name_key(rcode.name) in existing_codes:
            codes[rcode.guid] = existing_codes[name_key(rcode.name)]
            continue
        f = rcode.fields
        parent = rcode.parent or ""
        new[rcode.guid] = len(wanted)
        wanted.append(
            services.NewCode(
                name=_unique(rcode.name, taken, services.CODE_NAME_MAX, key=name_key),
                color=rcode.color,
                # A code's parent comes before it (a parent met later leaves it at the top).
                parent=new[parent] if parent in new else codes.get(parent),
                short_name=f.get("short_name", "")[: field_limit(Code, "short_name")],
                definition=rcode.definition,
                inclusion=f.get("inclusion", ""),
                exclusion=f.get("exclusion", ""),
                example=f.get("example", ""),
                keywords=f.get("keywords", ""),
            )
        )
    made_codes = services.codes_create(codebook=codebook, actor=actor, codes=wanted)
    for guid, i in new.items():
        codes[guid] = made_codes[i]
        remember("code", made_codes[i].pk, guid)
    created["codes"] = sum(1 for r in guid_rows if r[0] == "code")
    progress(5)

    # Variables.
    defs: dict[str, AttributeDefinition] = {}
    have = {(d.target, d.name.casefold()): d for d in project.attributes.all()}
    for order, v in enumerate(plan.variables):
        d = have.get((v.target, v.name.casefold()))
        if d is None or d.kind != v.kind:
            taken_names = {n for t, n in have if t == v.target}
            d = AttributeDefinition.objects.create(
                project=project,
                target=v.target,
                name=_unique(v.name, taken_names, 100),
                kind=v.kind,
                order=order,
            )
            have[(v.target, d.name.casefold())] = d
            remember("variable", d.pk, v.guid)
            created["variables"] = created.get("variables", 0) + 1
        defs[v.guid] = d

    def set_values(
        owner_field: str, owner: Case | Informant, values: list[tuple[str, object]]
    ) -> None:
        for vguid, value in values:
            d = defs.get(vguid)
            if d is None:
                continue
            if (
                owner_field == "informant"
                and d.target != "informant"
                or (owner_field == "case" and d.target != "case")
            ):
                continue
            owner_kw: dict[str, Any] = {owner_field: owner}
            AttributeValue.objects.update_or_create(
                definition=d, **owner_kw, defaults={f"value_{d.kind}": value}
            )

    # Cases: REFI cases, and informants (cases marked "Informant of:").
    # Looked up by a plan case's "informant of", which may be None.
    cases_by_name: dict[str | None, Case] = {c.name: c for c in project.cases.all()}
    order0 = len(cases_by_name)
    source_case: dict[str, Case] = {}
    case_of_guid: dict[str, Case] = {}
    for rc in [c for c in plan.cases if not c.informant_of]:
        case = cases_by_name.get(rc.name)
        if case is None:
            kind = rc.fields.get("kind", "")
            case = Case.objects.create(
                project=project,
                name=rc.name,
                kind=kind if kind in CaseKind.values else CaseKind.CASE_STUDY,
                description=rc.description,
                order=order0,
            )
            order0 += 1
            cases_by_name[case.name] = case
            remember("case", case.pk, rc.guid)
            created["cases"] = created.get("cases", 0) + 1
        set_values("case", case, rc.values)
        case_of_guid[rc.guid] = case
        for sg in rc.sources:
            if sg in source_case and source_case[sg] != case:
                result.left_out.append(
                    (
                        _("Source in case “%(case)s”") % {"case": case.name},
                        _("a transcript belongs to one case here; it stays in “%(first)s”")
                        % {"first": source_case[sg].name},
                    )
                )
                continue
            source_case.setdefault(sg, case)
    plan_sources = {s.guid for s in plan.sources}
    orphans = [s for s in plan.sources if s.guid not in source_case]
    if orphans:
        name = _("Without case (imported)")
        case = cases_by_name.get(name)
        if case is None:
            case = Case.objects.create(
                project=project, name=name, kind=CaseKind.CASE_STUDY, order=order0
            )
            cases_by_name[name] = case
            created["cases"] = created.get("cases", 0) + 1
        for s in orphans:
            source_case[s.guid] = case
    informants_of: dict[str, list[Informant]] = {}
    for rc in [c for c in plan.cases if c.informant_of]:
        case = cases_by_name.get(rc.informant_of)
        if case is None:
            case = next((source_case[g] for g in rc.sources if g in source_case), None)
        if case is None:
            result.left_out.append(
                (_("Informant “%(name)s”") % {"name": rc.name}, _("its case is not in the file"))
            )
            continue
        level = rc.fields.get("level", "")
        informant, made = Informant.objects.get_or_create(
            case=case,
            pseudonym=rc.name[:100],
            defaults={
                "role_title": rc.fields.get("role_title", "")[:200],
                "level": level if level in Level.values else Level.OPERATIVE,
                "org_unit": rc.fields.get("org_unit", "")[:200],
            },
        )
        if made:
            remember("informant", informant.pk, rc.guid)
            created["informants"] = created.get("informants", 0) + 1
        set_values("informant", informant, rc.values)
        for sg in rc.sources:
            if sg in plan_sources and source_case.get(sg) == case:
                informants_of.setdefault(sg, []).append(informant)
    tags_of: dict[str, list[str]] = {}
    for _guid, set_name, members_ in plan.sets:
        for sg in members_:
            tags_of.setdefault(sg, []).append(set_name)
    progress(10)

    # Sources, their passages and codings.
    excerpt_of: dict[str, int] = {}  # selection GUID -> excerpt id
    transcript_of: dict[str, Transcript] = {}
    saved_files: list[str] = []
    n_sources = max(1, len(plan.sources))
    try:
        for k, src in enumerate(plan.sources):
            case = source_case[src.guid]
            infs = informants_of.get(src.guid, [])
            original = None
            if src.rich is not None:
                ext, data = src.rich
                path = default_storage.save(
                    f"originals/{timezone.now():%Y/%m}/{src.guid}{ext}", ContentFile(data)
                )
                saved_files.append(path)
                original = default_storage.open(path)
                original.name = path
            date = None
            try:
                if src.meta.get("interview_date"):
                    date = dt.date.fromisoformat(src.meta["interview_date"])
            except ValueError:
                date = None
            mode = src.meta.get("mode", "")
            by_name = {i.pseudonym.casefold(): i.pk for i in infs}
            speakers, sentences = (prepared or {}).get(src.guid) or (
                proposed_speakers(src.text, src.name, set(by_name)),
                None,
            )
            speakers = {label: _resolve_speaker(v, by_name) for label, v in speakers.items()}
            transcript = services.transcript_create(
                case=case,
                doc=importers.parse_pasted(src.text, src.name),
                title=src.name,
                speakers=speakers,
                sentences=sentences,
                user=user_of(src.user),
                interview_date=date,
                mode=mode if mode in Mode.values else "",
                interviewers=src.meta.get("interviewers", "")[:300],
                informant_ids=[i.pk for i in infs],
                tags=tags_of.get(src.guid, []),
                original=original,
                original_name=f"{src.name}{src.rich[0]}" if src.rich else "",
            )
            if original is not None:
                original.close()
            if transcript.text != src.text:  # the one rule for the stored text changed
                raise ValidationError(
                    _("%(file)s: the text of “%(name)s” changed on import.")
                    % {"file": plan.file_name, "name": src.name},
                    code="text_changed",
                )
            fields: dict[str, Any] = {}
            if src.meta.get("language"):
                fields["language"] = src.meta["language"][:10]
            if src.created_at:
                fields["created_at"] = src.created_at
            if fields:
                Transcript.objects.filter(pk=transcript.pk).update(**fields)
            transcript_of[src.guid] = transcript
            remember("source", transcript.pk, src.guid)
            by_span = services.excerpts_import(
                transcript=transcript,
                spans=[
                    services.ImportedSpan(
                        start=sel.start,
                        end=sel.end,
                        created_by=user_of(
                            sel.user or (sel.codings[0].user if sel.codings else None)
                        ),
                        created_at=sel.created_at,
                        codings=tuple(
                            (codes[c.code], user_of(c.user), c.created_at) for c in sel.codings
                        ),
                    )
                    for sel in src.selections
                ],
                actor=actor,
            )
            seen_spans: set[tuple[int, int]] = set()
            for sel in src.selections:
                x = by_span[(sel.start, sel.end)]
                if sel.guid:
                    excerpt_of[sel.guid] = x
                if (sel.start, sel.end) not in seen_spans:
                    seen_spans.add((sel.start, sel.end))
                    remember("selection", x, sel.guid)
            codings = {
                (x, code, coder): pk
                # By excerpt id (by_span holds every excerpt of the transcript): the join on
                # the transcript is planned badly on PostgreSQL while the import's rows are new.
                for pk, x, code, coder in Coding.objects.filter(
                    content_object_id__in=sorted(set(by_span.values()))
                ).values_list("pk", "content_object_id", "tag_id", "coder_id")
            }
            for sel in src.selections:
                x = by_span[(sel.start, sel.end)]
                for c in sel.codings:
                    pk = codings.get((x, codes[c.code].pk, user_of(c.user).pk))
                    if pk is not None:
                        remember("coding", pk, c.guid)
            created["sources"] = created.get("sources", 0) + 1
            created["codings"] = created.get("codings", 0) + len(codings)
            progress(10 + int(85 * (k + 1) / n_sources))

        # Notes, attached to what refers to them.
        target: dict[str, dict[str, Any]] = {}
        noted = Excerpt.objects.in_bulk(
            {
                excerpt_of[sel.guid]
                for src in plan.sources
                for sel in src.selections
                if sel.notes and sel.guid in excerpt_of
            }
        )
        for src in plan.sources:
            for sel in src.selections:
                for g in sel.notes:
                    if sel.guid in excerpt_of:
                        target.setdefault(g, {"excerpt": noted[excerpt_of[sel.guid]]})
            for g in src.notes:
                target.setdefault(g, {"transcript": transcript_of[src.guid]})
        for rcode in plan.codes:
            for g in rcode.notes:
                target.setdefault(g, {"code": codes[rcode.guid]})
        for rn in plan.notes:
            if rn.guid not in target and rn.case_name in cases_by_name:
                target[rn.guid] = {"case": cases_by_name[rn.case_name]}
        for rn in plan.notes:
            if len(rn.text) > settings.MEMO_MAX_CHARS:
                result.left_out.append(
                    (
                        _("Note “%(name)s”") % {"name": rn.title or rn.guid[:8]},
                        _("it is longer than a memo may be"),
                    )
                )
                continue
            memo = services.memo_save(
                project=project,
                author=user_of(rn.user),
                text=rn.text,
                title=rn.title,
                **target.get(rn.guid, {}),
            )
            stamps = {}
            if rn.created_at:
                stamps["created_at"] = rn.created_at
            if rn.modified_at:
                stamps["updated_at"] = rn.modified_at
            if stamps:
                Memo.objects.filter(pk=memo.pk).update(**stamps)
            remember("note", memo.pk, rn.guid)
            created["notes"] = created.get("notes", 0) + 1
        from taggit.models import Tag

        for set_guid, set_name, _m in plan.sets:
            tag = Tag.objects.filter(name=set_name).first()
            if tag is not None:
                remember("tag", tag.pk, set_guid)
        _save_guids(project, guid_rows)
    except BaseException:
        for path in saved_files:  # the rows are rolled back; the files go too
            default_storage.delete(path)
        raise
    progress(100)
    return result


def _save_guids(project: Project, rows: list[tuple[str, int, str]]) -> None:
    """Keep each object's REFI GUID (``ExchangeGuid``), as plain rows (``insert_rows``): an
    imported project has one for every selection and coding. A GUID or object the project
    holds already for its kind, or met earlier in ``rows``, keeps its first row (what
    ``ignore_conflicts`` did, which COPY cannot); ``write_plan`` holds the project row, so no
    other import adds one meanwhile."""
    # GUIDs as norm_guid gives them (lower case with hyphens, what str(UUID) writes), kept as
    # UUIDField does: native on PostgreSQL, else 32 hex digits.
    native = connection.features.has_native_uuid_field
    seen_guids: set[tuple[str, str]] = set()
    seen_objects: set[tuple[str, int]] = set()
    for kind, object_id, have in ExchangeGuid.objects.filter(project=project).values_list(
        "kind", "object_id", "guid"
    ):
        seen_guids.add((kind, str(have)))
        seen_objects.add((kind, object_id))
    out = []
    for kind, object_id, guid in rows:
        if (kind, guid) in seen_guids or (kind, object_id) in seen_objects:
            continue
        seen_guids.add((kind, guid))
        seen_objects.add((kind, object_id))
        out.append((project.pk, kind, object_id, guid if native else guid.replace("-", "")))
    insert_rows(ExchangeGuid._meta.db_table, ("project_id", "kind", "object_id", "guid"), out)


# The EXCHANGE_IMPORT job's body (tasks.JOB_FUNCTIONS): read the kept upload again and write it,
# all or nothing.
def run_exchange_import_job(job: Job, progress: Callable[[int], None]) -> str:
    with job.input_file.open("rb") as fh:
        plan = read_exchange(fh, job.input_name)
    progress(5)
    p = job.params
    new_name = p.get("new_project_name") or ""
    result = import_plan(
        plan,
        actor=job.created_by,
        project=None if new_name else job.project,
        new_project_name=new_name,
        user_map=p.get("user_map") or {},
        merge_codes=p.get("merge_codes", True),
        speakers=p.get("speakers") or None,
        mappable_user_ids=set(job.project.memberships.values_list("user_id", flat=True)),
        progress=lambda pct: progress(5 + pct * 95 // 100),
    )
    job.params = {**p, "result": result.as_json()}
    Job.objects.filter(pk=job.pk).update(params=job.params)
    c = result.created
    return _(
        "Imported into “%(project)s”: %(sources)s sources, %(codes)s codes, %(codings)s codings, "
        "%(notes)s notes; %(left)s items left out."
    ) % {
        "project": result.project.name,
        "sources": c.get("sources", 0),
        "codes": c.get("codes", 0),
        "codings": c.get("codings", 0),
        "notes": c.get("notes", 0),
        "left": len(result.left_out),
    }
