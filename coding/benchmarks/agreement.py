"""Agreement benchmark: intercoder agreement for all codes of a generated project (200,000 words
in 40 transcripts, 3 coders, 10,000 codings, 30 codes; ``--scale small``: 50,000 words, 2,500
codings), character level.

- ``agreement``: ``coding.analysis.agreement.build`` as the page calls it (the filter form, the
  queries, the sweep over span boundaries, every figure per code, transcript, cell and pooled,
  existence and frequency, 1,000 bootstrap resamples);
- ``agreement_no_bootstrap``: the same without resamples;
- ``baseline``: a bare numpy computation of the same character-level figures (Fleiss' kappa,
  Krippendorff's alpha and the three pairwise Cohen's kappas per code, pooled over the
  transcripts) from the same spans already in memory: one boolean array per code and coder over
  all the text, filled by slices. The two must agree to 1e-9, or the benchmark fails.

- ``unitized``: ``coding.analysis.unitized.build`` (Krippendorff's |uα per code and pooled, Cuα
  over the 30 codes as domains, 1,000 bootstrap resamples), and ``unitized_no_bootstrap``,
  against a bare numpy computation of the same per-code |uα from dense boolean arrays (runs of
  coded characters are the units); the two must agree to 1e-9, or the benchmark fails.

- ``comparison_view``: GET of the comparison view (all three coders, the transcript's most
  used code) through the test Client, against the transcript view of the same transcript.

Everything is written inside one transaction that is rolled back, so any database can be used.
"""

from __future__ import annotations

import random
import time
from itertools import combinations

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client, override_settings
from django.urls import reverse

from coding.analysis import agreement, unitized
from coding.benchmarks import figure, timed
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

SIZES = {"small": (50_000, 2_500), "full": (200_000, 10_000)}
N_TRANSCRIPTS = {"small": 10, "full": 40}
N_CODERS = 3
N_CODES = 30
REPEAT = {"small": 3, "full": 3}
WORDS = "bolig tjeneste kommune samarbeid plan strategi bruker leie tilskudd æøå".split()


class _Rollback(Exception):
    pass


def fill(scale: str, rng: random.Random) -> tuple[Project, list[int]]:
    words, n_codings = SIZES[scale]
    n_t = N_TRANSCRIPTS[scale]
    User = get_user_model()
    stamp = time.time_ns()
    coders = [User.objects.create_user(f"bench-agree-{i}-{stamp}") for i in range(N_CODERS)]
    project = Project.objects.create(name="agreement benchmark")
    for c in coders:
        Membership.objects.create(project=project, user=c, role=Role.RESEARCHER)
    codebook = Codebook.objects.create(project=project, name="b")
    codes = Code.objects.bulk_create(
        Code(codebook=codebook, name=f"Kode {i:02d}", slug=f"kode-{i:02d}", order=i)
        for i in range(N_CODES)
    )
    case = Case.objects.create(project=project, name="b", kind=CaseKind.IN_DEPTH)
    transcripts = Transcript.objects.bulk_create(
        Transcript(
            case=case,
            title=f"T{i:02d}",
            text=" ".join(rng.choice(WORDS) for _ in range(words // n_t)),
            word_count=words // n_t,
        )
        for i in range(n_t)
    )
    excerpts: dict[tuple[int, int, int], Excerpt] = {}
    rows = []
    while len(rows) < n_codings:
        # One passage, coded by each coder with probability 0.8 and boundaries moved a little.
        t = rng.choice(transcripts)
        start = rng.randrange(0, len(t.text) - 700)
        end = start + rng.randint(40, 600)
        code = rng.choice(codes)
        for coder in coders:
            if rng.random() < 0.8 and len(rows) < n_codings:
                s = max(0, start + rng.randint(-30, 30))
                e = max(s + 5, end + rng.randint(-30, 30))
                key = (t.pk, s, e)
                if key not in excerpts:
                    excerpts[key] = Excerpt(transcript=t, start=s, end=e, text=t.text[s:e])
                rows.append((excerpts[key], code, coder))
    Excerpt.objects.bulk_create(list(excerpts.values()), batch_size=2000)
    seen, codings = set(), []
    for excerpt, code, coder in rows:
        key = (excerpt.pk, code.pk, coder.pk)
        if key not in seen:
            seen.add(key)
            codings.append(Coding(content_object=excerpt, tag=code, coder=coder))
    Coding.objects.bulk_create(codings, batch_size=5000)
    return project, [c.pk for c in coders]


def _offsets(scope: agreement.Scope) -> tuple[dict[int, int], int]:
    """Where each transcript starts in all the text, and its length."""
    offsets, total = {}, 0
    for t in scope.transcripts:
        offsets[t["pk"]] = total
        total += t["length"]
    return offsets, total


def _dense(scope: agreement.Scope, code_id: int, offsets: dict[int, int], total: int) -> np.ndarray:
    """Coders × all the text's characters: True where the coder coded ``code_id``."""
    values = np.zeros((len(scope.coders), total), dtype=bool)
    for k, u in enumerate(scope.coders):
        for t in scope.transcripts:
            base = offsets[t["pk"]]
            for s, e in scope.spans.get((code_id, t["pk"], u.pk), ()):
                values[k, base + s : base + e] = True
    return values


def bare(scope: agreement.Scope) -> dict[int, dict[str, float]]:
    """The per-code figures from dense boolean arrays: nothing but numpy."""
    offsets, total = _offsets(scope)
    m = len(scope.coders)
    out = {}
    for code in scope.codes:
        values = _dense(scope, code.pk, offsets, total)
        yes = values.sum(axis=0).astype(np.float64)
        n = total
        p_bar = np.sum(yes * (yes - 1) + (m - yes) * (m - yes - 1)) / (n * m * (m - 1))
        p1 = yes.sum() / (n * m)
        pe = p1**2 + (1 - p1) ** 2
        fleiss = (p_bar - pe) / (1 - pe)
        n1 = yes.sum()
        n0 = n * m - n1
        disagree = np.sum(yes * (m - yes)) / (m - 1)
        alpha = 1 - (n * m - 1) * disagree / (n0 * n1)
        cohen = {}
        for a, b in combinations(range(m), 2):
            po = np.mean(values[a] == values[b])
            ra, rb = values[a].mean(), values[b].mean()
            pe2 = ra * rb + (1 - ra) * (1 - rb)
            cohen[(a, b)] = (po - pe2) / (1 - pe2)
        out[code.pk] = {"fleiss_kappa": fleiss, "krippendorff_alpha": alpha, "cohen": cohen}
    return out


def bare_unitized(scope: agreement.Scope) -> dict[int, float]:
    """Per code |uα from dense boolean arrays over all the text: nothing but numpy."""
    offsets, total = _offsets(scope)
    starts = np.zeros(total + 1, dtype=bool)
    starts[list(offsets.values())] = True  # a unit never runs on into the next transcript
    m = len(scope.coders)
    n = m * total
    out = {}
    for code in scope.codes:
        values = _dense(scope, code.pk, offsets, total)
        yes = values.sum(axis=0).astype(np.float64)
        gap = np.sum(m - yes)  # l_0.: each coder's uncoded characters
        disagree = np.sum(yes * (m - yes)) / (m - 1)  # l_01
        squares = gap
        for k in range(m):
            v = values[k]
            # A unit (a connected stretch of coding) begins where coding begins, or where a
            # transcript begins inside coding.
            begins = v & ~np.concatenate([[False], v[:-1]]) | v & starts[:-1]
            lengths = np.bincount(np.cumsum(begins)[v])[1:].astype(np.float64)
            squares += np.sum(lengths**2)
        expected = n * gap * (n - gap) / (n * n - squares)
        out[code.pk] = 1 - disagree / expected
    return out


def run(scale: str) -> dict:
    rng = random.Random(13)  # noqa: S311 (reproducible test data, not secrets)
    repeat = REPEAT[scale]
    # No query log (DEBUG), no HTTPS redirect, and the test Client's host.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
        try:
            with transaction.atomic():
                started = time.perf_counter()
                project, coder_ids = fill(scale, rng)
                fill_seconds = time.perf_counter() - started
                result = _measure(project, coder_ids, repeat)
                result["fill_seconds"] = round(fill_seconds, 1)
                raise _Rollback
        except _Rollback:
            pass
    words, n_codings = SIZES[scale]
    return {
        "area": "agreement",
        "scale": scale,
        "database": connection.vendor,
        "data": {
            "words": words,
            "transcripts": N_TRANSCRIPTS[scale],
            "coders": N_CODERS,
            "codings": n_codings,
            "codes": N_CODES,
        },
        "baseline": "bare numpy over dense boolean arrays per code and coder, same spans in memory",
        "goal": "agreement ratio <= 3",
        **result,
    }


def _measure(project: Project, coder_ids: list[int], repeat: int) -> dict:
    def ours(resamples: int = agreement.RESAMPLES) -> agreement.Report:
        return agreement.build(project, coder_ids=coder_ids, unit="character", resamples=resamples)

    scope = agreement.load_scope(project, coder_ids=coder_ids)
    report = ours()
    expected = bare(scope)
    for row in report.rows:
        for name in ("fleiss_kappa", "krippendorff_alpha"):
            got, want = row.figure.values[name], expected[row.code.pk][name]
            if got is None or abs(got - want) > 1e-9:
                raise RuntimeError(f"{row.code.name} {name}: {got} against numpy's {want}")
    seconds, _ = timed(ours, repeat)
    no_boot, _ = timed(lambda: ours(0), repeat)
    baseline, _ = timed(lambda: bare(scope), repeat)

    def ours_unitized(resamples: int = agreement.RESAMPLES) -> unitized.UReport:
        return unitized.build(project, coder_ids=coder_ids, resamples=resamples)

    u_report = ours_unitized()
    u_expected = bare_unitized(scope)
    for row in u_report.rows:
        got, want = row.figure.values["u_alpha_binary"], u_expected[row.code.pk]
        if got is None or abs(got - want) > 1e-9:
            raise RuntimeError(f"{row.code.name} u_alpha_binary: {got} against numpy's {want}")
    u_seconds, _ = timed(ours_unitized, repeat)
    u_no_boot, _ = timed(lambda: ours_unitized(0), repeat)
    u_baseline, _ = timed(lambda: bare_unitized(scope), repeat)
    view, transcript_view = _views(project, coder_ids, repeat)
    return {
        "codings": Coding.objects.filter(tag__codebook__project=project).count(),
        "characters": sum(t["length"] for t in scope.transcripts),
        "figures": {
            "agreement": figure(seconds, baseline),
            "agreement_no_bootstrap": figure(no_boot, baseline),
            "unitized": figure(u_seconds, u_baseline),
            "unitized_no_bootstrap": figure(u_no_boot, u_baseline),
            "comparison_view": figure(view, transcript_view),
        },
    }


def _views(project: Project, coder_ids: list[int], repeat: int) -> tuple[float, float]:
    """Median render of the comparison view and of the transcript view, same transcript."""
    busiest = (
        Coding.objects.filter(tag__codebook__project=project)
        .values("content_object__transcript_id", "tag_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    t_id, code_id = busiest["content_object__transcript_id"], busiest["tag_id"]
    client = Client()
    client.force_login(get_user_model().objects.get(pk=coder_ids[0]))
    compare = reverse("coding:analysis-agreement-compare", args=[t_id])
    query = {"code": code_id, "coders": coder_ids}
    transcript = reverse("coding:transcript-detail", args=[t_id])

    def get(url: str, data: dict | None = None) -> None:
        response = client.get(url, data)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")

    get(compare, query)  # warm
    get(transcript)
    seconds, _ = timed(lambda: get(compare, query), repeat)
    baseline, _ = timed(lambda: get(transcript), repeat)
    return seconds, baseline
