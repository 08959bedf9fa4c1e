"""The codebook editor: the codes of a project's codebook as a tree, and every change to them.

Owners and researchers get the controls; supervisors see the same page read-only (every write
view asks access for WRITE, which gives them 403). A posted code id (a parent, a merge target)
must belong to the same codebook (access.codes_of_codebook, 404 otherwise).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coding import access, services
from coding.analysis import memo_overview
from coding.forms import CodeForm
from coding.language import suggestions
from coding.models import Code, Codebook, CodeHierarchy, Coding, Membership, Project
from coding.views import AuthenticatedHttpRequest

MOVES = ("up", "down", "indent", "outdent")


def _codebook_of(project: Project) -> Codebook | None:
    return Codebook.objects.filter(project=project).first()


def _tree(codebook: Codebook | None, viewer: Membership | None = None) -> list[Code]:
    """The codes in tree order, each with ``n_codings`` and ``n_total`` (with its sub-codes);
    with ``viewer``, of the codings they may see (blind coding)."""
    if codebook is None:
        return []
    counted = Q()
    if viewer is not None and access.is_blinded_somewhere(viewer):
        counted = Q(codings__in=Coding.objects.visible_to(viewer))
    # django-stubs refuses an annotation named like a declared attribute; Code declares
    # n_codings for the pages that read it from this annotation.
    codes = Code.objects.filter(codebook=codebook)
    codes = codes.annotate(n_codings=Count("codings", filter=counted))  # type: ignore[no-redef]
    tree = codes.in_tree_order()
    by_pk = {c.pk: c for c in tree}
    for c in tree:
        c.n_total = c.n_codings
        c.n_children = 0
        c.indent = "\u2003" * c.depth  # for <option> labels, which cannot hold markup
    # Tree order lists a parent before its sub-codes; walking backwards adds each total upwards.
    for c in reversed(tree):
        if c.parent_id in by_pk:
            by_pk[c.parent_id].n_total += c.n_total
            by_pk[c.parent_id].n_children += 1
    top = max((c.n_codings for c in tree), default=0)
    for c in tree:
        c.bar = round(100 * c.n_codings / top) if top else 0
    return tree


def _nested(tree: list[Code]) -> list[Code]:
    """Top-level codes, each with ``kids``: the tree as nested lists for the template."""
    children = CodeHierarchy(tree).children
    for c in tree:
        c.kids = children.get(c.pk, [])
    return children.get(None, [])


def _render_editor(
    request: HttpRequest, project: Project, form: CodeForm | None = None, status: int = 200
) -> HttpResponse:
    codebook = _codebook_of(project)
    tree = _tree(codebook, project.membership)
    memos = memo_overview.about_codes(project, viewer=project.membership)
    for c in tree:
        c.memos_beside = memos.get(c.pk, [])
    can_write = project.membership.can_write
    if can_write and form is None:
        initial: dict[str, str | int] = {
            "color": services.next_code_color(codebook.pk if codebook else None)
        }
        parent = request.GET.get("parent", "")
        if parent.isdigit() and any(c.pk == int(parent) for c in tree):
            initial["parent"] = int(parent)
        form = CodeForm(tree=tree, initial=initial)
    return render(
        request,
        "coding/codebook/editor.html",
        {
            "project": project,
            "codebook": codebook,
            "roots": _nested(tree),
            "n_codes": len(tree),
            "n_codings": sum(c.n_codings for c in tree),
            "can_write": can_write,
            "form": form,
        },
        status=status,
    )


def _parent_from_post(request: HttpRequest, codebook: Codebook | None) -> Code | None:
    """The posted parent code, which must be in ``codebook`` (404 otherwise)."""
    raw = (request.POST.get("parent") or "").strip()
    if not raw:
        return None
    # Nothing belongs to no codebook (id 0): 404.
    return access.codes_of_codebook(codebook.pk if codebook else 0, [raw])[0]


def _editor_url(project_id: int, code_id: int | None = None) -> str:
    url = reverse("coding:codebook", args=[project_id])
    return f"{url}#code-{code_id}" if code_id else url


@login_required
@require_GET
def codebook_detail(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    return _render_editor(request, project)


@login_required
@require_POST
def code_add(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    codebook = _codebook_of(project)
    parent = _parent_from_post(request, codebook)
    form = CodeForm(request.POST, tree=_tree(codebook))
    if form.is_valid():
        if codebook is None:
            codebook = services.codebook_ensure(project=project)
        try:
            code = services.code_create(
                codebook=codebook, actor=request.user, parent=parent, **form.code_fields()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Added the code “%(name)s”.") % {"name": code.name})
            return redirect(_editor_url(project.pk, code.pk))
    return _render_editor(request, project, form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def code_edit(request: AuthenticatedHttpRequest, code_id: int) -> HttpResponse:
    need = access.WRITE if request.method == "POST" else access.READ
    code = access.get_code_for_user(request.user, code_id, need)
    project = code.codebook.project
    project.membership = code.membership
    if not code.membership.can_write:
        # Supervisors read the codebook on the editor page, which shows every field.
        return redirect(_editor_url(project.pk, code.pk))
    tree = _tree(code.codebook)
    exclude = frozenset({code.pk, *code.descendant_ids()})
    if request.method == "POST":
        parent = _parent_from_post(request, code.codebook)
        form = CodeForm(request.POST, tree=tree, exclude=exclude)
        if form.is_valid():
            try:
                with transaction.atomic():
                    if parent != code.parent:
                        services.code_move(code=code, actor=request.user, parent=parent)
                    services.code_update(code=code, actor=request.user, **form.code_fields())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": code.name})
                return redirect(_editor_url(project.pk, code.pk))
    else:
        form = CodeForm(
            tree=tree,
            exclude=exclude,
            initial={
                **{k: getattr(code, k) for k in CodeForm.TEXT_FIELDS},
                "parent": code.parent_id,
            },
        )
    this = next(c for c in tree if c.pk == code.pk)
    is_owner = access.is_owner(code.membership)
    return render(
        request,
        "coding/codebook/edit.html",
        {
            "project": project,
            "code": this,
            "form": form,
            # Offered to an owner to accept; never added by themselves.
            "mined": suggestions.mined_keywords(code) if is_owner else [],
            "is_owner": is_owner,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def code_keywords_accept(request: AuthenticatedHttpRequest, code_id: int) -> HttpResponse:
    """An owner adds keywords mined from the coding (ticked on the edit page) to the code."""
    code = access.get_code_for_user(request.user, code_id, access.OWN)
    added = services.code_keywords_add(
        code=code, actor=request.user, keywords=request.POST.getlist("keyword")
    )
    if added:
        messages.success(request, _("Added keywords: %(words)s.") % {"words": ", ".join(added)})
    return redirect("coding:codebook-edit", code_id=code.pk)


def _siblings(code: Code) -> list[int]:
    return list(
        Code.objects.filter(codebook_id=code.codebook_id, parent_id=code.parent_id)
        .order_by("order", "name")
        .values_list("pk", flat=True)
    )


def _move_target(request: HttpRequest, code: Code) -> tuple[Code | None, int | None] | None:
    """Where a move request puts ``code``: (parent, position), or None for no move at all."""
    direction = request.POST.get("direction", "")
    if direction not in MOVES:
        parent = _parent_from_post(request, code.codebook)
        raw = (request.POST.get("position") or "").strip()
        if raw and not raw.isdigit():
            raise ValidationError(_("The position must be a whole number."), code="position")
        return parent, int(raw) if raw else None
    siblings = _siblings(code)
    i = siblings.index(code.pk)
    if direction == "up":
        return (code.parent, i - 1) if i > 0 else None
    if direction == "down":
        return (code.parent, i + 1) if i + 1 < len(siblings) else None
    if direction == "indent":
        if i == 0:
            raise ValidationError(
                _("There is no code above “%(code)s” at its level to place it under."),
                code="indent_first",
                params={"code": code.name},
            )
        return Code.objects.get(pk=siblings[i - 1]), None
    # outdent: just after its parent, one level up
    if code.parent is None:
        return None
    parent = code.parent
    return parent.parent, _siblings(parent).index(parent.pk) + 1


@login_required
@require_POST
def code_move(request: AuthenticatedHttpRequest, code_id: int) -> HttpResponse:
    """Move up/down, nest under the code above, un-nest; or (parent, position) from a drag."""
    code = access.get_code_for_user(request.user, code_id, access.WRITE)
    by_script = request.headers.get("X-Requested-With") == "fetch"
    try:
        target = _move_target(request, code)
        if target is not None:
            parent, position = target
            services.code_move(code=code, actor=request.user, parent=parent, position=position)
    except ValidationError as exc:
        if by_script:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        messages.error(request, " ".join(exc.messages))
    if by_script:
        return JsonResponse({"ok": True})
    return redirect(_editor_url(code.codebook.project_id, code.pk))


@login_required
@require_http_methods(["GET", "POST"])
def code_merge(request: AuthenticatedHttpRequest, code_id: int) -> HttpResponse:
    """Choose a target (GET ?target=), see what the merge does, then confirm (POST)."""
    code = access.get_code_for_user(request.user, code_id, access.WRITE)
    project = code.codebook.project
    project.membership = code.membership
    raw = request.POST.get("target") if request.method == "POST" else request.GET.get("target")
    target = access.codes_of_codebook(code.codebook_id, [raw])[0] if raw else None
    if target is not None and request.method == "POST":
        try:
            result = services.code_merge(source=code, target=target, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _(
                    "Merged “%(source)s” into “%(target)s”: %(moved)s moved, "
                    "%(collapsed)s collapsed."
                )
                % {
                    "source": code.name,
                    "target": target.name,
                    "moved": ngettext("%(n)s coding", "%(n)s codings", result.moved)
                    % {"n": result.moved},
                    "collapsed": ngettext("%(n)s duplicate", "%(n)s duplicates", result.collapsed)
                    % {"n": result.collapsed},
                },
            )
            return redirect(_editor_url(project.pk, target.pk))
    tree = [c for c in _tree(code.codebook) if c.pk != code.pk]
    return render(
        request,
        "coding/codebook/merge.html",
        {
            "project": project,
            "code": code,
            "tree": tree,
            "target": target if target and target.pk != code.pk else None,
            "impact": code.merge_impact(target) if target and target.pk != code.pk else None,
            "self_target": target is not None and target.pk == code.pk,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def code_delete(request: AuthenticatedHttpRequest, code_id: int) -> HttpResponse:
    """A confirmation page that says what goes with the code; the POST deletes."""
    code = access.get_code_for_user(request.user, code_id, access.WRITE)
    project = code.codebook.project
    project.membership = code.membership
    if request.method == "POST":
        done = services.code_delete(code=code, actor=request.user)
        messages.success(
            request,
            _(
                "Deleted “%(name)s” with %(codings)s codings, %(subcodes)s sub-codes "
                "and %(memos)s memos."
            )
            % {"name": code.name, **done},
        )
        return redirect(_editor_url(project.pk))
    ids = code.descendant_ids()
    below = [c for c in _tree(code.codebook) if c.pk in ids]
    return render(
        request,
        "coding/codebook/delete.html",
        {"project": project, "code": code, "impact": code.delete_impact(), "below": below},
    )
