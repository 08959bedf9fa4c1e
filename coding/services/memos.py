"""Memos, memo types and memo links."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding.models import (
    AuditAction,
    Case,
    Code,
    Excerpt,
    Memo,
    MemoLink,
    MemoType,
    Project,
    Transcript,
    field_limit,
)
from coding.services.audit import audit


@transaction.atomic
def memo_save(
    *,
    project: Project,
    author: User,
    text: str,
    title: str | None = None,
    memo: Memo | None = None,
    excerpt: Excerpt | None = None,
    transcript: Transcript | None = None,
    case: Case | None = None,
    code: Code | None = None,
) -> Memo:
    """Create a memo, or update ``memo``'s text (and its title, when ``title`` is given: an
    empty one clears it; ``None`` keeps it, as the inspector, which edits text only, does).
    Targets must belong to ``project``."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("A memo needs some text."), code="memo_empty")
    if "\x00" in text or "\x00" in (title or ""):
        # Every path, JSON ones included: PostgreSQL refuses NUL in text, SQLite would keep it.
        raise ValidationError(_("Null characters are not allowed."), code="null_characters")
    if len(text) > settings.MEMO_MAX_CHARS:
        raise ValidationError(
            _("A memo may hold at most %(n)s characters."),
            code="memo_too_long",
            params={"n": settings.MEMO_MAX_CHARS},
        )
    owners = {
        excerpt.transcript.case.project_id if excerpt else None,
        transcript.case.project_id if transcript else None,
        case.project_id if case else None,
        code.codebook.project_id if code else None,
    } - {None}
    if owners - {project.pk}:
        raise ValidationError(
            _("The memo's target belongs to another project."), code="memo_foreign"
        )
    now = timezone.now()
    if memo is None:
        memo = Memo.objects.create(
            project=project,
            author=author,
            text=text,
            title=(title or "")[:200],
            excerpt=excerpt,
            transcript=transcript,
            case=case,
            code=code,
            created_at=now,
            updated_at=now,
        )
    else:
        memo.text = text
        if title is not None:
            memo.title = title[:200]
        memo.updated_at = now
        memo.save(update_fields=["text", "title", "updated_at"])
    audit(
        project_id=project.pk,
        actor=author,
        action=AuditAction.MEMO_SAVE,
        transcript_id=(excerpt.transcript_id if excerpt else transcript.pk if transcript else None),
        memo=memo.pk,
        length=len(text),
    )
    return memo


MEMO_TYPE_MAX = 30


@transaction.atomic
def memo_types_set(*, project: Project, names: Iterable[str]) -> list[MemoType]:
    """Make the project's memo types the list ``names`` (in that order). A type kept by name
    keeps its memos; a type left out is deleted and its memos lose their label."""
    wanted: list[str] = []
    name_max = field_limit(MemoType, "name")
    for raw in names:
        name = " ".join(raw.split())[:name_max]
        if name and name.casefold() not in {w.casefold() for w in wanted}:
            wanted.append(name)
    if len(wanted) > MEMO_TYPE_MAX:
        raise ValidationError(
            _("A project may have at most %(n)s memo types."),
            code="memo_types_many",
            params={"n": MEMO_TYPE_MAX},
        )
    existing = {
        t.name.casefold(): t for t in MemoType.objects.select_for_update().filter(project=project)
    }
    kept: list[MemoType] = []
    for order, name in enumerate(wanted):
        t = existing.pop(name.casefold(), None)
        if t is None:
            t = MemoType.objects.create(project=project, name=name, order=order)
        elif (t.name, t.order) != (name, order):
            t.name, t.order = name, order
            t.save(update_fields=["name", "order"])
        kept.append(t)
    MemoType.objects.filter(pk__in=[t.pk for t in existing.values()]).delete()
    return kept


@transaction.atomic
def memo_type_assign(*, memo: Memo, memo_type: MemoType | None) -> Memo:
    """Label ``memo`` with one of its project's memo types, or with none (the caller checked
    that the actor may label it)."""
    if memo_type is not None and memo_type.project_id != memo.project_id:
        raise ValidationError(
            _("A memo takes only the memo types of its project."), code="memo_type_foreign"
        )
    if memo.memo_type_id != (memo_type.pk if memo_type else None):
        memo.memo_type = memo_type
        memo.save(update_fields=["memo_type"])
    return memo


@transaction.atomic
def memo_link_set(
    *,
    memo: Memo,
    actor: User,
    code: Code | None = None,
    case: Case | None = None,
    excerpt: Excerpt | None = None,
    linked: bool = True,
) -> bool:
    """Add (or remove) one "see also" link from ``memo`` to a code, a case or a passage of its
    project (the caller checked that ``actor`` may), audited when it changes anything. Returns
    whether the link is there afterwards. A memo does not link to its own passage, case or code.
    """
    targets = [t for t in (code, case, excerpt) if t is not None]
    if len(targets) != 1:
        raise ValueError("a memo link points to exactly one code, case or passage")
    project_id = (
        code.codebook.project_id
        if code is not None
        else case.project_id
        if case is not None
        else cast(Excerpt, excerpt).transcript.case.project_id  # the one target, checked above
    )
    if project_id != memo.project_id:
        raise ValidationError(
            _("A memo links only to codes, cases and passages of its project."),
            code="memo_link_foreign",
        )
    where: dict[str, Any] = {"code": code, "case": case, "excerpt": excerpt}
    where = {k: v for k, v in where.items() if v is not None}
    kind, target = next(iter(where.items()))
    if linked and getattr(memo, f"{kind}_id") == target.pk:
        raise ValidationError(
            _("A memo is already on this %(target)s; link it elsewhere.")
            % {"target": _link_target_word(kind)},
            code="memo_link_self",
        )
    if linked:
        _link, changed = MemoLink.objects.get_or_create(memo=memo, **where)
    else:
        changed = MemoLink.objects.filter(memo=memo, **where).delete()[0] > 0
    if changed:
        transcript_id = excerpt.transcript_id if excerpt is not None else None
        audit(
            project_id=memo.project_id,
            actor=actor,
            action=AuditAction.MEMO_LINK_ADD if linked else AuditAction.MEMO_LINK_REMOVE,
            transcript_id=transcript_id,
            memo=memo.pk,
            **{kind: target.pk},
        )
    return linked


def _link_target_word(kind: str) -> str:
    return {"code": _("code"), "case": _("case"), "excerpt": _("passage")}[kind]


@transaction.atomic
def memo_delete(*, memo: Memo, actor: User) -> None:
    """Delete a memo (the caller checked that ``actor`` may)."""
    transcript_id = memo.excerpt.transcript_id if memo.excerpt is not None else memo.transcript_id
    audit(
        project_id=memo.project_id,
        actor=actor,
        action=AuditAction.MEMO_DELETE,
        transcript_id=transcript_id,
        memo=memo.pk,
        excerpt=memo.excerpt_id,
    )
    memo.delete()
