"""REFI-QDA exchange benchmark: export and import of a generated project (full scale: 200,000
words in 40 transcripts, 10,000 codings by 2 coders on 5,000 excerpts) against the bare work
measured in the same run.

- ``export``: ``exchange.export_qdpx`` (queries, the element tree, serialising, the zip) against
  ``lxml`` serialising the very tree the export builds plus writing the same files into a zip;
- ``export`` baseline: lxml building the same elements (a copy of the export's tree: tags,
  attributes, text), serialising them, and zipping them with the same text files;
- ``import``: ``read_exchange`` + ``import_plan`` into a new project (in a transaction that is
  rolled back) against reading every member of the zip and parsing project.qde with lxml.
  The import also segments each text into sentences and builds its word index (spaCy), which
  the baseline does not: ``import_segmentation_seconds`` is that part alone, measured apart,
  and ``import_vs_transcript_import`` compares with the ordinary transcript import of the
  same texts (services.transcript_create), which does the same segmentation and indexing.
- ``import_vs_bare_with_segmentation``: the same import against the bare work an import that
  segments cannot avoid: the zip read and XML parse above plus segmenting every source's
  paragraphs with the bare spaCy pipeline (blank "nb" + sentencizer, the baseline of
  ``benchmark import``). The issue's goal (≤ 3× "for import, which also segments the text") is
  read against this figure; ``import`` (parse only) stays beside it.
- ``import_parts``: where the import's time goes, seconds and share of the whole (median over
  the runs): ``read_zip_xml`` (read_exchange: the zip, project.qde, each source's text and its
  normalisation), ``segmentation`` (segment_sources: speaker mapping and spaCy sentences),
  ``write_transcripts`` (transcript_create: turns, sentences and their word index, code
  suggestions; the ordinary transcript import's own writes), ``write_excerpts_codings``
  (excerpts_import) and ``write_rest`` (users, codebook, cases, variables, notes, GUIDs).

The measured and the bare work run by turns (``_by_turns``), so a burst of load on the shared
machine falls on both; the query log is off (DEBUG=1 would keep one the bare work has not).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import random
import statistics
import time
import zipfile
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from lxml import etree

from coding import importers, nlp, services
from coding.benchmarks import figure, timed
from coding.benchmarks.export import corpus
from coding.exchange import export_qdpx, read_exchange
from coding.exchange.export import build_project_xml
from coding.models import (
    Case,
    CaseKind,
    Code,
    Codebook,
    Coding,
    Excerpt,
    Membership,
    Project,
    Role,
    Transcript,
)
from coding.services.exchange import segment_sources, write_plan

SCALES = {"small": (20_000, 1_000), "full": (200_000, 10_000)}
N_TRANSCRIPTS = {"small": 4, "full": 40}


class _Rollback(Exception):
    pass


def generated_project(words: int, codings: int, n_transcripts: int, users) -> Project:
    """Transcripts of demo interview paragraphs with speaker labels, coded by two coders."""
    rnd = random.Random(5)  # noqa: S311 - reproducible test data
    texts = itertools.cycle(corpus())
    project = Project.objects.create(name="benchmark exchange")
    for u, role in zip(users, (Role.OWNER, Role.RESEARCHER), strict=True):
        Membership.objects.create(project=project, user=u, role=role)
    codebook = Codebook.objects.create(project=project, name="b")
    parents = [
        Code.objects.create(codebook=codebook, name=f"Faktor {i}", order=i) for i in range(6)
    ]
    codes = [
        Code.objects.create(codebook=codebook, name=f"Kode {i}", parent=parents[i % 6], order=i)
        for i in range(24)
    ]
    cases = [
        Case.objects.create(project=project, name=f"Kommune {c}", kind=CaseKind.CASE_STUDY, order=c)
        for c in range(10)
    ]
    per = words // n_transcripts
    excerpts_per = codings // 2 // n_transcripts
    excerpts = []
    for t in range(n_transcripts):
        paras: list[str] = []
        n = 0
        while n < per:
            par = next(texts)
            label = "I" if len(paras) % 2 == 0 else "IP"
            paras.append(f"{label}: {par}")
            n += len(par.split()) + 1
        text = "\n\n".join(paras)
        transcript = Transcript.objects.create(
            case=cases[t % len(cases)],
            title=f"Intervju {t}",
            text=text,
            word_count=n,
            created_by=users[0],
        )
        starts = []
        pos = 0
        for par in paras:
            starts.append((pos, pos + len(par)))
            pos += len(par) + 2
        for k in range(excerpts_per):
            s, e = starts[k % len(starts)]
            s += 4 + (k // len(starts)) * 3
            if s >= e:
                continue
            excerpts.append(
                Excerpt(transcript=transcript, start=s, end=e, text=text[s:e], created_by=users[0])
            )
    Excerpt.objects.bulk_create(excerpts, batch_size=2000, ignore_conflicts=True)
    rows = []
    for x in Excerpt.objects.filter(transcript__case__project=project):
        code = rnd.choice(codes)
        rows.append(Coding(tag=code, content_object=x, coder=users[0]))
        rows.append(
            Coding(tag=rnd.choice([code, rnd.choice(codes)]), content_object=x, coder=users[1])
        )
    Coding.objects.bulk_create(rows, batch_size=2000)
    return project


def _copy(el, parent=None):
    """The same element with lxml alone: tag, attributes, text, children."""
    out = (
        etree.Element(el.tag, el.attrib, nsmap=el.nsmap)
        if parent is None
        else (etree.SubElement(parent, el.tag, el.attrib))
    )
    out.text = el.text
    for child in el:
        _copy(child, out)
    return out


def _bare_export(root, files) -> None:
    """Build the same elements with lxml, serialise them, zip them with the same files."""
    tree = _copy(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "project.qde",
            etree.tostring(tree, xml_declaration=True, encoding="utf-8", pretty_print=True),
        )
        for path, text in files:
            zf.writestr(path, text.encode("utf-8"))


def _bare_import(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            content = zf.read(name)
            if name == "project.qde":
                etree.fromstring(content)


def _bare_segmentation(texts: list[str]) -> None:
    """Bare spaCy (blank nb + sentencizer) over every paragraph of the sources."""
    bare = nlp.get_bare_nlp()
    paragraphs = [p for t in texts for p in t.split("\n") if p.strip()]
    for _doc in bare.pipe(paragraphs, batch_size=256):
        pass


def _by_turns(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median time of each of ``fns``, run by turns so that all meet the same load on a
    shared machine (one after the other, a burst of load falls on one side only)."""
    times: list[list[float]] = [[] for _fn in fns]
    for _ in range(repeat):
        for fn, into in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            into.append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


@contextlib.contextmanager
def _time_calls(
    module: ModuleType, names: tuple[str, ...], into: dict[str, float]
) -> Iterator[None]:
    """Add the wall time of every call of ``module.<name>`` to ``into[name]`` while open (the
    import calls these services through the ``services`` module, so wrapping it sees them)."""
    originals = {name: getattr(module, name) for name in names}

    def timing(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - started

        return call

    for name, fn in originals.items():
        setattr(module, name, timing(name, fn))
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)


def _import_parts(runs: list[dict[str, float]], import_s: float) -> dict:
    """The import's parts (median seconds over the runs) and each one's share of the whole:
    reading (zip, XML, sources), segmenting (speaker mapping, sentences), and the write
    transaction split into the transcripts (``transcript_create``: turns, sentences, word
    index, suggestions), the passages and codings (``excerpts_import``) and the rest (users,
    codes, cases, variables, notes, GUIDs)."""

    def med(key: str) -> float:
        return statistics.median(r.get(key, 0.0) for r in runs)

    read, seg, total = med("read"), med("segmentation"), med("total")
    transcripts, passages = med("transcript_create"), med("excerpts_import")
    parts = {
        "read_zip_xml": read,
        "segmentation": seg,
        "write_transcripts": transcripts,
        "write_excerpts_codings": passages,
        "write_rest": total - read - seg - transcripts - passages,
    }
    return {
        name: {"seconds": round(v, 4), "share": round(v / total, 3) if total else None}
        for name, v in parts.items()
    } | {"total_seconds": round(total, 4), "import_seconds": round(import_s, 4)}


def run(scale: str) -> dict:
    words, n_codings = SCALES[scale]
    repeat = 1 if scale == "small" else 3
    User = get_user_model()
    users = [User.objects.get_or_create(username=f"benchmark-coder-{i}")[0] for i in (1, 2)]
    out: dict = {"scale": scale, "database": connection.vendor}
    settings.DEBUG = False  # no query log in the timings (the bare work keeps none either)
    try:
        with transaction.atomic():
            project = generated_project(words, n_codings, N_TRANSCRIPTS[scale], users)
            out["codings"] = Coding.objects.filter(tag__codebook__project=project).count()
            out["words"] = sum(
                Transcript.objects.filter(case__project=project).values_list(
                    "word_count", flat=True
                )
            )
            buf = io.BytesIO()
            export_qdpx(buf, project)
            data = buf.getvalue()
            out["qdpx_bytes"] = len(data)
            root, files, _stats = build_project_xml(project)
            export_s, bare_s = _by_turns(
                [lambda: export_qdpx(io.BytesIO(), project), lambda: _bare_export(root, files)],
                max(repeat, 3),
            )
            out["export"] = figure(export_s, bare_s, goal=2.0)

            plan = read_exchange(io.BytesIO(data), "benchmark.qdpx")
            texts = [s.text for s in plan.sources]
            nlp.get_nlp()  # loaded once per process, not part of any figure
            nlp.lemma_table()
            seg_s, _t = timed(lambda: [nlp.split_sentences(t, [(0, len(t))]) for t in texts], 1)

            runs: list[dict[str, float]] = []

            def one_import() -> None:
                # import_plan's two steps (segment_sources, write_plan) timed apart, and
                # within the write the two services that do most of it.
                t: dict[str, float] = {}
                try:
                    with (
                        transaction.atomic(),
                        _time_calls(services, ("transcript_create", "excerpts_import"), t),
                    ):
                        started = time.perf_counter()
                        p = read_exchange(io.BytesIO(data), "benchmark.qdpx")
                        t["read"] = time.perf_counter() - started
                        prepared = segment_sources(p)
                        t["segmentation"] = time.perf_counter() - started - t["read"]
                        write_plan(
                            p, prepared=prepared, actor=users[0], new_project_name="benchmark copy"
                        )
                        t["total"] = time.perf_counter() - started
                        raise _Rollback
                except _Rollback:
                    pass
                runs.append(t)

            def transcript_imports() -> None:
                # The ordinary transcript import of the same texts (no codes, no codings).
                try:
                    with transaction.atomic():
                        case = Case.objects.create(
                            project=project, name="baseline", kind="case_study"
                        )
                        for src in plan.sources:
                            doc = importers.parse_pasted(src.text, src.name)
                            labels = {
                                label: {"kind": "speaker"}
                                for label, _n in importers.detect_speakers(doc)
                            }
                            services.transcript_create(
                                case=case, doc=doc, title=src.name, speakers=labels
                            )
                        raise _Rollback
                except _Rollback:
                    pass

            import_s, ordinary_s, bare_s, bare_seg_s = _by_turns(
                [
                    one_import,
                    transcript_imports,
                    lambda: _bare_import(data),
                    lambda: _bare_segmentation(texts),
                ],
                max(repeat, 3),
            )
            out["import_vs_transcript_import"] = figure(import_s, ordinary_s)
            out["import"] = figure(import_s, bare_s)
            out["import_vs_bare_with_segmentation"] = figure(
                import_s, bare_s + bare_seg_s, goal=3.0
            )
            out["import_parts"] = _import_parts(runs, import_s)
            out["import_segmentation_seconds"] = round(seg_s, 4)
            out["import_without_segmentation_ratio"] = (
                round((import_s - seg_s) / bare_s, 3) if bare_s else None
            )
            raise _Rollback
    except _Rollback:
        pass
    return out
