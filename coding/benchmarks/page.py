"""Page-size benchmark: how many bytes the transcript view sends for a 200,000-word transcript
with 5,000 codings by two coders (``full``; ``small``: 50,000 words, 1,000 codings), raw and
gzipped (level 6, what a web server's gzip sends by default): the whole page, the transcript's
HTML (the ``ws-doc`` article), the page's JSON payload (codings, boundaries, codes) and the
codings JSON the script resynchronises with. Bytes are figures in their own right, so there is
no baseline; they are compared before and after a change by running this on both.

    python manage.py benchmark page --scale full

Everything is written inside one transaction that is rolled back, so any database can be used.
"""

from __future__ import annotations

import gzip
import random
import re

from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse

from coding.benchmarks.coding import _Rollback, add_codings, bench_project, build_transcript

_DOC = re.compile(rb'<article class="ws-doc".*?</article>', re.S)
_PAYLOAD = re.compile(rb'<script id="ws-data" type="application/json">(.*?)</script>', re.S)


def sizes(data: bytes) -> dict[str, int]:
    return {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=6, mtime=0))}


def run(scale: str) -> dict:
    words, n_codings = {"small": (50_000, 1_000), "full": (200_000, 5_000)}[scale]
    rng = random.Random(4)  # noqa: S311 (reproducible test data, not secrets)
    figures: dict[str, dict[str, int]] = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
        try:
            with transaction.atomic():
                coders, codes, case = bench_project(rng)
                transcript = build_transcript(case, words, coders[0])
                add_codings(transcript, n_codings, codes, coders, rng)
                client = Client()
                client.force_login(coders[0])
                page = client.get(reverse("coding:transcript-detail", args=[transcript.pk]))
                codings = client.get(reverse("coding:workspace-codings", args=[transcript.pk]))
                if page.status_code != 200 or codings.status_code != 200:
                    raise RuntimeError("the transcript view did not answer 200")
                html = page.content
                doc = _DOC.search(html)
                payload = _PAYLOAD.search(html)
                figures = {
                    "page": sizes(html),
                    "document_html": sizes(doc.group(0) if doc else b""),
                    "payload_json": sizes(payload.group(1) if payload else b""),
                    "codings_json": sizes(codings.content),
                }
                raise _Rollback
        except _Rollback:
            pass
    return {
        "area": "page",
        "scale": scale,
        "database": connection.vendor,
        "words": words,
        "codings": n_codings,
        "figures": figures,
    }
