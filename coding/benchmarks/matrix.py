"""Matrix benchmark: the cases × codes matrix over 1,000,000 codings (14 cases, 30 codes,
5 coders, 300 transcripts; ``--scale small``: 50,000 codings), on SQLite and on PostgreSQL.

Each figure is the time to build the matrix as the page does (the filter form and its look-ups,
the aggregate queries, the totals, the reshaping into a grid) against the bare SQL GROUP BY that
computes the same cells on the same database in the same run (medians):

- ``cases_x_codes``: coded excerpts per case and code, no filter;
- ``coder_filter``: the same for one coder;
- ``distinct_transcripts``: the distinct-transcript measure;
- ``merged``: coded excerpts on the merged coder basis (overlapping excerpts of a code in a
  transcript count once) against a bare SQL gaps-and-islands (a window over the spans per case,
  code and transcript) computing the same cells;
- ``default_basis``: the same on the default basis (consensus where a transcript has one: the
  generated data has none, so the cells are the merged ones), against the same bare SQL.

The first three read the sum basis (each coder's excerpt), which is what their bare GROUP BY
counts.

Nothing touches the developer's database: each database runs in a child process whose
DATABASE_URL points at a scratch database (a temporary SQLite file; a PostgreSQL database
``<DATABASE_URL's name>_bench`` (else ``casestudy_bench``) on 127.0.0.1:5432, created and
dropped here, skipped with a note when no server answers). The rows are written with
executemany (SQLite) and COPY (PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
from collections.abc import Iterable, Iterator

N_CASES = 14
N_CASE_STUDIES = 3
N_CODES = 30
N_CODERS = 5
N_TRANSCRIPTS = 300
CODINGS = {"small": 50_000, "full": 1_000_000}
REPEAT = {"small": 5, "full": 3}
TRANSCRIPT_CHARS = 12_000
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
# The scratch database: beside the one DATABASE_URL names when that is PostgreSQL (so that
# engineers sharing a server do not drop each other's), else casestudy_bench.
PG_DB = (
    os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] + "_bench"
    if os.environ.get("DATABASE_URL", "").startswith("postgres")
    else "casestudy_bench"
)

BASELINE_SQL = (
    "SELECT t.case_id, c.tag_id, COUNT(DISTINCT {counted}) "
    "FROM coding_coding c "
    "JOIN coding_excerpt e ON e.id = c.content_object_id "
    "JOIN coding_transcript t ON t.id = e.transcript_id "
    "{where}GROUP BY t.case_id, c.tag_id"
)


MERGED_SQL = (
    "SELECT case_id, tag_id, SUM(CASE WHEN pe IS NULL OR st >= pe THEN 1 ELSE 0 END) FROM ("
    'SELECT t.case_id, c.tag_id, e.start AS st, MAX(e."end") OVER (PARTITION BY t.case_id, '
    'c.tag_id, e.transcript_id ORDER BY e.start, e."end" ROWS BETWEEN UNBOUNDED PRECEDING '
    "AND 1 PRECEDING) AS pe FROM coding_coding c "
    "JOIN coding_excerpt e ON e.id = c.content_object_id "
    "JOIN coding_transcript t ON t.id = e.transcript_id) w GROUP BY case_id, tag_id"
)


def run(scale: str) -> dict:
    """Fill and time each database in its own child process; one JSON-able dict."""
    result: dict = {
        "area": "matrix",
        "scale": scale,
        "data": {
            "codings": CODINGS[scale],
            "cases": N_CASES,
            "codes": N_CODES,
            "coders": N_CODERS,
            "transcripts": N_TRANSCRIPTS,
        },
        "baseline": (
            "bare SQL GROUP BY case, code computing the same cells, same database (merged: "
            "a bare window over the spans, then GROUP BY case, code)"
        ),
        "repeat": REPEAT[scale],
        "databases": {},
    }
    with tempfile.TemporaryDirectory(prefix="matrix-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        result["databases"]["sqlite"] = _child(url, scale)
    result["databases"]["postgresql"] = _on_postgresql(scale)
    return result


def _on_postgresql(scale: str) -> dict:
    import psycopg

    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **PG)
    except psycopg.OperationalError as exc:
        return {"skipped": f"PostgreSQL not reachable at {PG['host']}:{PG['port']}: {exc}"}
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DB}")
        url = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{PG_DB}"
        return _child(url, scale)
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        admin.close()


def _child(database_url: str, scale: str) -> dict:
    """Run ``measure`` in a fresh interpreter whose only database is ``database_url``."""
    from coding.benchmarks import in_child

    return in_child(f"coding.benchmarks.matrix:measure({scale!r})", database_url)


# --- in the child process -------------------------------------------------------------------


def measure(scale: str) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from coding.analysis import matrices
    from coding.analysis.filters import AnalysisFilterForm
    from coding.benchmarks import figure, timed

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query log in the timings
    started = time.perf_counter()
    project, coder_ids = fill(CODINGS[scale])
    fill_seconds = time.perf_counter() - started

    def build(data: dict) -> matrices.Matrix:
        form = AnalysisFilterForm(data, project=project)
        if not form.is_valid():
            raise RuntimeError(form.errors.as_json())
        return matrices.case_code_matrix(form, lambda r, c: "")

    def bare(counted: str, where: str = "", params: Iterable = ()) -> list[tuple]:
        sql = (
            MERGED_SQL if counted == "merged" else BASELINE_SQL.format(counted=counted, where=where)
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()

    variants = {
        "cases_x_codes": ({"basis": "sum"}, ("e.id", "", ())),
        "coder_filter": (
            {"basis": "sum", "coders": [str(coder_ids[0])]},
            ("e.id", "WHERE c.coder_id = %s ", (coder_ids[0],)),
        ),
        "distinct_transcripts": (
            {"basis": "sum", "measure": "transcripts"},
            ("e.transcript_id", "", ()),
        ),
        "merged": ({"basis": "merged"}, ("merged", "", ())),
        "default_basis": ({}, ("merged", "", ())),
    }
    figures = {}
    for name, (data, sql) in variants.items():
        matrix = build(data)  # warm the caches, and check the numbers against the SQL
        expected = {(str(r), int(c)): n for r, c, n in bare(*sql)}
        got = {
            (row.key, col.pk): cell.value
            for g in matrix.groups
            for row in g.rows
            for col, cell in zip(matrix.columns, row.cells, strict=True)
            if cell.value
        }
        if got != expected:
            raise RuntimeError(f"{name}: the matrix disagrees with the bare SQL")
        seconds, _ = timed(lambda data=data: build(data), REPEAT[scale])
        baseline, _ = timed(lambda sql=sql: bare(*sql), REPEAT[scale])
        figures[name] = figure(
            seconds,
            baseline,
            cells=len(matrix.columns) * sum(len(g.rows) for g in matrix.groups),
            queries=_queries(lambda data=data: build(data)),
        )
    return {
        "database": connection.vendor,
        "fill_seconds": round(fill_seconds, 1),
        "figures": figures,
    }


def _queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def fill(n_codings: int):
    """A project with N_CASES cases, N_CODES codes, N_CODERS coders, N_TRANSCRIPTS transcripts
    and ``n_codings`` codings on about n/2.5 excerpts. Returns the project and the coder ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from coding.models import (
        Case,
        CaseKind,
        Code,
        Codebook,
        Coding,
        Excerpt,
        Informant,
        Level,
        Membership,
        Project,
        Role,
        Transcript,
        Turn,
    )

    rnd = random.Random(20201231)  # noqa: S311 (test data, not secrets)
    User = get_user_model()
    with transaction.atomic():
        coders = [
            User.objects.create(username=f"koder{i}", first_name="Koder", last_name=str(i))
            for i in range(N_CODERS)
        ]
        project = Project.objects.create(name="Matrisebenchmark")
        Membership.objects.bulk_create(
            Membership(project=project, user=u, role=Role.RESEARCHER) for u in coders
        )
        codebook = Codebook.objects.create(project=project, name="Kodebok")
        codes = Code.objects.bulk_create(
            Code(codebook=codebook, name=f"Kode {i:02d}", slug=f"kode-{i:02d}", order=i)
            for i in range(N_CODES)
        )
        cases = Case.objects.bulk_create(
            Case(
                project=project,
                name=f"Kommune {i:02d}",
                kind=CaseKind.CASE_STUDY if i < N_CASE_STUDIES else CaseKind.IN_DEPTH,
                order=i,
            )
            for i in range(N_CASES)
        )
        informants = Informant.objects.bulk_create(
            Informant(case=c, pseudonym=f"P{i}-{j}", level=level)
            for i, c in enumerate(cases)
            for j, level in enumerate([Level.STRATEGIC, Level.OPERATIVE])
        )
        words = "bolig tjeneste kommune samarbeid plan strategi bruker leie tilskudd".split()
        transcripts = []
        for i in range(N_TRANSCRIPTS):
            body, length = [], 0
            while length < TRANSCRIPT_CHARS:
                body.append(rnd.choice(words))
                length += len(body[-1]) + 1
            text = " ".join(body)[:TRANSCRIPT_CHARS]
            transcripts.append(
                Transcript(
                    case=cases[i % N_CASES],
                    title=f"Intervju {i}",
                    text=text,
                    word_count=len(text.split()),
                    interview_date=dt.date(2020, 1, 1) + dt.timedelta(days=i),
                )
            )
        transcripts = Transcript.objects.bulk_create(transcripts)
        turn_len = TRANSCRIPT_CHARS // 10
        Turn.objects.bulk_create(
            Turn(
                transcript=t,
                index=k,
                start=k * turn_len,
                content_start=k * turn_len,
                end=(k + 1) * turn_len,
                is_interviewer=k % 2 == 0,
                informant=None if k % 2 == 0 else informants[2 * (i % N_CASES) + (k // 2) % 2],
            )
            for i, t in enumerate(transcripts)
            for k in range(10)
        )

        n_excerpts = int(n_codings / 2.5)
        per_transcript = -(-n_excerpts // N_TRANSCRIPTS)
        step = (TRANSCRIPT_CHARS - 200) // per_transcript
        now = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)

        def excerpt_rows() -> Iterator[dict]:
            pk = 0
            for t in transcripts:
                for j in range(per_transcript):
                    if pk >= n_excerpts:
                        return
                    pk += 1
                    start = j * step
                    end = start + 30 + (j * 7) % 150
                    yield {
                        "id": pk,
                        "transcript_id": t.pk,
                        "start": start,
                        "end": end,
                        "text": t.text[start:end],
                        "paragraph": 1,
                        "word_count": len(t.text[start:end].split()),
                        "created_by_id": coders[0].pk,
                        "created_at": now,
                    }

        def coding_rows() -> Iterator[dict]:
            pk = 0
            for excerpt_id in range(1, n_excerpts + 1):
                k = 2 if excerpt_id % 2 else 3
                pairs = set()
                while len(pairs) < k:
                    pairs.add((rnd.randrange(N_CODES), rnd.randrange(N_CODERS)))
                for code_i, coder_i in sorted(pairs):
                    if pk >= n_codings:
                        return
                    pk += 1
                    yield {
                        "id": pk,
                        "tag_id": codes[code_i].pk,
                        "content_object_id": excerpt_id,
                        "coder_id": coders[coder_i].pk,
                        "created_at": now,
                        "source": "import",
                        "batch": None,
                    }

        _bulk_insert(Excerpt, excerpt_rows())
        _bulk_insert(Coding, coding_rows())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project, [u.pk for u in coders]


def _bulk_insert(model, rows: Iterator[dict]) -> None:
    """Insert plain rows fast: COPY on PostgreSQL, executemany elsewhere. Columns the rows do
    not name take the field's default."""
    from django.db import connection

    fields = list(model._meta.concrete_fields)
    columns = [f.column for f in fields]
    defaults = {
        f.column: f.get_default()
        for f in fields
        if f.column not in ("id",) and (f.has_default() or f.null)
    }

    def values(row: dict) -> tuple:
        return tuple(row[c] if c in row else defaults.get(c) for c in columns)

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (names from the model)
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(values(row))
            if len(batch) >= 20_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
