"""Project members and their roles; the project always keeps an owner."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from coding.models import (
    AuditAction,
    Coding,
    Membership,
    Project,
    Role,
)
from coding.services.audit import audit


def _lock_owners(project_id: int) -> list[int]:
    """Lock the project's owner memberships so two changes cannot both remove the last owner."""
    return list(
        Membership.objects.select_for_update()
        .filter(project_id=project_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(_("Choose a role."), code="role_invalid")


@transaction.atomic
def member_add(*, project: Project, actor: User | None, user: User, role: str) -> Membership:
    """Give ``user`` a role in ``project``."""
    _check_role(role)
    if not user.is_active:
        raise ValidationError(_("This account is disabled."), code="user_inactive")
    membership, created = Membership.objects.get_or_create(
        project=project, user=user, defaults={"role": role}
    )
    if not created:
        raise ValidationError(
            _("%(user)s is already a member of this project."),
            code="member_exists",
            params={"user": user.get_username()},
        )
    audit(
        project_id=project.pk,
        actor=actor,
        action=AuditAction.MEMBER_CHANGE,
        change="add",
        member=user.get_username(),
        member_id=user.pk,
        role=role,
    )
    return membership


@transaction.atomic
def member_invite(
    *,
    project: Project,
    actor: User,
    username: str,
    email: str = "",
    full_name: str = "",
    role: str,
) -> Membership:
    """Create an account without a password for a new colleague and add it to ``project``.

    The invitee chooses a password through a one-time link (Django's password reset token,
    valid for PASSWORD_RESET_TIMEOUT); the view shows that link to the owner to pass on.
    """
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    username = (username or "").strip()
    # The user name is a concrete field of the user model (a CharField), not a relation.
    field = cast("models.Field[Any, Any]", user_model._meta.get_field(user_model.USERNAME_FIELD))
    try:
        username = field.clean(username, None)
    except ValidationError as exc:
        raise ValidationError(
            _("Choose a user name of letters, digits and @/./+/-/_ only."),
            code="username_invalid",
        ) from exc
    if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise ValidationError(
            _("The user name %(user)s is taken; add the existing account instead."),
            code="username_taken",
            params={"user": username},
        )
    first, _sep, last = (full_name or "").strip().partition(" ")
    user = user_model(username=username, email=(email or "").strip(), first_name=first[:150])
    user.last_name = last.strip()[:150]
    user.set_unusable_password()
    user.save()
    return member_add(project=project, actor=actor, user=user, role=role)


@transaction.atomic
def member_set_role(*, membership: Membership, actor: User, role: str) -> Membership:
    """Change a member's role; the project always keeps at least one owner."""
    _check_role(role)
    owners = _lock_owners(membership.project_id)
    membership.refresh_from_db(fields=["role"])
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and owners == [membership.pk]:
        raise ValidationError(
            _("A project needs an owner: make someone else owner first."), code="last_owner"
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        project_id=membership.project_id,
        actor=actor,
        action=AuditAction.MEMBER_CHANGE,
        change="role",
        member=membership.user.get_username(),
        member_id=membership.user_id,
        role=role,
        old_role=old,
    )
    return membership


def member_codings_kept(membership: Membership) -> int:
    """How many codings a member leaves behind when removed: theirs, in this project's codebook
    (they stay, attributed to them). The removal page promises this number; the removal
    records it."""
    return Coding.objects.filter(
        coder_id=membership.user_id, tag__codebook__project_id=membership.project_id
    ).count()


@transaction.atomic
def member_remove(*, membership: Membership, actor: User) -> int:
    """Take a member out of the project. Their codings and memos stay, attributed to them.

    Returns how many codings they leave behind. The last owner cannot be removed.
    """
    owners = _lock_owners(membership.project_id)
    membership.refresh_from_db(fields=["role"])
    if membership.role == Role.OWNER and owners == [membership.pk]:
        raise ValidationError(
            _("A project needs an owner: make someone else owner first."), code="last_owner"
        )
    codings = member_codings_kept(membership)
    membership.delete()
    audit(
        project_id=membership.project_id,
        actor=actor,
        action=AuditAction.MEMBER_CHANGE,
        change="remove",
        member=membership.user.get_username(),
        member_id=membership.user_id,
        role=membership.role,
        codings_kept=codings,
    )
    return codings
