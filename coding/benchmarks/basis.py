"""Coder-basis figures of the demo study (issue 13): what counting each passage once changes.

Not a timing: ``manage.py benchmark basis`` loads the demo study (``load_demo``) into a scratch
SQLite database in a child process and prints, as JSON:

- ``excerpts_per_case``: the coded excerpts of Karmøy (coded by two coders) and Ringsaker (one
  coder) in the default cases × codes matrix, on the sum basis and on the merged basis;
- ``coded_words``: the matrix's "coded words" summed over its cells against the words actually
  inside the coded text of each cell (the counted words, ``nlp.count_words``, of the union of the
  cell's spans, computed here in Python from the transcripts' text as an independent check);
- ``word_export``: quotes in the by-code Word export, and how many are near-duplicates, by two
  definitions: ``overlapping`` (another quote of the same section, i.e. code × case, comes from
  an overlapping span of the same transcript) and ``similar_text`` (read back from the .docx
  with python-docx: another quote of the same section whose text is at least 50 % alike by
  ``difflib.SequenceMatcher.ratio``).
"""

from __future__ import annotations

import difflib
import io
import tempfile
from collections import defaultdict
from typing import Any

CASES = ("Karmøy", "Ringsaker")
SIMILAR = 0.5


def run(scale: str) -> dict:
    """The figures (``scale`` is ignored: the demo study has one size)."""
    from coding.benchmarks import in_child

    with tempfile.TemporaryDirectory(prefix="basis-figures-") as tmp:
        figures = in_child(
            "coding.benchmarks.basis:measure()",
            f"sqlite:///{tmp}/demo.sqlite3",
            timeout=1800,
            DEMO_PASSWORD_FILE=f"{tmp}/passwords",
        )
    return {"area": "basis", **figures}


# --- in the child process -------------------------------------------------------------------


def measure() -> dict[str, Any]:
    from django.core.management import call_command

    from coding.models import Project

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=io.StringIO())
    project = Project.objects.get()
    return {
        "project": project.name,
        "excerpts_per_case": _excerpts_per_case(project),
        "coded_words": _coded_words(project),
        "word_export": {basis: _word_export(project, basis) for basis in ("sum", "merged")},
    }


def _matrix(project: Any, basis: str, measure: str = "excerpts") -> Any:
    from coding.analysis import matrices
    from coding.analysis.filters import AnalysisFilterForm

    form = AnalysisFilterForm({"basis": basis, "measure": measure}, project=project)
    if not form.is_valid():
        raise RuntimeError(form.errors.as_json())
    return form, matrices.case_code_matrix(form, lambda r, c: "")


def _excerpts_per_case(project: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for basis in ("sum", "merged", "default"):
        _form, m = _matrix(project, basis)
        rows = {r.label: r.total.value for g in m.groups for r in g.rows}
        out[basis] = {case: rows[case] for case in CASES}
    return out


def _coded_words(project: Any) -> dict[str, Any]:
    """The matrix cells' words against the words inside each cell's coded text."""
    from coding.analysis import selection
    from coding.models import Transcript
    from coding.nlp import count_words

    form, _m = _matrix(project, "sum", "words")
    columns = form.columns
    # Each cell's spans (case × column), from the coder layer as the sum and merged read it.
    spans: dict[tuple[int, int], dict[int, list[tuple[int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    member_of = {m: c.pk for c in columns.codes for m in columns.members(c.pk)}
    for code_id, t_id, case_id, start, end in (
        selection.codings(form)
        .values_list(
            "tag_id",
            "content_object__transcript_id",
            "content_object__transcript__case_id",
            "content_object__start",
            "content_object__end",
        )
        .distinct()
    ):
        if code_id in member_of:
            spans[(case_id, member_of[code_id])][t_id].append((start, end))
    texts = dict(Transcript.objects.filter(case__project=project).values_list("pk", "text"))
    inside = 0
    for by_transcript in spans.values():
        for t_id, cell_spans in by_transcript.items():
            for start, end in _union(cell_spans):
                inside += count_words(texts[t_id][start:end])
    figures: dict[str, Any] = {"words_inside_coded_text": inside}
    for basis in ("sum", "merged"):
        _f, m = _matrix(project, basis, "words")
        cells = sum(c.value or 0 for g in m.groups for r in g.rows for c in r.cells)
        figures[basis] = {"coded_words": cells, "ratio": round(cells / inside, 4)}
    return figures


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _word_export(project: Any, basis: str) -> dict[str, int]:
    import docx
    from django.utils import translation

    from coding.analysis import selection as analysis_selection
    from coding.exports import rows
    from coding.exports.jobs import export_to_file
    from coding.models import Coding

    # The overlapping spans of a section, from the rows the export lays out.
    form = analysis_selection.bound_form(project, {"basis": basis})
    data = rows.collect(
        project,
        Coding.objects.for_project(project).filter(analysis_selection.basis_q(form)),
        merged=form.merged,
    )
    sections: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for code_id, excerpt_id, _coders in data.placements:
        e = data.excerpts[excerpt_id]
        sections[(code_id, e.case_id)].append(e.sort_key)
    overlapping = sum(
        1
        for keys in sections.values()
        for a in keys
        if any(b is not a and b[1] == a[1] and b[2] < a[3] and a[2] < b[3] for b in keys)
    )
    # The similar quotes of a section, read back from the document itself.
    buf = io.BytesIO()
    with translation.override("en"):
        stats = export_to_file(
            buf, project=project, params={"layout": "by-code", "basis": basis}, made_by=""
        )
    document = docx.Document(io.BytesIO(buf.getvalue()))
    # A section: the quotes under one Heading 2 (a case) of one Heading 1 (a code).
    quotes: dict[tuple[str, str], list[str]] = defaultdict(list)
    chapter = section = ""
    for p in document.paragraphs:
        style = p.style.name if p.style is not None else ""
        if style == "Heading 1":
            chapter, section = p.text, ""
        elif style == "Heading 2":
            section = p.text
        elif style == "Quote":
            quotes[(chapter, section)].append(p.text)
    similar = 0
    for texts in quotes.values():
        for i, a in enumerate(texts):
            if any(
                j != i and difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR
                for j, b in enumerate(texts)
            ):
                similar += 1
    return {
        "quotes": stats.quotes,
        "near_duplicates_overlapping": overlapping,
        "near_duplicates_similar_text": similar,
    }
