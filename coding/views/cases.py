"""Cases, informants and attribute definitions: owners manage cases and attributes; researchers
may add and edit informants (they meet them when importing)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from coding import access, services
from coding.forms import AttributeDefinitionForm, CaseForm, InformantForm
from coding.models import (
    AttributeDefinition,
    AttributeTarget,
    AttributeValue,
    Case,
    Informant,
)
from coding.views import AuthenticatedHttpRequest


def _values(owner_field: str, owner: Case | Informant | None) -> dict[int, object]:
    if owner is None or owner.pk is None:
        return {}
    return {
        v.definition_id: v.value
        for v in AttributeValue.objects.filter(**{owner_field: owner}).select_related("definition")
    }


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(
    request: AuthenticatedHttpRequest, project_id: int, case_id: int | None = None
) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.OWN)
    case = None
    if case_id is not None:
        case = access.get_case_for_user(request.user, case_id, access.OWN)
        if case.project_id != project.pk:
            raise Http404
    definitions = project.attributes.filter(target=AttributeTarget.CASE)
    form = CaseForm(
        request.POST or None, instance=case, definitions=definitions, values=_values("case", case)
    )
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_save(project=project, form=form, actor=request.user)
        except IntegrityError:
            form.add_error("name", _("A case with this name exists already."))
        else:
            messages.success(request, _("The case was saved."))
            return redirect(case.get_absolute_url())
    return render(
        request, "coding/cases/case_form.html", {"project": project, "case": case, "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def informant_edit(
    request: AuthenticatedHttpRequest, case_id: int, informant_id: int | None = None
) -> HttpResponse:
    case = access.get_case_for_user(request.user, case_id, access.WRITE)
    informant = None
    if informant_id is not None:
        informant = access.get_informant_for_user(request.user, informant_id, access.WRITE)
        if informant.case_id != case.pk:
            raise Http404
    definitions = case.project.attributes.filter(target=AttributeTarget.INFORMANT)
    form = InformantForm(
        request.POST or None,
        instance=informant,
        initial={"pseudonym": request.GET.get("pseudonym", "")[:100]}
        if informant is None
        else None,
        definitions=definitions,
        values=_values("informant", informant),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.informant_save(case=case, form=form, actor=request.user)
        except IntegrityError:
            form.add_error("pseudonym", _("This case has an informant with that pseudonym."))
        else:
            messages.success(request, _("The informant was saved."))
            back = request.GET.get("next", "")
            if back and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(back)  # e.g. back to the import preview that asked for it
            return redirect(case.get_absolute_url())
    return render(
        request,
        "coding/cases/informant_form.html",
        {"project": case.project, "case": case, "informant": informant, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def attribute_list(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    need = access.OWN if request.method == "POST" else access.READ
    project = access.get_project_for_user(request.user, project_id, need)
    form = AttributeDefinitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.attribute_create(project=project, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The attribute was added."))
            return redirect("coding:attribute-list", project_id=project.pk)
    return render(
        request,
        "coding/cases/attribute_list.html",
        {
            "project": project,
            "form": form,
            "definitions": project.attributes.order_by("target", "order", "name"),
            "is_owner": access.is_owner(project.membership),
        },
    )


@login_required
@require_POST
def attribute_delete(
    request: AuthenticatedHttpRequest, project_id: int, definition_id: int
) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.OWN)
    definition = AttributeDefinition.objects.filter(pk=definition_id, project=project).first()
    if definition is None:
        raise Http404
    services.attribute_delete(definition=definition, actor=request.user)
    messages.success(request, _("The attribute and its values were deleted."))
    return redirect("coding:attribute-list", project_id=project.pk)
