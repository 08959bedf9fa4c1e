"""Lemma search with keyword-in-context lines, and coding from the search results.

Code from search: the search's own parameters travel with the form as hidden fields, so the
preview and the apply step run the same search again on the server and code only real hits
(a posted hit key only selects among them). All passages go in one batch that one undo removes.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case as DbCase
from django.db.models import Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from coding import access, services
from coding.analysis import filters
from coding.language import lemma_index, lemma_search
from coding.models import (
    Case,
    Code,
    Coding,
    Job,
    JobKind,
    JobStatus,
    Project,
    Transcript,
)
from coding.views import AuthenticatedHttpRequest

MAX_BATCH = 2000
PREVIEW_ROWS = 300
SEARCH_FIELDS = (
    "q",
    "mode",
    "case",
    "transcript",
    "level",
    "speaker",
    "with_code",
    "coded",
    "key_quotes",
)


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search for"), max_length=300, required=False)
    mode = forms.ChoiceField(
        label=gettext_lazy("Match"),
        choices=[
            ("lemma", gettext_lazy("every form of the word")),
            ("exact", gettext_lazy("the exact form")),
        ],
        initial="lemma",
        required=False,
        widget=forms.RadioSelect,
    )
    case = filters.cases_field()
    transcript = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Transcripts"), queryset=Transcript.objects.none(), required=False
    )
    level = filters.level_field()
    speaker = forms.ChoiceField(
        label=gettext_lazy("Spoken by"),
        choices=[
            ("", gettext_lazy("anyone")),
            ("informant", gettext_lazy("informants")),
            ("interviewer", gettext_lazy("interviewers")),
        ],
        required=False,
    )
    coded = forms.ChoiceField(
        label=gettext_lazy("Coding"),
        choices=[
            ("", gettext_lazy("coded or not")),
            ("coded", gettext_lazy("only inside passages coded with")),
            ("uncoded", gettext_lazy("only outside passages coded with")),
        ],
        required=False,
    )
    with_code = forms.ModelChoiceField(
        label=gettext_lazy("Code"),
        queryset=Code.objects.none(),
        required=False,
        empty_label=gettext_lazy("any code"),
    )
    key_quotes = forms.BooleanField(
        label=gettext_lazy("Key quotes only"),
        required=False,
        help_text=gettext_lazy(
            "Only hits inside a passage someone marked as a key quote (for the code chosen)."
        ),
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Whose codings the "coded with" filter reads (blind coding): set by coding.access.
        self.viewer = getattr(project, "membership", None)
        if not project.interviewer_turns_are_interview_text:
            # Search finds interview text only (Turn.objects.interview_text_of): without the
            # interviewer's turns, "spoken by interviewers" could find nothing.
            speaker = cast(forms.ChoiceField, self.fields["speaker"])
            speaker.choices = [
                (value, label)
                for value, label in cast(list[tuple[str, str]], speaker.choices)
                if value != "interviewer"
            ]
        cast(forms.ChoiceField, self.fields["case"]).choices = [
            (str(pk), name)
            for pk, name in Case.objects.filter(project=project)
            .order_by("order", "name")
            .values_list("pk", "name")
        ]
        cast(forms.ModelChoiceField, self.fields["transcript"]).queryset = (
            Transcript.objects.filter(case__project=project)
            .select_related("case")
            .defer("text")
            .order_by("case__order", "case__name", "title")
        )
        # In codebook order (parents before their sub-codes, indented), as the codebook shows it.
        codes = Code.objects.filter(codebook__project=project)
        tree = _indented(codes.in_tree_order())
        indents = {c.pk: c.indent for c in tree}
        rank = [When(pk=c.pk, then=Value(i)) for i, c in enumerate(tree)]
        field = cast(forms.ModelChoiceField, self.fields["with_code"])
        field.queryset = codes.order_by(Coalesce(DbCase(*rank), Value(len(tree))), "name")
        # An instance's own label function, which Django's ModelChoiceField allows; mypy
        # refuses any assignment to a method.
        field.label_from_instance = lambda c: f"{indents.get(c.pk, '')}{c.name}"  # type: ignore[method-assign, assignment]

    def clean(self) -> dict[str, Any]:
        d = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        if d.get("key_quotes") and d.get("coded") == "uncoded":
            self.add_error(
                "key_quotes",
                ValidationError(
                    _("A key quote lies inside a coded passage: it cannot be outside one too."),
                    code="key_quotes_uncoded",
                ),
            )
        return d

    def query(self) -> lemma_search.Query:
        return lemma_search.parse_query(
            self.cleaned_data["q"], exact=self.cleaned_data.get("mode") == "exact"
        )

    def filters(self) -> lemma_search.Filters:
        d = self.cleaned_data
        return lemma_search.Filters(
            case_ids=[int(pk) for pk in d.get("case") or []],
            transcript_ids=[t.pk for t in d.get("transcript") or []],
            levels=list(d.get("level") or []),
            speaker=d.get("speaker") or "",
            code=d.get("with_code"),
            coded=d.get("coded") or "",
            key_quotes=bool(d.get("key_quotes")),
            viewer=self.viewer,
        )


class HitKeysField(forms.MultipleChoiceField):
    """Hit keys ("transcript:start:end"); they only select among the hits of the search run
    again on the server, so any string is accepted here."""

    def valid_value(self, value: str) -> bool:
        return True


class CodeFromSearchForm(forms.Form):
    code = forms.ModelChoiceField(label=gettext_lazy("Code"), queryset=Code.objects.none())
    extent = forms.ChoiceField(
        label=gettext_lazy("Code the hit's"),
        choices=[("sentence", gettext_lazy("sentence")), ("turn", gettext_lazy("speaker turn"))],
        initial="sentence",
        widget=forms.RadioSelect,
    )
    scope = forms.ChoiceField(
        choices=[("all", gettext_lazy("all hits")), ("selected", gettext_lazy("selected hits"))],
        initial="all",
        widget=forms.RadioSelect,
    )
    hit = HitKeysField(required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        code_field = cast(forms.ModelChoiceField, self.fields["code"])
        code_field.queryset = Code.objects.filter(codebook__project=project)

    def clean(self) -> dict[str, Any]:
        d = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        if d.get("scope") == "selected" and not d.get("hit"):
            raise ValidationError(
                _("Tick the hits to code, or choose “all hits”."), code="no_selection"
            )
        return d


def _search_params(form: SearchForm) -> list[tuple[str, str]]:
    """The search form's submitted values as (name, value) pairs, for hidden fields."""
    out = []
    for name in SEARCH_FIELDS:
        for value in form.data.getlist(name) if hasattr(form.data, "getlist") else []:
            if value != "":
                out.append((name, value))
    return out


def _running(project: Project, kind: str) -> Job | None:
    return Job.objects.filter(
        project=project, kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).first()


@login_required
@require_GET
def search_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    data = None
    if request.GET:
        data = request.GET.copy()
        data.setdefault("mode", "lemma")
    form = SearchForm(data, project=project)
    result = None
    if form.is_bound and form.is_valid() and form.cleaned_data["q"].strip():
        try:
            query = form.query()
        except ValidationError as exc:
            form.add_error("q", exc)
        else:
            try:
                page = int(request.GET.get("page", 1))
            except ValueError:
                page = 1
            try:
                result = lemma_search.search(project, query, form.filters(), page=page)
            except ValidationError as exc:
                form.add_error("q", exc)
    can_write = project.membership.can_write
    return render(
        request,
        "coding/search/search.html",
        {
            "project": project,
            "form": form,
            "result": result,
            "params": _search_params(form) if form.is_bound else [],
            "code_form": CodeFromSearchForm(project=project) if can_write else None,
            "codes": _indented(Code.objects.filter(codebook__project=project).in_tree_order()),
            "can_write": can_write,
            "stale": len(lemma_index.stale_transcript_ids(project)),
            "reindex_job": _running(project, JobKind.REINDEX),
            "page_query": _page_query(request),
        },
    )


def _indented(codes: list[Code]) -> list[Code]:
    for c in codes:
        c.indent = "\u2003" * c.depth  # em spaces: a select cannot be styled per option
    return codes


def _page_query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _resolve(
    request: AuthenticatedHttpRequest, project: Project
) -> tuple[SearchForm, CodeFromSearchForm, list[lemma_search.Passage]]:
    """Run the posted search again and return (search form, code form, passages) or raise a
    ValidationError with what the researcher has to fix."""
    form = SearchForm(request.POST, project=project)
    code_form = CodeFromSearchForm(request.POST, project=project)
    if not form.is_valid() or not form.cleaned_data["q"].strip():
        raise ValidationError(_("The search is no longer valid; search again."), code="search")
    if not code_form.is_valid():
        raise ValidationError(
            [m for errors in code_form.errors.values() for m in errors], code="code_form"
        )
    hits = lemma_search.find_hits(project, form.query(), form.filters())
    if code_form.cleaned_data["scope"] == "selected":
        chosen = set(code_form.cleaned_data["hit"])
        hits = [h for h in hits if h.key in chosen]
    passages = lemma_search.passages_for(
        project,
        hits,
        code_form.cleaned_data["extent"],
        code=code_form.cleaned_data["code"],
        coder=request.user,
    )
    if not passages:
        raise ValidationError(_("None of the chosen hits is left to code."), code="no_hits")
    if len(passages) > MAX_BATCH:
        raise ValidationError(
            _("That is %(n)s passages; code at most %(max)s at once (narrow the search)."),
            code="too_many",
            params={"n": len(passages), "max": MAX_BATCH},
        )
    return form, code_form, passages


def _back_to_search(project: Project, form_data: QueryDict) -> str:
    params = [(k, v) for k in SEARCH_FIELDS for v in form_data.getlist(k) if v != ""]
    query = urlencode(params)
    return reverse("coding:search", args=[project.pk]) + (f"?{query}" if query else "")


@login_required
@require_POST
def code_preview(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    try:
        form, code_form, passages = _resolve(request, project)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
        return redirect(_back_to_search(project, request.POST))
    new = [p for p in passages if not p.already]
    return render(
        request,
        "coding/search/preview.html",
        {
            "project": project,
            "code": code_form.cleaned_data["code"],
            "extent": code_form.cleaned_data["extent"],
            "passages": passages[:PREVIEW_ROWS],
            "more": max(0, len(passages) - PREVIEW_ROWS),
            "n_new": len(new),
            "n_already": len(passages) - len(new),
            "n_hits": sum(p.hits for p in passages),
            "params": _search_params(form),
            "code_params": [
                (k, v) for k in ("code", "extent", "scope", "hit") for v in request.POST.getlist(k)
            ],
            "back": _back_to_search(project, request.POST),
        },
    )


@login_required
@require_POST
def code_apply(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    try:
        _form, code_form, passages = _resolve(request, project)
        batch, made = services.search_code_apply(
            project=project,
            code=code_form.cleaned_data["code"],
            passages=[(p.transcript, p.start, p.end) for p in passages if not p.already],
            coder=request.user,
        )
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
        return redirect(_back_to_search(project, request.POST))
    messages.success(
        request,
        ngettext(
            "Coded %(n)s passage with “%(code)s”.",
            "Coded %(n)s passages with “%(code)s”.",
            made,
        )
        % {"n": made, "code": code_form.cleaned_data["code"].name},
    )
    if not made:
        return redirect(_back_to_search(project, request.POST))
    return redirect(
        reverse("coding:search-batch", args=[project.pk, batch])
        + "?"
        + _back_to_search(project, request.POST).partition("?")[2]
    )


def _batch_codings(project: Project, batch: uuid.UUID):
    return (
        Coding.objects.coder_layer()  # a consensus decision's batch is undone as a decision
        .filter(batch=batch, tag__codebook__project=project)
        .select_related("tag", "coder", "content_object__transcript__case")
        .order_by("content_object__transcript__case__order", "content_object__transcript_id")
    )


@login_required
@require_GET
def batch_detail(
    request: AuthenticatedHttpRequest, project_id: int, batch: uuid.UUID
) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id)
    codings = list(_batch_codings(project, batch).visible_to(project.membership))
    return render(
        request,
        "coding/search/batch.html",
        {
            "project": project,
            "batch": batch,
            "codings": codings[:PREVIEW_ROWS],
            "n": len(codings),
            "more": max(0, len(codings) - PREVIEW_ROWS),
            "code": codings[0].tag if codings else None,
            "coder": codings[0].coder if codings else None,
            "may_undo": bool(codings) and access.may_undo_batch(project.membership, codings),
            "search_url": reverse("coding:search", args=[project.pk])
            + (f"?{request.GET.urlencode()}" if request.GET else ""),
        },
    )


@login_required
@require_POST
def batch_undo(
    request: AuthenticatedHttpRequest, project_id: int, batch: uuid.UUID
) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    codings = list(_batch_codings(project, batch))
    if not codings:
        raise Http404
    if not access.may_undo_batch(project.membership, codings):
        raise PermissionDenied
    n = services.coding_batch_undo(project=project, batch=batch, actor=request.user)
    messages.success(
        request,
        ngettext("Undone: %(n)s coding removed.", "Undone: %(n)s codings removed.", n) % {"n": n},
    )
    back = request.POST.get("back", "")
    if back.startswith(reverse("coding:search", args=[project.pk])):
        return redirect(back)
    return redirect("coding:search", project_id=project.pk)


@login_required
@require_POST
def reindex_start(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, project_id, access.WRITE)
    job = services.language_job_start(project=project, user=request.user, kind=JobKind.REINDEX)
    return redirect("coding:job-detail", job_id=job.pk)
