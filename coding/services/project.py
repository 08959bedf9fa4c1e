"""Cases, informants, their attributes, and the framework matrix's summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coding.models import (
    AttributeDefinition,
    AttributeValue,
    AuditAction,
    Case,
    Code,
    FrameworkSummary,
    FrameworkSummaryRevision,
    Informant,
    Project,
)
from coding.services.audit import audit

if TYPE_CHECKING:
    from coding.forms import CaseForm, InformantForm


def _set_attribute_values(
    *, owner_field: str, owner: Case | Informant, values: dict[int, object]
) -> list[str]:
    """Store typed values for one case or informant; None/"" removes the value. Returns the
    names of the attributes whose value changed (for the audit trail)."""
    definitions = {d.pk: d for d in AttributeDefinition.objects.filter(pk__in=values.keys())}
    changed = []
    for def_id, value in values.items():
        d = definitions[def_id]
        lookup: dict[str, Any] = {"definition": d, owner_field: owner}
        if value in (None, ""):
            if AttributeValue.objects.filter(**lookup).delete()[0]:
                changed.append(d.name)
            continue
        old = AttributeValue.objects.filter(**lookup).first()
        if old is not None and getattr(old, f"value_{d.kind}") == value:
            continue
        AttributeValue.objects.update_or_create(**lookup, defaults={f"value_{d.kind}": value})
        changed.append(d.name)
    return changed


@transaction.atomic
def case_save(*, project: Project, form: CaseForm, actor: User) -> Case:
    """Save a CaseForm (fields, tags and typed attribute values) for ``project``; audited."""
    case: Case = form.save(commit=False)
    created = case.pk is None
    case.project = project
    case.save()
    case.tags.set(form.tag_list())
    attributes = _set_attribute_values(
        owner_field="case", owner=case, values=form.attribute_values()
    )
    audit(
        project_id=project.pk,
        actor=actor,
        action=AuditAction.CASE_SAVE,
        case=case.pk,
        name=case.name,
        created=created,
        fields=sorted(form.changed_data),
        attributes=attributes,
    )
    return case


@transaction.atomic
def informant_save(*, case: Case, form: InformantForm, actor: User) -> Informant:
    """Save an InformantForm (fields and typed attribute values) for ``case``; audited."""
    informant: Informant = form.save(commit=False)
    created = informant.pk is None
    informant.case = case
    informant.save()
    attributes = _set_attribute_values(
        owner_field="informant", owner=informant, values=form.attribute_values()
    )
    audit(
        project_id=case.project_id,
        actor=actor,
        action=AuditAction.INFORMANT_SAVE,
        case=case.pk,
        informant=informant.pk,
        name=informant.pseudonym,
        created=created,
        fields=sorted(form.changed_data),
        attributes=attributes,
    )
    return informant


@transaction.atomic
def attribute_create(
    *, project: Project, actor: User, target: str, name: str, kind: str, order: int = 0
) -> AttributeDefinition:
    """Add an attribute that cases or informants of ``project`` can carry; audited. A name the
    project uses already for the same target is refused (a ValidationError on "name")."""
    taken = ValidationError(
        {"name": ValidationError(_("An attribute with this name exists already."), code="taken")}
    )
    if AttributeDefinition.objects.filter(project=project, target=target, name=name).exists():
        raise taken
    try:
        with transaction.atomic():
            definition = AttributeDefinition.objects.create(
                project=project, target=target, name=name, kind=kind, order=order
            )
    except IntegrityError as exc:  # added by someone else a moment ago
        raise taken from exc
    audit(
        project_id=project.pk,
        actor=actor,
        action=AuditAction.ATTRIBUTE_CREATE,
        attribute=definition.pk,
        name=name,
        target=target,
        kind=kind,
    )
    return definition


@transaction.atomic
def attribute_delete(*, definition: AttributeDefinition, actor: User) -> int:
    """Delete an attribute with its values on every case or informant; audited. Returns how
    many values went with it."""
    values = definition.values.count()
    audit(
        project_id=definition.project_id,
        actor=actor,
        action=AuditAction.ATTRIBUTE_DELETE,
        attribute=definition.pk,
        name=definition.name,
        target=definition.target,
        values=values,
    )
    definition.delete()
    return values


@transaction.atomic
def framework_summary_save(
    *,
    project: Project,
    case: Case | None,
    code: Code | None,
    author: User,
    text: str,
    base_version: int,
) -> FrameworkSummary:
    """Save the summary of what ``case`` shows for ``code``; every saved text is kept.

    With ``code`` None it is the case summary, with ``case`` None the cross-case synthesis of
    the code (a column of the matrix); the same revisions and conflict rule hold for all three.
    ``base_version`` is the version the author started from (0 for a cell without a summary):
    when someone saved the cell since, nothing is written and a ValidationError with code
    "stale" asks the author to merge their text with the newer one.
    """
    if case is None and code is None:
        raise ValueError("a framework summary needs a case, a code or both")
    if (case is not None and case.project_id != project.pk) or (
        code is not None and code.codebook.project_id != project.pk
    ):
        raise ValidationError(
            _("The case or the code belongs to another project."), code="framework_foreign"
        )
    text = (text or "").strip()
    if len(text) > settings.MEMO_MAX_CHARS:
        raise ValidationError(
            _("A summary may hold at most %(n)s characters."),
            code="framework_too_long",
            params={"n": settings.MEMO_MAX_CHARS},
        )
    stale = ValidationError(
        _(
            "Someone saved this summary while you were writing. Their text is shown below; "
            "merge yours into it and save again."
        ),
        code="stale",
    )
    now = timezone.now()
    summary = FrameworkSummary.objects.select_for_update().filter(case=case, code=code).first()
    if summary is None:
        if base_version:
            raise stale
        try:
            with transaction.atomic():
                summary = FrameworkSummary.objects.create(
                    project=project,
                    case=case,
                    code=code,
                    text=text,
                    author=author,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError as exc:  # another author created the cell a moment ago
            raise stale from exc
    else:
        if summary.version != base_version:
            raise stale
        if summary.text == text:
            return summary
        summary.text = text
        summary.author = author
        summary.version += 1
        summary.updated_at = now
        summary.save(update_fields=["text", "author", "version", "updated_at"])
    FrameworkSummaryRevision.objects.create(
        summary=summary, version=summary.version, text=text, author=author, saved_at=now
    )
    audit(
        project_id=project.pk,
        actor=author,
        action=AuditAction.FRAMEWORK_SAVE,
        summary=summary.pk,
        case=case.pk if case else None,
        case_name=case.name if case else None,
        code=code.pk if code else None,
        code_name=code.name if code else None,
        version=summary.version,
        length=len(text),
    )
    return summary
