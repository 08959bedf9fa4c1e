"""Import benchmark: a generated .docx through the whole import path (parse, speakers, spaCy
segmentation with lemmas, database writes) against segmenting the same paragraphs with the bare
spaCy pipeline (blank("nb") + sentencizer) in the same run."""

from __future__ import annotations

import io
import itertools
import time
from contextlib import contextmanager
from unittest import mock
from xml.sax.saxutils import escape

import docx
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from coding import importers, nlp, services
from coding.benchmarks import figure, hostile_files, timed
from coding.language import lemma_index, suggestions
from coding.management.demo import TRANSCRIPTS, load_manifest, source_paragraphs
from coding.models import Case, CaseKind, Codebook, Project


def corpus_paragraphs() -> list[str]:
    paras: list[str] = []
    for entry in load_manifest()["transcripts"]:
        paras.extend(source_paragraphs(TRANSCRIPTS / entry["source"])[2:])
    return paras


def generated_docx(words: int) -> tuple[bytes, list[str]]:
    """Interview-like paragraphs (from the demo sources, relabelled I:/IP:) up to ``words``."""
    out, n = [], 0
    for i, par in enumerate(itertools.cycle(corpus_paragraphs())):
        body = par.split(": ", 1)[1] if ": " in par[:40] else par
        out.append(f"{'I' if i % 2 == 0 else 'IP'}: {body}")
        n += len(body.split())
        if n >= words:
            break
    document = docx.Document()
    for par in out:
        document.add_paragraph(par)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), out


class _Rollback(Exception):
    pass


def run(scale: str) -> dict:
    sizes = {"small": [10_000, 50_000], "full": [50_000, 200_000]}[scale]
    repeat = 1 if scale == "small" else 3
    user, _ = get_user_model().objects.get_or_create(username="benchmark-user")
    figures = {}
    for words in sizes:
        data, paragraphs = generated_docx(words)

        def full_import(data: bytes = data) -> None:
            try:
                with transaction.atomic():
                    project = Project.objects.create(name="benchmark")
                    Codebook.objects.create(project=project, name="b")
                    case = Case.objects.create(project=project, name="b", kind=CaseKind.IN_DEPTH)
                    doc = importers.read_document(io.BytesIO(data), "bench.docx")
                    labels = importers.detect_speakers(doc)
                    speakers = {lab: {"kind": "interviewer"} for lab, _n in labels}
                    services.transcript_create(
                        case=case, doc=doc, title="b", speakers=speakers, user=user
                    )
                    raise _Rollback
            except _Rollback:
                pass

        bare = nlp.get_bare_nlp()

        def baseline(bare=bare, paragraphs: list[str] = paragraphs) -> None:
            for _doc in bare.pipe(paragraphs, batch_size=256):
                pass

        nlp.get_nlp()("Last inn oppslagstabellen.")  # load once, outside the timings
        baseline()  # warm up
        t_import, _ = timed(full_import, repeat)
        t_base, _ = timed(baseline, repeat)
        figures[f"import_{words // 1000}k_words"] = figure(
            t_import,
            t_base,
            words=words,
            docx_bytes=len(data),
            words_per_second=round(words / t_import),
            parts=parts(full_import, paragraphs),
        )
    figures["worst_case"] = worst_case(scale, user)
    return {
        "area": "import",
        "scale": scale,
        "database": connection.vendor,
        "baseline": "bare spaCy blank('nb') + sentencizer over the same paragraphs",
        "figures": figures,
    }


@contextmanager
def _clocked(target, name: str, spent: dict[str, float]):
    """Patch ``target.name`` so that the time spent in it adds up in ``spent[name]``."""
    real = getattr(target, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    with mock.patch.object(target, name, wrapper):
        yield


def parts(full_import, paragraphs: list[str]) -> dict:
    """Where one import's time goes: reading the file, the one spaCy pass (split into
    segmentation, spaCy's tokenizer, and lemmas, the sentence rule, lemma lookups and index
    words computed over its tokens), writing the sentences with their word index (the
    full-text engine's indexing included), refreshing suggestions after the transaction, and
    the rest (turns, audit, the transaction). Seconds and shares."""
    spent: dict[str, float] = {}
    with (
        _clocked(importers, "read_document", spent),
        _clocked(nlp, "split_sentences", spent),
        _clocked(lemma_index, "index_of_sentences", spent),
        _clocked(lemma_index, "write_sentences", spent),
        _clocked(suggestions, "after_import", spent),
    ):
        started = time.perf_counter()
        full_import()
        total = time.perf_counter() - started
    # The spaCy part of the one pass (its tokenizer: split_sentences runs no component) timed
    # alone over the same paragraphs; the rest of that pass is ours (nlp._doc_sentences): the
    # sentencizer's rule, a lemma lookup per token and the words of the index.
    pipeline = nlp.get_nlp()
    components = ["sentencizer", "nb_lookup_lemmatizer"]
    t_spacy, _ = timed(
        lambda: [None for _d in pipeline.pipe(paragraphs, batch_size=256, disable=components)],
        1,
    )
    nlp_seconds = spent.get("split_sentences", 0.0) + spent.get("index_of_sentences", 0.0)
    segment = min(nlp_seconds, t_spacy)
    seconds = {
        "read": spent.get("read_document", 0.0),
        "segment": segment,
        "lemmas": nlp_seconds - segment,
        "index_write": spent.get("write_sentences", 0.0),
        "suggestions": spent.get("after_import", 0.0),
    }
    seconds["other_writes"] = max(0.0, total - sum(seconds.values()))
    return {
        name: {"seconds": round(v, 4), "share": round(v / total, 3) if total else None}
        for name, v in seconds.items()
    }


def _import_bytes(data: bytes, name: str, user) -> None:
    """The whole import of one file (read, speakers, segmentation, writes), rolled back."""
    try:
        with transaction.atomic():
            project = Project.objects.create(name="benchmark")
            Codebook.objects.create(project=project, name="b")
            case = Case.objects.create(project=project, name="b", kind=CaseKind.IN_DEPTH)
            doc = importers.read_document(io.BytesIO(data), name)
            labels = importers.detect_speakers(doc)[:60]
            speakers = {lab: {"kind": "interviewer"} for lab, _n in labels}
            services.transcript_create(case=case, doc=doc, title="b", speakers=speakers, user=user)
            raise _Rollback
    except _Rollback:
        pass


def _normal_text(nbytes: int) -> bytes:
    """An ordinary transcript (demo paragraphs, I:/IP:) of about ``nbytes`` bytes."""
    out, n = [], 0
    for i, par in enumerate(itertools.cycle(corpus_paragraphs())):
        body = par.split(": ", 1)[1] if ": " in par[:40] else par
        line = f"{'I' if i % 2 == 0 else 'IP'}: {body}\n\n".encode()
        out.append(line)
        n += len(line)
        if n >= nbytes:
            break
    return b"".join(out)[:nbytes]


def _normal_docx(nbytes: int) -> bytes:
    """An ordinary .docx of about ``nbytes`` bytes (bisection on the word count)."""
    lo, hi = 50, max(100, nbytes)
    best = generated_docx(lo)[0]
    for _ in range(12):
        mid = (lo + hi) // 2
        data, _ = generated_docx(mid)
        if abs(len(data) - nbytes) < abs(len(best) - nbytes):
            best = data
        if len(data) < nbytes:
            lo = mid + 1
        else:
            hi = mid - 1
        if lo > hi or abs(len(data) - nbytes) < nbytes // 50:
            break
    return best


def _normal_odt(nbytes: int) -> bytes:
    """An ordinary .odt of about ``nbytes`` bytes."""

    def build(n: int) -> bytes:
        paras = [p for p in _normal_text(n).decode("utf-8", "ignore").split("\n\n") if p]
        return hostile_files.odt("".join(f"<text:p>{escape(p)}</text:p>" for p in paras))

    lo, hi = 10, max(100, nbytes * 8)
    best = build(lo)
    for _ in range(16):
        mid = (lo + hi) // 2
        data = build(mid)
        if abs(len(data) - nbytes) < abs(len(best) - nbytes):
            best = data
        if len(data) < nbytes:
            lo = mid + 1
        else:
            hi = mid - 1
        if lo > hi:
            break
    return best


def worst_case(scale: str, user) -> dict:
    """The slowest accepted hostile file, as a ratio to an ordinary transcript of the same size
    in bytes and format, both through the whole import (goal: at most 3×)."""
    n = {"small": 5_000, "full": importers.MAX_PARAGRAPHS - 1}[scale]
    cases = {
        "tiny-paragraphs.txt": (b"IP: ja\n\n" * n, "txt"),
        "numbered-paragraphs.docx": (hostile_files.docx_paragraphs(n), "docx"),
        "one-90000-letter-word.txt": (hostile_files.long_word(90_000), "txt"),
        "1500-speaker-labels.txt": (hostile_files.many_labels(1500), "txt"),
        "nested-to-the-limit.odt": (
            hostile_files.odt(
                "".join(
                    "<text:p>"
                    + "<text:span>" * 50
                    + f"IP: ord {i}"
                    + "</text:span>" * 50
                    + "</text:p>"
                    for i in range(n // 40)  # under 1 MB unpacked: a denser file is a zip bomb
                )
            ),
            "odt",
        ),
    }
    results = {}
    for name, (data, fmt) in cases.items():
        normal = {"docx": _normal_docx, "odt": _normal_odt}.get(fmt, _normal_text)(len(data))
        normal_name = f"normal.{fmt}"
        t_bad, _ = timed(lambda data=data, name=name: _import_bytes(data, name, user), 1)
        t_ok, _ = timed(
            lambda normal=normal, normal_name=normal_name: _import_bytes(normal, normal_name, user),
            1,
        )
        results[name] = figure(t_bad, t_ok, bytes=len(data), normal_bytes=len(normal))
    slowest = max(results, key=lambda k: results[k]["ratio"] or 0)
    return {"slowest": slowest, "ratio": results[slowest]["ratio"], "files": results}
