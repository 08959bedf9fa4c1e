"""The codebook: code fields, creating, changing, moving, merging and deleting codes."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils.translation import gettext as _

from coding.models import (
    AuditAction,
    Code,
    Codebook,
    Coding,
    Excerpt,
    KeyQuote,
    Memo,
    MemoLink,
    Project,
    field_limit,
    name_key,
)
from coding.services.audit import audit, audit_many
from coding.services.excerpts import drop_bare_excerpts

log = logging.getLogger(__name__)

CODE_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


CODE_NAME_MAX = field_limit(Code, "name")  # the model field is the one source


# Distinct highlight colours that keep dark text readable; new codes take the first unused one.
CODE_PALETTE = (
    "#f4d03f",
    "#85c1e9",
    "#f1948a",
    "#82e0aa",
    "#d7bde2",
    "#f8c471",
    "#76d7c4",
    "#f5b7b1",
    "#aed6f1",
    "#c39bd3",
    "#a9dfbf",
    "#fad7a0",
)


def next_code_color(codebook_id: int | None, used: Counter[str] | None = None) -> str:
    """The first palette colour no code of the codebook uses yet (cycling when all are used).
    ``used``: the colours' counts, when the caller keeps them (``codes_create``)."""
    if used is None:
        used = codes_colors(codebook_id)
    return min(CODE_PALETTE, key=lambda c: (used[c], CODE_PALETTE.index(c)))


def codes_colors(codebook_id: int | None) -> Counter[str]:
    """How many codes of the codebook use each colour."""
    if not codebook_id:
        return Counter()
    colors = Code.objects.filter(codebook_id=codebook_id).values_list("color", flat=True)
    return Counter(c.lower() for c in colors)


@transaction.atomic
def codebook_ensure(*, project: Project) -> Codebook:
    """The project's codebook, made on first use (the first code added). The project row is
    locked first, so two first codes added at once still make one codebook."""
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk"))
    codebook = Codebook.objects.filter(project=project).order_by("pk").first()
    if codebook is None:
        codebook = Codebook.objects.create(project=project, name=_("Codebook"))
    return codebook


def _lock_codebook(codebook_id: int) -> None:
    """Serialise changes to one codebook's tree (a no-op on SQLite, whose writes are serial)."""
    list(Codebook.objects.select_for_update().filter(pk=codebook_id).values_list("pk"))


def _clean_keywords(raw: str) -> str:
    """One keyword or phrase per line: trimmed, blank lines and repeats dropped."""
    seen: set[str] = set()
    out = []
    for line in (raw or "").splitlines():
        kw = " ".join(line.split())
        if kw and kw.casefold() not in seen:
            seen.add(kw.casefold())
            out.append(kw)
    return "\n".join(out)


def _code_clean(*, codebook_id: int, pk: int | None, fields: dict[str, str]) -> dict[str, str]:
    """Normalise and check code fields; raise one ValidationError keyed by field name."""
    errors: dict[str, ValidationError] = {}
    out = dict(fields)
    others = Code.objects.filter(codebook_id=codebook_id)
    if pk is not None:  # a code being edited does not clash with itself
        others = others.exclude(pk=pk)
    if "name" in out:
        name = " ".join((out["name"] or "").split())
        out["name"] = name
        if not name:
            errors["name"] = ValidationError(_("A code needs a name."), code="code_name_empty")
        elif len(name) > CODE_NAME_MAX:
            errors["name"] = ValidationError(
                _("A code name may hold at most %(n)s characters."),
                code="code_name_long",
                params={"n": CODE_NAME_MAX},
            )
        else:
            clash = others.filter(name_key=name_key(name)).first()
            if clash is not None:
                errors["name"] = ValidationError(
                    _("The codebook already has a code called “%(name)s”."),
                    code="code_name_taken",
                    params={"name": clash.name},
                )
    if "color" in out:
        color = (out["color"] or "").strip().lower()
        out["color"] = color
        if not CODE_COLOR_RE.match(color):
            errors["color"] = ValidationError(
                _("Choose a colour as #rrggbb."), code="code_color_invalid"
            )
    if "shortcut" in out:
        key = (out["shortcut"] or "").strip().lower()
        out["shortcut"] = key
        if key and (len(key) != 1 or not key.isalnum()):
            errors["shortcut"] = ValidationError(
                _("A shortcut is one letter or digit."), code="code_shortcut_invalid"
            )
        elif key:
            clash = others.filter(shortcut=key).first()
            if clash is not None:
                errors["shortcut"] = ValidationError(
                    _("The shortcut “%(key)s” is already used by “%(code)s”."),
                    code="code_shortcut_taken",
                    params={"key": key, "code": clash.name},
                )
    if "short_name" in out:
        out["short_name"] = " ".join((out["short_name"] or "").split())
        if len(out["short_name"]) > 30:
            errors["short_name"] = ValidationError(
                _("A short name may hold at most %(n)s characters."),
                code="code_short_name_long",
                params={"n": 30},
            )
    if "keywords" in out:
        out["keywords"] = _clean_keywords(out["keywords"])
    for field in ("definition", "inclusion", "exclusion", "example"):
        if field in out:
            out[field] = (out[field] or "").strip()
    if errors:
        raise ValidationError(errors)
    return out


def _save_code(code: Code, update_fields: list[str] | None = None) -> None:
    """Save, turning a lost race on a unique constraint into the same error a form shows."""
    try:
        with transaction.atomic():
            code.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise ValidationError(
            _("Another code took this name or shortcut a moment ago. Choose another."),
            code="code_taken",
        ) from exc


@dataclass(frozen=True)
class NewCode:
    """A code for ``codes_create``: its fields, and its parent as a code of the codebook or
    as the index of an earlier ``NewCode`` of the same call."""

    name: str
    color: str = ""
    parent: Code | int | None = None
    short_name: str = ""
    shortcut: str = ""
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""
    keywords: str = ""


@transaction.atomic
def code_create(
    *,
    codebook: Codebook,
    actor: User | None,  # None: the system (a REFI-QDA import from the command line)
    name: str,
    color: str = "",
    parent: Code | None = None,
    short_name: str = "",
    shortcut: str = "",
    definition: str = "",
    inclusion: str = "",
    exclusion: str = "",
    example: str = "",
    keywords: str = "",
) -> Code:
    """Add a code at the end of ``parent``'s children (or of the top level).

    Without ``color`` the code takes the next unused palette colour.
    """
    new = NewCode(
        name=name,
        color=color,
        parent=parent,
        short_name=short_name,
        shortcut=shortcut,
        definition=definition,
        inclusion=inclusion,
        exclusion=exclusion,
        example=example,
        keywords=keywords,
    )
    return codes_create(codebook=codebook, actor=actor, codes=[new])[0]


@transaction.atomic
def codes_create(*, codebook: Codebook, actor: User | None, codes: Sequence[NewCode]) -> list[Code]:
    """Add codes in the given order, each as ``code_create`` describes (the same checks, at
    the end of its parent's children, the next unused colour where it has none, one
    CODE_CREATE event each), with the codebook locked once and the events written together:
    a REFI-QDA import brings a whole codebook. Returns the codes in the same order."""
    _lock_codebook(codebook.pk)
    used = codes_colors(codebook.pk)
    last: dict[int | None, int] = dict(
        Code.objects.filter(codebook=codebook)
        .order_by()
        .values("parent_id")
        .annotate(m=Max("order"))
        .values_list("parent_id", "m")
    )
    made: list[Code] = []
    events: list[dict[str, Any]] = []
    for new in codes:
        parent = made[new.parent] if isinstance(new.parent, int) else new.parent
        if parent is not None and parent.codebook_id != codebook.pk:
            raise ValidationError(
                _("The parent code belongs to another codebook."), code="foreign_code"
            )
        fields = _code_clean(
            codebook_id=codebook.pk,
            pk=None,
            fields={
                "name": new.name,
                "color": new.color or next_code_color(codebook.pk, used),
                "short_name": new.short_name,
                "shortcut": new.shortcut,
                "definition": new.definition,
                "inclusion": new.inclusion,
                "exclusion": new.exclusion,
                "example": new.example,
                "keywords": new.keywords,
            },
        )
        used[fields["color"]] += 1
        where = parent.pk if parent is not None else None
        last[where] = last[where] + 1 if where in last else 0
        code = Code(codebook=codebook, parent=parent, order=last[where], **fields)
        _save_code(code)
        made.append(code)
        events.append(
            {"code": code.pk, "name": code.name, "parent": parent.name if parent else None}
        )
    audit_many(
        project_id=codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_CREATE,
        details=events,
    )
    return made


@transaction.atomic
def code_update(
    *,
    code: Code,
    actor: User,
    name: str | None = None,
    color: str | None = None,
    short_name: str | None = None,
    shortcut: str | None = None,
    definition: str | None = None,
    inclusion: str | None = None,
    exclusion: str | None = None,
    example: str | None = None,
    keywords: str | None = None,
) -> Code:
    """Change the given fields of ``code`` (None leaves a field as it is)."""
    given = {
        "name": name,
        "color": color,
        "short_name": short_name,
        "shortcut": shortcut,
        "definition": definition,
        "inclusion": inclusion,
        "exclusion": exclusion,
        "example": example,
        "keywords": keywords,
    }
    fields = _code_clean(
        codebook_id=code.codebook_id,
        pk=code.pk,
        fields={k: v for k, v in given.items() if v is not None},
    )
    changed = [k for k, v in fields.items() if getattr(code, k) != v]
    if not changed:
        return code
    old_name = code.name
    for k in changed:
        setattr(code, k, fields[k])
    _save_code(code, update_fields=changed)
    details: dict[str, Any] = {"code": code.pk, "name": code.name, "fields": changed}
    if "name" in changed:
        details["old_name"] = old_name
    audit(
        project_id=code.codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_UPDATE,
        **details,
    )
    return code


@transaction.atomic
def code_move(*, code: Code, actor: User, parent: Code | None, position: int | None = None) -> Code:
    """Put ``code`` under ``parent`` (None: top level) at ``position`` among its new siblings.

    ``position`` counts from 0; None or past the end means last. Sub-codes travel with their code.
    A code cannot go under itself or under one of its own sub-codes.
    """
    _lock_codebook(code.codebook_id)
    code.refresh_from_db(fields=["parent", "order"])
    if parent is not None:
        if parent.codebook_id != code.codebook_id:
            raise ValidationError(
                _("The parent code belongs to another codebook."), code="foreign_code"
            )
        if parent.pk == code.pk or parent.pk in code.descendant_ids():
            raise ValidationError(
                _("“%(code)s” cannot go under “%(parent)s”, which lies inside it."),
                code="code_cycle",
                params={"code": code.name, "parent": parent.name},
            )
    old_parent_id = code.parent_id
    siblings = list(
        Code.objects.filter(codebook_id=code.codebook_id, parent=parent)
        .exclude(pk=code.pk)
        .order_by("order", "name")
    )
    before = [c.pk for c in Code.objects.filter(codebook_id=code.codebook_id, parent=parent)]
    pos = len(siblings) if position is None else max(0, min(int(position), len(siblings)))
    siblings.insert(pos, code)
    code.parent = parent
    changed = []
    for i, c in enumerate(siblings):
        if c.order != i or c is code:
            c.order = i
            changed.append(c)
    moved = old_parent_id != code.parent_id or before != [c.pk for c in siblings]
    Code.objects.bulk_update(changed, ["order", "parent"])
    if moved:
        audit(
            project_id=code.codebook.project_id,
            actor=actor,
            action=AuditAction.CODE_UPDATE,
            code=code.pk,
            name=code.name,
            fields=["parent", "order"],
            parent=parent.name if parent else None,
            position=pos,
        )
    return code


@dataclass(frozen=True)
class CodeMergeResult:
    moved: int  # codings that now carry the target code
    collapsed: int  # codings dropped because the coder had the target on that excerpt already
    memos: int  # memos on the source code, now on the target
    children: int  # sub-codes of the source, now under the target
    key_quotes: int = 0  # key quotes of the source, now of the target (duplicates dropped)


MERGE_ATTEMPTS = 3


def _merge_codings(source: Code, target: Code) -> tuple[int, int]:
    """Drop the source codings the target already has (same excerpt, coder and layer), move
    the rest."""
    duplicates = Coding.objects.filter(tag=source).filter(
        Exists(
            Coding.objects.filter(
                tag=target,
                content_object=OuterRef("content_object"),
                coder=OuterRef("coder"),
                layer=OuterRef("layer"),
            )
        )
    )
    collapsed = duplicates.delete()[1].get(Coding._meta.label, 0)
    moved = Coding.objects.filter(tag=source).update(tag=target)
    return collapsed, moved


def _merge_marks(source: Code, target: Code) -> int:
    """Move the source's key quotes and "see also" links to the target. A researcher's key
    quote of a passage for both codes stays one key quote (of the target); a memo linking to
    both codes keeps one link. Returns how many key quotes the target gained."""
    KeyQuote.objects.filter(code=source).filter(
        Exists(
            KeyQuote.objects.filter(code=target, excerpt=OuterRef("excerpt"), user=OuterRef("user"))
        )
    ).delete()
    key_quotes = KeyQuote.objects.filter(code=source).update(code=target)
    MemoLink.objects.filter(code=source).filter(
        Exists(MemoLink.objects.filter(code=target, memo=OuterRef("memo")))
    ).delete()
    MemoLink.objects.filter(code=source).update(code=target)
    return key_quotes


@transaction.atomic
def code_merge(*, source: Code, target: Code, actor: User) -> CodeMergeResult:
    """Merge ``source`` into ``target`` and delete ``source``.

    Its codings move to ``target``; where the same coder already applied ``target`` to the same
    excerpt (in the same layer) the source coding collapses into it. Memos, "see also" links,
    key quotes (one per researcher and passage), sub-codes and keywords move too.

    Concurrency (row locks where the database has them; SQLite runs writers one at a time): the
    codebook row, both code rows and their codings are locked, so merges, moves and deletes in
    the codebook run one after the other and a second merge of the same source finds it gone.
    excerpt_code takes FOR KEY SHARE on the codes it applies (lock_codes_in_use): a coding of
    ``source`` in flight makes us wait and is then moved with the rest; one that starts after we
    hold the lock waits for us and is refused (the foreign key, checked at commit, would refuse
    it too), so nothing points at the deleted code and no coding is silently dropped. A coding of
    ``target`` that another transaction adds meanwhile may make our move hit the unique
    constraint; the move then runs again in a savepoint and collapses into it.
    """
    if source.pk == target.pk:
        raise ValidationError(_("A code cannot be merged into itself."), code="merge_self")
    if source.codebook_id != target.codebook_id:
        raise ValidationError(
            _("The target code belongs to another codebook."), code="foreign_code"
        )
    _lock_codebook(source.codebook_id)
    # FOR UPDATE on the source: a coding of it that commits from now on waits and then fails on
    # its foreign key. FOR NO KEY UPDATE on the target: codings of it still commit (their key
    # check takes KEY SHARE), so we never wait on a coder who waits on us.
    locked_source = Code.objects.select_for_update().filter(pk=source.pk).first()
    locked_target = Code.objects.select_for_update(no_key=True).filter(pk=target.pk).first()
    if locked_source is None or locked_target is None:
        raise ValidationError(
            _("One of the codes was deleted meanwhile. Reload the page."), code="code_gone"
        )
    source, target = locked_source, locked_target
    # Lock the codings as well, so the counts we record are the changes we make.
    list(
        Coding.objects.select_for_update()
        .filter(tag_id__in=[source.pk, target.pk])
        .values_list("pk", flat=True)
    )
    collapsed = moved = 0
    for attempt in range(MERGE_ATTEMPTS):
        try:
            with transaction.atomic():
                collapsed, moved = _merge_codings(source, target)
            break
        except IntegrityError as exc:
            # Someone committed the target on an excerpt we are moving onto: look again.
            log.info("code_merge %s -> %s: retry %s after %s", source.pk, target.pk, attempt, exc)
    else:
        raise ValidationError(
            _("Others are coding with these codes right now. Try the merge again."),
            code="merge_busy",
        )
    memos = Memo.objects.filter(code=source).update(code=target)
    key_quotes = _merge_marks(source, target)
    if target.pk in source.descendant_ids():
        # The target sits inside the source: lift it to the source's place first, so that the
        # source's sub-codes can go under it without a cycle.
        target.parent_id = source.parent_id
        target.order = source.order
        target.save(update_fields=["parent", "order"])
    children = list(Code.objects.filter(parent=source).order_by("order", "name"))
    last = Code.objects.filter(parent=target).aggregate(m=Max("order"))["m"]
    base = 0 if last is None else last + 1
    for i, child in enumerate(children):
        child.parent_id = target.pk
        child.order = base + i
    Code.objects.bulk_update(children, ["parent", "order"])
    keywords = _clean_keywords(f"{target.keywords}\n{source.keywords}")
    if keywords != target.keywords:
        target.keywords = keywords
        target.save(update_fields=["keywords"])
    source_name = source.name
    source.delete()
    result = CodeMergeResult(
        moved=moved,
        collapsed=collapsed,
        memos=memos,
        children=len(children),
        key_quotes=key_quotes,
    )
    audit(
        project_id=target.codebook.project_id,
        actor=actor,
        action=AuditAction.CODE_MERGE,
        source=source_name,
        target=target.name,
        code=target.pk,
        moved=moved,
        collapsed=collapsed,
        memos=memos,
        children=len(children),
        key_quotes=key_quotes,
    )
    return result


@transaction.atomic
def code_delete(*, code: Code, actor: User) -> dict[str, int]:
    """Delete ``code`` with its sub-codes, their codings and memos.

    Excerpts left with no codings and no memos go too (as in coding_remove). Returns the counts
    that ``Code.delete_impact`` promised.
    """
    _lock_codebook(code.codebook_id)
    ids = {code.pk, *code.descendant_ids()}
    list(Code.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
    impact = code.delete_impact()
    # The passages these codes touch that hold no memo: those left with no coding go too.
    touched = list(
        Excerpt.objects.filter(
            Exists(Coding.objects.filter(content_object=OuterRef("pk"), tag_id__in=ids))
        )
        .exclude(Exists(Memo.objects.filter(excerpt=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    name = code.name
    project_id = code.codebook.project_id
    Code.objects.filter(pk__in=ids).delete()
    excerpts = drop_bare_excerpts(touched)
    audit(
        project_id=project_id,
        actor=actor,
        action=AuditAction.CODE_DELETE,
        code=code.pk,
        name=name,
        codings=impact["codings"],
        subcodes=impact["subcodes"],
        memos=impact["memos"],
        excerpts=excerpts,
    )
    return {**impact, "excerpts": excerpts}
