"""Export benchmark: the Word export of 1,000 and 10,000 excerpts against a baseline written in
the same run, the same paragraphs appended to a python-docx document at the XML level (a bare
w:p/w:r/w:t per paragraph, no layout), and the peak memory of each (tracemalloc).

Three figures per size:
- ``write``: ``word.write_word`` from rows built in memory (no database), the layout code and
  the writer alone;
- ``collect_and_write``: the whole job body over a scratch project in a transaction that is
  rolled back (queries, rows, layout, writer), ``database`` in the output says which database;
- ``python_docx_api`` (1,000 only): the same paragraphs through python-docx's own
  ``add_paragraph``, which scans the body for every paragraph: quadratic, shown for contrast.

Memory: ``peak_mb`` is tracemalloc's peak (Python objects only); ``peak_rss_mb`` the growth of
the resident high-water mark in a fresh interpreter, which also counts lxml's tree: of the writer
(``write_*``) and of the whole job body from the database (``collect_and_write_*``, after its
scratch project is made). ``peak_rss_10k_over_1k`` and ``job_peak_rss_10k_over_1k`` compare
10,000 excerpts with 1,000 (goal <= 2: memory flat in the number of excerpts).
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import random
import statistics
import tracemalloc

import docx
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from lxml import etree

from coding.benchmarks import _rss, figure, timed
from coding.exports import rows
from coding.exports.word import LAYOUT_REPORT, ExportOptions, write_word
from coding.exports.wordml import PPR, PSTYLE, VAL, P, R, T, w
from coding.management.demo import TRANSCRIPTS, load_manifest, source_paragraphs
from coding.models import (
    Case,
    CaseKind,
    Code,
    Codebook,
    Coding,
    Excerpt,
    Informant,
    Level,
    Memo,
    Project,
    Transcript,
)

N_CASES = 14
N_CODES = 38
N_INFORMANTS_PER_CASE = 3
EXCERPTS_PER_TRANSCRIPT = 100
OPTIONS = {"memos": True, "context_words": 10}


def corpus() -> list[str]:
    """Interview paragraphs of the demo study, for realistic quote lengths and letters."""
    paras: list[str] = []
    for entry in load_manifest()["transcripts"]:
        for par in source_paragraphs(TRANSCRIPTS / entry["source"])[2:]:
            body = par.split(": ", 1)[1] if ": " in par[:40] else par
            if len(body) > 80:
                paras.append(body)
    return paras


def memory_rows(n: int, seed: int = 7) -> rows.ExportData:
    """An ExportData of ``n`` excerpts, each under one or two codes, a quarter with a memo."""
    rnd = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    texts = itertools.cycle(corpus())
    codes = [
        rows.CodeRow(i, f"Kode {i}", None if i < 6 else i % 6, 0 if i < 6 else 1, "Definisjon.")
        for i in range(N_CODES)
    ]
    informants = [
        rows.InformantRow(i, f"Informant {i}", "Boligkoordinator", "Operativt nivå")
        for i in range(N_CASES * N_INFORMANTS_PER_CASE)
    ]
    cases = [
        rows.CaseRow(
            c,
            f"Kommune {c}",
            "Casekommune",
            attributes=(("Innbyggere", "24 699"),),
            informants=tuple(informants[c * 3 : c * 3 + 3]),
        )
        for c in range(N_CASES)
    ]
    excerpts, placements = {}, []
    for i in range(n):
        case = i % N_CASES
        text = next(texts)
        excerpts[i] = rows.ExcerptRow(
            id=i,
            case_id=case,
            transcript_title=f"Intervju {i // EXCERPTS_PER_TRANSCRIPT}",
            paragraph=1 + i % 120,
            text=text,
            informants=(informants[case * 3 + i % 3],),
            code_ids=tuple(sorted(rnd.sample(range(6, N_CODES), 2))),
            memos=(rows.MemoRow("Kari Koder A", "Et notat om utdraget."),) if i % 4 == 0 else (),
            before=next(texts)[-200:],
            after=next(texts)[:200],
            sort_key=(case, i // EXCERPTS_PER_TRANSCRIPT, i),
        )
        for code_id in excerpts[i].code_ids[: 1 + (i % 2)]:
            placements.append((code_id, i, ("Kari Koder A",)))
    return rows.ExportData(
        project_name="Benchmark", codes=codes, cases=cases, excerpts=excerpts, placements=placements
    )


def paragraphs_of(data: bytes) -> list[tuple[str | None, str]]:
    """(style id, text) of every body paragraph of a .docx, for the baseline to write again."""
    body = docx.Document(io.BytesIO(data)).element.body
    out = []
    for p in body.iter(P):
        style = p.find(f"{PPR}/{PSTYLE}")
        out.append((style.get(VAL) if style is not None else None, "".join(p.itertext())))
    return out


def baseline_writer(paragraphs: list[tuple[str | None, str]]):
    def write() -> bytes:
        document = docx.Document()
        body = document.element.body
        sect_pr = body.find(w("sectPr"))
        for style, text in paragraphs:
            p = etree.Element(P)
            if style:
                etree.SubElement(etree.SubElement(p, PPR), PSTYLE).set(VAL, style)
            etree.SubElement(etree.SubElement(p, R), T).text = text
            sect_pr.addprevious(p)
        buf = io.BytesIO()
        document.save(buf)
        return buf.getvalue()

    return write


def api_writer(paragraphs: list[tuple[str | None, str]]):
    def write() -> bytes:
        document = docx.Document()
        names = {s.style_id: s for s in document.styles}
        for style, text in paragraphs:
            document.add_paragraph(text, names.get(style))
        buf = io.BytesIO()
        document.save(buf)
        return buf.getvalue()

    return write


def paired(fn, baseline, repeat: int) -> tuple[float, float]:
    """Median times of ``fn`` and ``baseline`` run in turns, so both see the same load (the
    machines are shared: a burst of load would otherwise land on one side of the ratio)."""
    ours, base = [], []
    for _ in range(repeat):
        ours.append(timed(fn, 1)[0])
        base.append(timed(baseline, 1)[0])
    return statistics.median(ours), statistics.median(base)


def peak_rss_mb(n: int, which: str, paragraphs: list | None = None) -> float | None:
    """Growth of peak resident memory while writing ``n`` excerpts ("ours" or "baseline").

    tracemalloc sees only Python's allocations; lxml's tree lives in libxml2's. The resident
    high-water mark counts both, but only in a fresh process (an old one reuses memory it
    freed), so each measurement runs in a spawned interpreter (coding/benchmarks/_rss.py).
    """
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_rss.measure, (n, which, paragraphs))


def peak_mb(fn) -> float:
    """Peak of Python's own allocations while ``fn`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 2**20, 1)


class _Rollback(Exception):
    pass


def scratch_project(n: int, user) -> Project:
    """A project with ``n`` coded excerpts (inside the caller's transaction)."""
    texts = itertools.cycle(corpus())
    project = Project.objects.create(name="benchmark export")
    codebook = Codebook.objects.create(project=project, name="b")
    parents = [
        Code.objects.create(codebook=codebook, name=f"Gruppe {i}", order=i) for i in range(6)
    ]
    codes = [
        Code.objects.create(codebook=codebook, name=f"Kode {i}", parent=parents[i % 6], order=i)
        for i in range(N_CODES - 6)
    ]
    cases = [
        Case.objects.create(project=project, name=f"Kommune {c}", kind=CaseKind.CASE_STUDY, order=c)
        for c in range(N_CASES)
    ]
    informants = [
        Informant.objects.create(
            case=case, pseudonym=f"Informant {k}", role_title="Leder", level=Level.OPERATIVE
        )
        for case in cases
        for k in range(N_INFORMANTS_PER_CASE)
    ]
    excerpts, rnd = [], random.Random(11)  # noqa: S311 - reproducible test data
    for t in range(-(-n // EXCERPTS_PER_TRANSCRIPT)):
        paras = [next(texts) for _ in range(EXCERPTS_PER_TRANSCRIPT)]
        text = "\n\n".join(paras)
        case = cases[t % N_CASES]
        transcript = Transcript.objects.create(
            case=case, title=f"Intervju {t}", text=text, word_count=len(text.split())
        )
        transcript.informants.add(informants[(t % N_CASES) * 3])
        pos = 0
        for k, par in enumerate(paras):
            if len(excerpts) < n:
                excerpts.append(
                    Excerpt(
                        transcript=transcript,
                        start=pos,
                        end=pos + len(par),
                        text=par,
                        paragraph=k + 1,
                        created_by=user,
                    )
                )
            pos += len(par) + 2
    Excerpt.objects.bulk_create(excerpts, batch_size=2000)
    codings, memos = [], []
    for i, e in enumerate(excerpts):
        for code in rnd.sample(codes, 1 + (i % 2)):
            codings.append(Coding(tag=code, content_object=e, coder=user))
        if i % 4 == 0:
            memos.append(Memo(project=project, author=user, excerpt=e, text="Et notat."))
    Coding.objects.bulk_create(codings, batch_size=2000)
    Memo.objects.bulk_create(memos, batch_size=2000)
    return project


def job_body(project: Project) -> None:
    """What the export job does for the whole project: read the rows, write the document."""
    codings = Coding.objects.for_project(project)
    data = rows.collect(
        project, codings, memos=True, context=True, context_words=OPTIONS["context_words"]
    )
    write_word(io.BytesIO(), data, ExportOptions(**OPTIONS))


def report_rows(n: int) -> rows.ExportData:
    """The rows of the report layout for ``n`` excerpts, every one a key quote: the six
    top-level codes are the factors (their sub-codes count under them), every cell, case and
    factor has its text."""
    data = memory_rows(n)
    data.factors = [c.id for c in data.codes if c.parent_id is None]
    data.factor_of = {c.id: (c.parent_id if c.parent_id is not None else c.id) for c in data.codes}
    text = "Et sammendrag av det kasuset viser for faktoren, skrevet av forskeren. " * 4
    data.summaries = {(case.id, f): text for case in data.cases for f in data.factors}
    data.case_summaries = {case.id: text for case in data.cases}
    data.syntheses = dict.fromkeys(data.factors, text)
    return data


def report_figure(n: int, repeat: int) -> dict:
    """The report layout (``word.LAYOUT_REPORT``) against the XML-level baseline writing the
    same paragraphs."""
    data = report_rows(n)
    options = ExportOptions(layout=LAYOUT_REPORT, **OPTIONS)

    def ours() -> bytes:
        buf = io.BytesIO()
        write_word(buf, data, options)
        return buf.getvalue()

    written = ours()
    paragraphs = paragraphs_of(written)
    base = baseline_writer(paragraphs)
    base()
    t_ours, t_base = paired(ours, base, repeat)
    return figure(
        t_ours,
        t_base,
        excerpts=n,
        paragraphs=len(paragraphs),
        docx_kb=len(written) // 1024,
        goal_ratio=2.0,
    )


def run(scale: str) -> dict:
    sizes = [1_000, 10_000]
    repeat = 1 if scale == "small" else 5
    user, _ = get_user_model().objects.get_or_create(username="benchmark-user")
    options = ExportOptions(**OPTIONS)
    figures: dict[str, dict] = {}
    for n in sizes:
        data = memory_rows(n)

        def ours(data: rows.ExportData = data) -> bytes:
            buf = io.BytesIO()
            write_word(buf, data, options)
            return buf.getvalue()

        written = ours()  # warm up, and the paragraphs the baseline writes again
        paragraphs = paragraphs_of(written)
        base = baseline_writer(paragraphs)
        base()
        t_ours, t_base = paired(ours, base, repeat)
        figures[f"write_{n // 1000}k_excerpts"] = figure(
            t_ours,
            t_base,
            excerpts=n,
            quotes=len(data.placements),
            paragraphs=len(paragraphs),
            docx_kb=len(written) // 1024,
            peak_mb=peak_mb(ours),
            baseline_peak_mb=peak_mb(base),
            peak_rss_mb=peak_rss_mb(n, "ours"),
            baseline_peak_rss_mb=peak_rss_mb(n, "baseline", paragraphs),
        )

        def whole_job(n: int = n, base=base) -> None:
            try:
                with transaction.atomic():
                    project = scratch_project(n, user)
                    t_job, t_b = paired(lambda: job_body(project), base, max(1, repeat // 2))
                    figures[f"collect_and_write_{n // 1000}k_excerpts"] = figure(
                        t_job, t_b, excerpts=n, goal_ratio=2.0
                    )
                    raise _Rollback
            except _Rollback:
                pass

        whole_job()
        # After the rollback: the spawned interpreter makes its own scratch project.
        figures[f"collect_and_write_{n // 1000}k_excerpts"]["peak_rss_mb"] = peak_rss_mb(n, "job")
        if n <= 1_000:
            t_api, t_b = paired(api_writer(paragraphs), base, 1)
            figures[f"python_docx_api_{n // 1000}k_excerpts"] = figure(
                t_api, t_b, paragraphs=len(paragraphs)
            )
    figures["report_10k_excerpts"] = report_figure(10_000, repeat)
    small, large = figures["write_1k_excerpts"], figures["write_10k_excerpts"]
    return {
        "area": "export",
        "scale": scale,
        "database": connection.vendor,
        "baseline": "the same paragraphs appended to a python-docx document at the XML level",
        "figures": figures,
        # 10x the excerpts should cost about 10x the time: linear, not quadratic.
        "growth_10k_over_1k": round(large["seconds"] / small["seconds"], 2),
        "baseline_growth_10k_over_1k": round(
            large["baseline_seconds"] / small["baseline_seconds"], 2
        ),
        # The same, as a ratio: about 1 when the export grows like the baseline (load cancels).
        "growth_ratio_to_baseline": round(large["ratio"] / small["ratio"], 2),
        # Memory flat in the number of excerpts (goal <= 2): peak RSS growth at 10,000 over
        # 1,000, of the writer alone and of the whole job (each in a fresh interpreter).
        "peak_rss_10k_over_1k": _over(large["peak_rss_mb"], small["peak_rss_mb"]),
        "job_peak_rss_10k_over_1k": _over(
            figures["collect_and_write_10k_excerpts"]["peak_rss_mb"],
            figures["collect_and_write_1k_excerpts"]["peak_rss_mb"],
        ),
        "baseline_peak_rss_10k_over_1k": _over(
            large["baseline_peak_rss_mb"], small["baseline_peak_rss_mb"]
        ),
    }


def _over(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None
