"""The export job's body: read the rows, write the .docx, keep it on the Job.

``run_export_job(job, progress)`` is registered for ``JobKind.EXPORT`` in coding/tasks.py. It
runs in the language the researcher chose (labels, dates, level names), writes to a temporary
file and stores the result on ``Job.result_file`` only at the end, so a redelivered task simply
writes the file again. Expired result files are deleted by coding.services.maintenance (celery
beat, or ``manage.py maintenance``) after ``settings.EXPORT_RETENTION_HOURS``.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import OperationalError
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coding.analysis import selection as analysis_selection
from coding.analysis.specs import ColumnSpec
from coding.exports import memos, rows, selection
from coding.exports.word import (
    LAYOUT_FRAMEWORK,
    LAYOUT_REPORT,
    LAYOUT_SELECTION,
    LAYOUTS,
    MEMO_LAYOUTS,
    ExportOptions,
    ExportStats,
    write_word,
)
from coding.models import Coding, CodingQuerySet, Job, Membership, Project
from coding.people import display_name

MAX_CONTEXT_WORDS = 50


def export_options(params: dict[str, Any], *, made_by: str, made_at: dt.datetime) -> ExportOptions:
    """Options from a job's params, checked (params come from a form or the command line)."""
    layout = params.get("layout")
    if layout not in LAYOUTS:
        raise ValidationError(_("Choose a layout for the export."), code="export_layout")
    try:
        context_words = int(params.get("context_words") or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Context must be a number of words."), code="export_ctx") from exc
    return ExportOptions(
        layout=layout,
        memos=bool(params.get("memos")),
        context_words=max(0, min(MAX_CONTEXT_WORDS, context_words)),
        codebook=bool(params.get("codebook", True)),
        excerpts_appendix=bool(params.get("excerpts_appendix", True)),
        made_by=made_by,
        made_at=made_at,
    )


def export_filename(project: Project, layout: str, when: dt.datetime) -> str:
    # "2014–2020" should stay two years: dashes become hyphens before slugify drops them.
    name = project.name.replace("–", "-").replace("—", "-")
    stem = slugify(name)[:50].strip("-") or "export"
    return f"{stem}-{layout}-{timezone.localtime(when):%Y%m%d-%H%M}.docx"


def export_to_file(
    fh: BinaryIO,
    *,
    project: Project,
    params: dict[str, Any],
    made_by: str,
    codings: CodingQuerySet | None = None,
    template: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
    viewer: Membership | None = None,
) -> ExportStats:
    """Export ``project`` as ``params`` say into the binary file ``fh``; returns ExportStats.

    The caller activates the language. ``codings`` overrides the selection in ``params``.
    ``viewer``: the member the file is for (blind coding hides others' codings from a
    researcher: ``CodingQuerySet.visible_to``); None exports everything (the command line).
    """
    progress = progress or (lambda pct: None)
    options = export_options(params, made_by=made_by, made_at=timezone.now())
    if options.layout in MEMO_LAYOUTS:
        return memos.export_memos(
            fh,
            project=project,
            params=params,
            options=options,
            template=template,
            progress=progress,
            viewer=viewer,
        )
    factors = None
    basis = selection.basis_form(project, params, viewer=viewer)
    if codings is None and options.layout == LAYOUT_REPORT:
        codings, factors = report_codings(project, viewer=viewer)
        codings = codings.filter(analysis_selection.basis_q(basis))
        options.filters = [(str(basis.fields["basis"].label), basis.basis_label)]
    elif codings is None:
        codings, options.filters = selection.codings_for(project, params, viewer=viewer)
    else:
        options.filters = [(str(basis.fields["basis"].label), basis.basis_label)]
    # The report holds nothing but key quotes; a selection from the web page carries "key
    # quotes only" in its filter already (coding.analysis.filters), and is not filtered twice.
    in_filter = options.layout == LAYOUT_SELECTION and (params.get("filters") or {}).get(
        "key_quotes"
    )
    if params.get("key_quotes") and options.layout != LAYOUT_REPORT and not in_filter:
        codings = codings.key_quotes(viewer=viewer)
        options.filters.append((_("Key quotes"), _("only key quotes")))
    data = rows.collect(
        project,
        codings,
        memos=options.memos,
        context=options.context_words > 0,
        context_words=options.context_words,
        progress=lambda pct: progress(pct * 30 // 100),
        viewer=viewer,
        merged=basis.merged,
    )
    if options.layout in (LAYOUT_FRAMEWORK, LAYOUT_REPORT):
        data.summaries = rows.framework_summaries(project)
    if options.layout == LAYOUT_REPORT:
        columns = factors or analysis_selection.bound_form(project, {}).columns
        data.factors = [c.pk for c in columns.codes]
        data.factor_of = {m: c.pk for c in columns.codes for m in columns.members(c.pk)}
        data.case_summaries, data.syntheses = rows.report_summaries(project)
    return write_word(
        fh,
        data,
        options,
        template=template,
        progress=lambda pct: progress(30 + pct * 65 // 100),
    )


def report_codings(
    project: Project, *, viewer: Membership | None = None
) -> tuple[CodingQuerySet, ColumnSpec]:
    """The report's quotes: the key quotes of the framework matrix's columns (the factors, with
    their sub-codes when the matrix rolls them up), and those columns."""
    form = analysis_selection.bound_form(project, {})
    columns = form.columns
    member_ids = {m for c in columns.codes for m in columns.members(c.pk)}
    codings = (
        Coding.objects.for_project(project)
        .of_codes(member_ids)
        .visible_to(viewer)
        .key_quotes(viewer=viewer)
    )
    return codings, columns


def run_export_job(job: Job, progress: Callable[[int], None]) -> str:
    """The export job: the file goes on ``job.result_file``; returns the message to show."""
    params = job.params or {}
    language = params.get("language") or settings.LANGUAGE_CODE
    keep_template = False
    try:
        with translation.override(language), tempfile.TemporaryFile() as tmp:
            template = None
            if job.input_file:
                with job.input_file.open("rb") as fh:
                    template = io.BytesIO(fh.read())
            stats = export_to_file(
                tmp,
                project=job.project,
                params=params,
                made_by=display_name(job.created_by),
                template=template,
                progress=progress,
                viewer=Membership.objects.filter(project=job.project, user=job.created_by).first()
                if job.created_by
                else None,
            )
            tmp.seek(0)
            name = export_filename(job.project, params["layout"], timezone.now())
            job.result_file.save(name, File(tmp, name=name), save=False)
            job.result_name = name
            progress(99)
            # Each number takes its own plural form ("1 chapter", not "1 chapters").
            n, quotes, chapters = stats.excerpts, stats.quotes, stats.chapters
            if params["layout"] in MEMO_LAYOUTS:
                return _("%(memos)s exported (%(quotes)s in %(chapters)s).") % {
                    "memos": ngettext("%(n)s memo", "%(n)s memos", stats.memos)
                    % {"n": stats.memos},
                    "quotes": ngettext("%(n)s quote", "%(n)s quotes", quotes) % {"n": quotes},
                    "chapters": ngettext("%(n)s chapter", "%(n)s chapters", chapters)
                    % {"n": chapters},
                }
            return _("%(excerpts)s exported (%(quotes)s in %(chapters)s).") % {
                "excerpts": ngettext("%(n)s excerpt", "%(n)s excerpts", n) % {"n": n},
                "quotes": ngettext("%(n)s quote", "%(n)s quotes", quotes) % {"n": quotes},
                "chapters": ngettext("%(n)s chapter", "%(n)s chapters", chapters) % {"n": chapters},
            }
    except OperationalError:
        keep_template = True  # the task is retried and needs the template again
        raise
    finally:
        if job.input_file and not keep_template:
            # The template was only needed for this run; uploads must not pile up.
            job.input_file.delete(save=False)
            Job.objects.filter(pk=job.pk).update(input_file="")
