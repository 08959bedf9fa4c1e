"""Project members: everyone may see who is in the project; owners add, remove and re-role."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coding import access, services
from coding.forms import MemberAddForm, MemberRoleForm
from coding.models import Membership, Project, Role
from coding.views import AuthenticatedHttpRequest


def _member_page(request: HttpRequest, project: Project, add_form: MemberAddForm | None = None):
    coded = Q(codings__tag__codebook__project=project)
    memberships = (
        Membership.objects.filter(project=project)
        .select_related("user")
        .annotate(
            n_codings=Count(
                "user__codings", filter=Q(user__codings__tag__codebook__project=project)
            )
        )
        .order_by("role", "user__username")
    )
    member_ids = [m.user_id for m in memberships]
    former = (
        get_user_model()
        .objects.filter(coded)
        .exclude(pk__in=member_ids)
        .annotate(n_codings=Count("codings", filter=coded))
        .order_by("username")
    )
    is_owner = access.is_owner(project.membership)
    return render(
        request,
        "coding/members/member_list.html",
        {
            "project": project,
            "memberships": memberships,
            "former": former,
            "is_owner": is_owner,
            "add_form": add_form or (MemberAddForm() if is_owner else None),
            "roles": Role.choices,
        },
        status=400 if add_form is not None and add_form.errors else 200,
    )


@login_required
@require_GET
def member_list(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    return _member_page(request, project)


@login_required
@require_POST
def member_add(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.OWN)
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        return _member_page(request, project, form)
    data = form.cleaned_data
    try:
        if data["new_account"]:
            membership = services.member_invite(
                project=project,
                actor=request.user,
                username=data["username"],
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
            )
        else:
            user = (
                get_user_model()
                .objects.filter(username__iexact=data["username"].strip(), is_active=True)
                .first()
            )
            if user is None:
                raise ValidationError(
                    _(
                        "There is no account named %(user)s. Tick “create a new account” to "
                        "invite a new colleague."
                    ),
                    code="no_such_user",
                    params={"user": data["username"]},
                )
            membership = services.member_add(
                project=project, actor=request.user, user=user, role=data["role"]
            )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _member_page(request, project, form)
    if data["new_account"]:
        # Shown once, to the owner, who passes it on; the link dies when the password is set.
        user = membership.user
        link = request.build_absolute_uri(
            reverse(
                "password_reset_confirm",
                kwargs={
                    "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                    "token": default_token_generator.make_token(user),
                },
            )
        )
        return render(
            request,
            "coding/members/invite_link.html",
            {"project": project, "membership": membership, "link": link},
        )
    messages.success(
        request,
        _("%(user)s is now a member (%(role)s).")
        % {"user": membership.user.get_username(), "role": membership.get_role_display()},
    )
    return redirect("coding:member-list", project_id=project.pk)


@login_required
@require_POST
def member_role(request: AuthenticatedHttpRequest, membership_id: int) -> HttpResponse:
    membership = access.get_membership_for_user(request.user, membership_id, access.OWN)
    project = membership.project
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("coding:member-list", project_id=project.pk)
    try:
        services.member_set_role(
            membership=membership, actor=request.user, role=form.cleaned_data["role"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(user)s is now %(role)s.")
            % {"user": membership.user.get_username(), "role": membership.get_role_display()},
        )
    return redirect("coding:member-list", project_id=project.pk)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: AuthenticatedHttpRequest, membership_id: int) -> HttpResponse:
    membership = access.get_membership_for_user(request.user, membership_id, access.OWN)
    project = membership.project
    if request.method == "POST":
        try:
            kept = services.member_remove(membership=membership, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("%(user)s was removed from the project; their %(n)s codings stay, attributed.")
                % {"user": membership.user.get_username(), "n": kept},
            )
        if (
            membership.user_id == request.user.pk
            and not Membership.objects.filter(project=project, user=request.user).exists()
        ):
            return redirect("coding:project-list")
        return redirect("coding:member-list", project_id=project.pk)
    n_codings = services.member_codings_kept(membership)
    return render(
        request,
        "coding/members/member_remove.html",
        {"project": project, "membership": membership, "n_codings": n_codings},
    )
