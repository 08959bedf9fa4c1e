"""Coding benchmark: the transcript view and the coding save, on generated interview transcripts
(demo paragraphs relabelled I:/IP:) with generated codings by two coders.

- ``render``: GET of the transcript view through the test Client (access checks, queries, the
  rows of paragraphs, the codings as JSON, the template), median of a few runs.
- ``save``: 500 (full) POSTs of one code to a new passage through the real endpoint, p50 and p95.
- ``baseline``: rendering the same marked-up paragraphs (turn sections, numbered paragraphs,
  escaped text) with a bare template and nothing else, in the same run.

Everything is written inside one transaction that is rolled back, so any database can be used.
"""

from __future__ import annotations

import random
import re
import statistics
import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.template import engines
from django.test import Client, override_settings
from django.urls import reverse

from coding import services
from coding.analysis import transcript_page
from coding.benchmarks import figure, timed
from coding.benchmarks.import_ import corpus_paragraphs
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
    Sentence,
    Transcript,
    Turn,
)
from coding.offsets import Utf16Map

BARE = (
    '{% for turn in rows %}<section class="turn">'
    '{% for p in turn.paragraphs %}<p id="p{{ p.number }}"><span class="pn">'
    '{{ p.number }}</span><span class="t" data-o="{{ p.offset }}">{{ p.text }}</span></p>'
    "{% endfor %}</section>{% endfor %}"
)
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class _Rollback(Exception):
    pass


def build_transcript(case: Case, words: int, user) -> Transcript:
    """A transcript of about ``words`` words, one turn per paragraph, sentences by punctuation."""
    paragraphs, n = [], 0
    for i, par in enumerate(_cycle(corpus_paragraphs())):
        body = par.split(": ", 1)[1] if ": " in par[:40] else par
        label = "I" if i % 2 == 0 else "IP"
        paragraphs.append((label, body))
        n += len(body.split())
        if n >= words:
            break
    text = "\n\n".join(f"{label}: {body}" for label, body in paragraphs)
    transcript = Transcript.objects.create(
        case=case, title=f"Benchmark {words} words", text=text, word_count=n, created_by=user
    )
    turns, sentences, pos = [], [], 0
    for i, (label, body) in enumerate(paragraphs):
        start, content = pos, pos + len(label) + 2
        end = content + len(body)
        turns.append(
            Turn(
                transcript=transcript,
                index=i,
                start=start,
                content_start=content,
                end=end,
                label=label,
                is_interviewer=label == "I",
            )
        )
        s = content
        for part in SENTENCE_END.split(body):
            if part:
                s = text.index(part, s)
                sentences.append((i, s, s + len(part)))
                s += len(part)
        pos = end + 2
    Turn.objects.bulk_create(turns, batch_size=2000)
    turn_ids = dict(Turn.objects.filter(transcript=transcript).values_list("index", "pk"))
    Sentence.objects.bulk_create(
        [
            Sentence(transcript=transcript, turn_id=turn_ids[t], index=k, start=s, end=e)
            for k, (t, s, e) in enumerate(sentences)
        ],
        batch_size=5000,
    )
    transcript.bench_sentences = [(s, e) for _t, s, e in sentences]
    return transcript


def _cycle(items: list[str]):
    while True:
        yield from items


def add_codings(transcript: Transcript, n: int, codes: list[Code], coders, rng) -> None:
    """``n`` codings on spans of one to three sentences, by two coders, some overlapping."""
    sentences = transcript.bench_sentences
    starts = transcript.paragraph_starts()
    spans: dict[tuple[int, int], Excerpt] = {}
    rows = []
    while len(rows) < n:
        k = rng.randrange(len(sentences))
        s, e = sentences[k][0], sentences[min(len(sentences) - 1, k + rng.randint(0, 2))][1]
        services.check_span(transcript, s, e)
        excerpt = spans.get((s, e))
        if excerpt is None:
            excerpt = spans[(s, e)] = Excerpt(
                transcript=transcript,
                start=s,
                end=e,
                text=transcript.text[s:e],
                paragraph=transcript.paragraph_of(s, starts),
            )
        rows.append((excerpt, rng.choice(codes), rng.choice(coders)))
    Excerpt.objects.bulk_create(list(spans.values()), batch_size=2000)
    seen, codings = set(), []
    for excerpt, code, coder in rows:
        key = (excerpt.pk, code.pk, coder.pk)
        if key not in seen:
            seen.add(key)
            codings.append(Coding(content_object=excerpt, tag=code, coder=coder))
    Coding.objects.bulk_create(codings, batch_size=5000)


def bench_project(rng: random.Random) -> tuple[list, list[Code], Case]:
    """A project of two researchers (the coders) and a codebook of 40 codes, and its case."""
    User = get_user_model()
    coders = [User.objects.create_user(f"bench-coder-{i}-{time.time_ns()}") for i in range(2)]
    project = Project.objects.create(name="benchmark")
    codebook = Codebook.objects.create(project=project, name="b")
    codes = [
        Code.objects.create(
            codebook=codebook,
            name=f"Kode {i}",
            order=i,
            color=f"#{rng.randrange(0x1000000):06x}",
            shortcut=str(i + 1) if i < 9 else "",
        )
        for i in range(40)
    ]
    for c in coders:
        Membership.objects.create(project=project, user=c, role=Role.RESEARCHER)
    case = Case.objects.create(project=project, name="b", kind=CaseKind.IN_DEPTH)
    return coders, codes, case


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(scale: str) -> dict:
    sizes = {
        "small": [(10_000, 200, 100), (50_000, 1_000, 100)],
        "full": [(50_000, 1_000, 500), (200_000, 5_000, 500)],
    }[scale]
    repeat = 3 if scale == "small" else 5
    rng = random.Random(4)  # noqa: S311 (reproducible test data, not secrets)
    figures = {}
    # No query log (DEBUG), no HTTPS redirect, and the test Client's host: a production-like
    # request path whatever the environment says.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
        try:
            with transaction.atomic():
                coders, codes, case = bench_project(rng)
                client = Client()
                client.force_login(coders[0])
                for words, n_codings, n_saves in sizes:
                    figures.update(
                        _measure(
                            case, words, n_codings, n_saves, codes, coders, client, rng, repeat
                        )
                    )
                raise _Rollback
        except _Rollback:
            pass
    return {
        "area": "coding",
        "scale": scale,
        "database": connection.vendor,
        "baseline": "the same turns and numbered, escaped paragraphs rendered with a bare template",
        "figures": figures,
    }


def _measure(case, words, n_codings, n_saves, codes, coders, client, rng, repeat) -> dict:
    transcript = build_transcript(case, words, coders[0])
    add_codings(transcript, n_codings, codes, coders, rng)
    url = reverse("coding:transcript-detail", args=[transcript.pk])

    umap = Utf16Map(transcript.text)
    rows = transcript_page.transcript_rows(transcript, umap, list(transcript.turns.all()))
    bare = engines["django"].from_string(BARE)

    def baseline() -> None:
        bare.render({"rows": rows})

    def render() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"transcript view answered {response.status_code}")

    render()  # warm up: templates compiled, caches filled
    baseline()
    page_bytes = len(client.get(url).content)
    t_render, _ = timed(render, repeat)
    t_base, _ = timed(baseline, repeat)

    save_url = reverse("coding:workspace-code", args=[transcript.pk])
    sentences = transcript.bench_sentences
    times = []
    for _ in range(n_saves):
        k = rng.randrange(len(sentences))
        s, e = sentences[k]
        cut = rng.randint(0, max(0, (e - s) // 3))
        body = {
            "start": umap.to_u16(s + cut),
            "end": umap.to_u16(e),
            "code": [rng.choice(codes).pk],
        }
        started = time.perf_counter()
        response = client.post(save_url, body)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"save answered {response.status_code}: {response.content[:200]}")
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    key = f"{words // 1000}k_words_{n_codings}_codings"
    return {
        f"render_{key}": figure(t_render, t_base, words=words, codings=n_codings, bytes=page_bytes),
        f"save_p50_{key}": figure(p50, t_base, saves=n_saves),
        f"save_p95_{key}": figure(p95, t_base, saves=n_saves),
    }
