"""Search benchmark: lemma search on a generated project, and suggestion throughput.

A scratch project of interview-like transcripts (the demo sources, cycled and relabelled I:/IP:)
is imported through ``services.transcript_create`` and deleted at the end (it is committed so
that a fresh process can search it: ``restart``); ``database`` says which database ran.

Figures, each with a baseline measured in the same run (medians of several runs):

- ``search``: for each query, ``find_hits`` (every hit, with filters) and ``search`` (hits
  grouped, counts per case, KWIC lines of the first page), against a scan of the sentences'
  stored lemma strings with LIKE, which is what a search without the word index would read.
  ``page`` is the whole search page over HTTP (Django test client, template rendered).
- ``suggestions``: sentences per second through the whole suggestion path (the project's spaCy
  pipeline with the lemmatizer, the keyword PhraseMatcher, the learned textcat model) against
  the bare spaCy pipeline (``blank("nb")`` + sentencizer) over the same sentences.
- ``index``: words per second building the word index, against the bare pipeline over the same
  sentences.
- ``restart``: the first search in a fresh process, as after a restart: started as the web
  server starts (``casestudy.wsgi``, which loads the language pipeline before it serves) and,
  for comparison, as a bare ``django.setup()`` that loads the pipeline on the first query.
- ``goals``: the slowest warm lemma, phrase, prefix and NEAR search (goal 0.2 s each, the whole
  search with its KWIC page) and the first query after a restart (goal 1 s).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from coding import importers, nlp, services
from coding.benchmarks import figure, timed
from coding.language import classifier, lemma_index, lemma_search
from coding.management.demo import STUDY, TRANSCRIPTS, load_manifest, source_paragraphs
from coding.models import (
    Case,
    CaseKind,
    Codebook,
    Informant,
    Level,
    Membership,
    Project,
    Role,
    Sentence,
    Transcript,
)

WORDS_PER_TRANSCRIPT = 10_000
QUERIES = [
    ("lemma", "bolig", {}),
    ("lemma_rare", "startlån", {}),
    ("prefix", "bolig*", {}),
    ("phrase", "tildeling av bolig", {}),
    ("near", "bolig NEAR/5 nav", {}),
    ("exact_form", "boligene", {"exact": True}),
    ("lemma_filtered", "samarbeide", {"filtered": True}),
]


WARM_GOAL_SECONDS = 0.2
RESTART_GOAL_SECONDS = 1.0
GOAL_QUERIES = ("lemma", "phrase", "prefix", "near")

# Run in a fresh interpreter: how long its first search takes.
_FRESH_PROCESS = """
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casestudy.settings")
started = time.perf_counter()
if sys.argv[1] == "wsgi":
    import casestudy.wsgi  # noqa: F401  (the web server's start)
else:
    import django
    django.setup()
booted = time.perf_counter() - started
from coding.language import lemma_search
from coding.models import Project
project = Project.objects.get(pk=int(sys.argv[2]))
t = time.perf_counter()
result = lemma_search.search(project, lemma_search.parse_query(sys.argv[3]))
first = time.perf_counter() - t
t = time.perf_counter()
lemma_search.search(project, lemma_search.parse_query(sys.argv[3]))
print(json.dumps({"start_seconds": round(booted, 3), "first_query_seconds": round(first, 4),
                  "second_query_seconds": round(time.perf_counter() - t, 4),
                  "hits": result.total}))
"""


def _restart_figures(project: Project) -> dict:
    """The first search of a fresh process (a restarted server) over the committed project."""
    out = {}
    base = Path(__file__).resolve().parents[2]
    for how in ("wsgi", "setup"):
        done = subprocess.run(  # noqa: S603  (our own interpreter and code)
            [sys.executable, "-c", _FRESH_PROCESS, how, str(project.pk), "bolig"],
            cwd=base,
            env={**os.environ, "JOB_RUNNER": "eager"},
            capture_output=True,
            text=True,
            check=True,
        )
        out[how] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _paragraphs() -> list[str]:
    out: list[str] = []
    for entry in load_manifest()["transcripts"]:
        for par in source_paragraphs(TRANSCRIPTS / entry["source"])[2:]:
            out.append(par.split(": ", 1)[1] if ": " in par[:40] else par)
    return out


def _keywords() -> dict[str, list[str]]:
    study = json.loads(STUDY.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}

    def walk(codes: list[dict]) -> None:
        for c in codes:
            if c.get("keywords"):
                found[c["name"]] = c["keywords"]
            walk(c.get("children", []))

    walk(study["codebook"]["codes"])
    return found


def _build_project(words: int, user) -> Project:
    project = Project.objects.create(name="benchmark: search")
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    Codebook.objects.create(project=project, name="b")
    levels = [Level.STRATEGIC, Level.OPERATIVE, Level.USER]
    cases = [
        Case.objects.create(project=project, name=f"Kommune {i}", kind=CaseKind.CASE_STUDY)
        for i in range(3)
    ]
    informants = [
        Informant.objects.create(case=c, pseudonym=f"P{i}", level=levels[i % 3])
        for c in cases
        for i in range(3)
    ]
    paragraphs = itertools.cycle(_paragraphs())
    made, n = 0, 0
    while made < words:
        chunk, count = [], 0
        for i in itertools.count():
            body = next(paragraphs)
            chunk.append(f"{'I' if i % 2 == 0 else 'IP'}: {body}")
            count += len(body.split())
            if count >= WORDS_PER_TRANSCRIPT or made + count >= words:
                break
        who = informants[n % len(informants)]
        services.transcript_create(
            case=who.case,
            doc=importers.parse_pasted("\n\n".join(chunk), f"bench-{n}"),
            title=f"Intervju {n}",
            speakers={
                "I": {"kind": "interviewer"},
                "IP": {"kind": "informant", "informant_id": who.pk},
            },
            informant_ids=[who.pk],
            user=user,
        )
        made += count
        n += 1
    return project


def _scan_baseline(project: Project, query: lemma_search.Query):
    """The sentences whose stored lemma string holds the query's lemmas (a LIKE scan)."""
    terms = [t.values[0] for t in query.left + query.right]
    qs = Sentence.objects.filter(transcript__case__project=project)
    if query.near is None and len(terms) > 1:
        qs = qs.filter(lemmas__contains=" ".join(terms))
    else:
        for term in terms:
            qs = qs.filter(lemmas__contains=term)
    return lambda: list(qs.values_list("pk", "start", "end"))


def _search_figures(project: Project, user, repeat: int) -> dict:
    client = Client()
    client.force_login(user)
    url = reverse("coding:search", args=[project.pk])
    first_case = project.cases.order_by("pk").first()
    out = {}
    for name, text, opts in QUERIES:
        query = lemma_search.parse_query(text, exact=opts.get("exact", False))
        filters = (
            lemma_search.Filters(
                case_ids=[first_case.pk], levels=[Level.OPERATIVE, Level.STRATEGIC], coded=""
            )
            if opts.get("filtered")
            else lemma_search.Filters()
        )
        params = {"q": text}
        if opts.get("exact"):
            params["mode"] = "exact"
        if opts.get("filtered"):
            params.update({"case": first_case.pk, "level": [Level.OPERATIVE, Level.STRATEGIC]})
        hits = lemma_search.find_hits(project, query, filters)
        baseline = _scan_baseline(project, query)
        baseline()
        t_base, _ = timed(baseline, repeat)
        t_hits, _ = timed(lambda q=query, f=filters: lemma_search.find_hits(project, q, f), repeat)
        t_search, _ = timed(lambda q=query, f=filters: lemma_search.search(project, q, f), repeat)
        t_page, _ = timed(lambda p=params: client.get(url, p), repeat)
        out[name] = {
            "query": text
            + (" (exact form)" if opts.get("exact") else "")
            + (" (one case, two levels)" if opts.get("filtered") else ""),
            "hits": len(hits),
            "find_hits": figure(t_hits, t_base),
            "search_with_kwic": figure(t_search, t_base),
            "page": figure(t_page, t_base),
        }
    return out


def _suggestion_figures(sentences: list[str], repeat: int) -> dict:
    pipeline = nlp.get_nlp()
    bare = nlp.get_bare_nlp()
    matcher = classifier.KeywordMatcher(_keywords())
    # A model trained on silver labels (what the keywords find) in the demo paragraphs: its
    # accuracy does not matter here, only that it is a real model of the usual size.
    paragraphs = _paragraphs()[:1500]
    para_lemmas = classifier.text_lemmas(paragraphs)
    hits = [set(matcher.match(lem)) for lem in para_lemmas]
    model = classifier.train(
        [(lem, h) for lem, h in zip(para_lemmas, hits, strict=True)], keyword_hits=hits
    )

    def suggest() -> None:
        # The whole shown path: lemmas, keywords, model scores and the per-code rule.
        lemma_lists = [
            [t.lemma_ for t in doc if not (t.is_punct or t.is_space)]
            for doc in pipeline.pipe(sentences, batch_size=256)
        ]
        classifier.suggest(lemma_lists, matcher, model)

    def lemmas_only() -> None:
        for _doc in pipeline.pipe(sentences, batch_size=256):
            pass

    def baseline() -> None:
        for _doc in bare.pipe(sentences, batch_size=256):
            pass

    baseline()
    suggest()
    t_base, _ = timed(baseline, repeat)
    t_suggest, _ = timed(suggest, repeat)
    t_lemmas, _ = timed(lemmas_only, repeat)
    n = len(sentences)
    return {
        "sentences": n,
        "model_codes": len(model.labels),
        "keyword_codes": len(matcher.labels),
        "whole_path": figure(
            t_suggest,
            t_base,
            sentences_per_second=round(n / t_suggest),
            baseline_sentences_per_second=round(n / t_base),
        ),
        # The share of the whole path that is the lemmatizing pipeline itself.
        "pipeline_with_lemmas": figure(t_lemmas, t_base, sentences_per_second=round(n / t_lemmas)),
    }


def _index_figures(project: Project, repeat: int) -> dict:
    transcripts = list(Transcript.objects.filter(case__project=project).order_by("pk")[:5])
    texts = []
    for t in transcripts:
        texts.extend(t.text[s:e] for s, e in t.sentences.values_list("start", "end"))
    words = sum(t.word_count for t in transcripts)
    bare = nlp.get_bare_nlp()

    def build() -> None:
        for t in transcripts:
            lemma_index.index_transcript(t)

    def baseline() -> None:
        for _doc in bare.pipe(texts, batch_size=512):
            pass

    baseline()
    t_base, _ = timed(baseline, repeat)
    t_build, _ = timed(build, repeat)
    return {
        "words": words,
        "build": figure(t_build, t_base, words_per_second=round(words / t_build)),
    }


def run(scale: str) -> dict:
    words = {"small": 50_000, "full": 500_000}[scale]
    repeat = 3 if scale == "small" else 7
    user, _ = get_user_model().objects.get_or_create(username="benchmark-user")
    nlp.get_nlp()("Last inn oppslagstabellen.")  # load once, outside the timings
    with override_settings(ALLOWED_HOSTS=["testserver", "localhost"], JOB_RUNNER="eager"):
        project = _build_project(words, user)
        try:
            result = _figures(project, user, scale, repeat)
        finally:
            project.delete()
    return result


def _figures(project: Project, user, scale: str, repeat: int) -> dict:
    total = sum(
        Transcript.objects.filter(case__project=project).values_list("word_count", flat=True)
    )
    texts = dict(Transcript.objects.filter(case__project=project).values_list("pk", "text"))
    n_sentences = 20_000 if scale == "full" else 5_000
    rows = (
        Sentence.objects.filter(transcript__case__project=project)
        .order_by("pk")
        .values_list("transcript_id", "start", "end")[:n_sentences]
    )
    sentence_texts = [texts[tid][s:e] for tid, s, e in rows]
    restart = _restart_figures(project)
    search = _search_figures(project, user, repeat)
    warm = {name: search[name]["search_with_kwic"]["seconds"] for name in GOAL_QUERIES}
    return {
        "area": "search",
        "scale": scale,
        "database": connection.vendor,
        "project_words": total,
        "transcripts": len(texts),
        "baseline": {
            "search": "LIKE scan of the sentences' stored lemma strings for the same "
            "lemmas (no word index)",
            "suggestions": "bare spaCy blank('nb') + sentencizer over the same sentences",
            "index": "bare spaCy blank('nb') + sentencizer over the same sentences",
        },
        "goals": {
            "warm_seconds": warm,
            "warm_goal_seconds": WARM_GOAL_SECONDS,
            "warm_met": max(warm.values()) <= WARM_GOAL_SECONDS,
            "first_query_after_restart_seconds": restart["wsgi"]["first_query_seconds"],
            "restart_goal_seconds": RESTART_GOAL_SECONDS,
            "restart_met": restart["wsgi"]["first_query_seconds"] <= RESTART_GOAL_SECONDS,
        },
        "restart": restart,
        "search": search,
        "suggestions": _suggestion_figures(sentence_texts, max(3, repeat // 2)),
        "index": _index_figures(project, max(3, repeat // 2)),
    }
