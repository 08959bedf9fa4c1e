"""Import benchmark: a generated .docx through the whole import path (parse, speakers, spaCy
segmentation with lemmas, database writes) against segmenting the same paragraphs with the bare
spaCy pipeline (blank("nb") + sentencizer) in the same run."""

from __future__ import annotations

import io
import itertools

import docx
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from coding import importers, nlp, services
from coding.demo import TRANSCRIPTS, load_manifest, source_paragraphs
from coding.models import Case, CaseKind, Codebook, Project

from . import figure, timed


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
        )
    return {
        "area": "import",
        "scale": scale,
        "database": connection.vendor,
        "baseline": "bare spaCy blank('nb') + sentencizer over the same paragraphs",
        "figures": figures,
    }
