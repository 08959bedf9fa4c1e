"""Expressions shared by the matrices, the drill-down and the filters (used by CodingQuerySet)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Count, F, OuterRef, Subquery

from coding.models.transcript import Turn

# --- analysis: expressions shared by the matrices, the drill-down and the filters ------------

MATRIX_MEASURES = {
    "excerpts": lambda: Count("content_object", distinct=True),
    "transcripts": lambda: Count("content_object__transcript", distinct=True),
    "informants": lambda: Count("speaker_id", distinct=True),
    "words": None,  # summed over distinct excerpts (_sum_over), or the union's (union_sql)
    "coverage": None,  # the union of spans, by a window over the spans: see union_sql
}

# How two rows of the co-occurrence set ``s`` (a: the row's code, b: the column's) meet.
COOCCURRENCE_JOIN = {
    "excerpt": "a.ex = b.ex",
    "overlap": "a.tr = b.tr AND a.st < b.en AND b.st < a.en",
    "turn": "a.tu = b.tu",
}


def turn_expression(excerpt_path: str) -> Subquery:
    """The speaker turn an excerpt starts in (the last turn starting at or before it)."""
    p = excerpt_path
    return Subquery(
        Turn.objects.filter(
            transcript_id=OuterRef(f"{p}transcript_id"), start__lte=OuterRef(f"{p}start")
        )
        .order_by("-start")
        .values("pk")[:1]
    )


def column_expression(layer: Mapping[int, int]) -> Any:
    """Map a coding's code (``tag_id``) to its matrix column key; codes outside map to NULL."""
    if all(code_id == col for code_id, col in layer.items()):
        return F("tag_id")
    by_column: dict[int, list[int]] = defaultdict(list)
    for code_id, col in layer.items():
        by_column[col].append(code_id)
    return models.Case(
        *[
            models.When(tag_id__in=sorted(ids), then=models.Value(col))
            for col, ids in sorted(by_column.items())
        ],
        output_field=models.BigIntegerField(),
    )


def _sum_over(qs: models.QuerySet, names: list[str], column: str) -> list[tuple[Any, Any, int]]:
    """SUM(``column``) of a queryset's rows grouped by ``names`` (aliases we chose), in one
    statement: the ORM cannot aggregate over a DISTINCT subquery, so its SQL is wrapped."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. an empty list of codes
        return []
    cols = ", ".join(f"sub.{n}" for n in names)
    select = f"{cols}, " if cols else ""
    group = f" GROUP BY {cols}" if cols else ""
    with connections[qs.db].cursor() as cursor:
        cursor.execute(
            f"SELECT {select}SUM(sub.{column}) FROM ({sql}) sub{group}",  # noqa: S608
            params,
        )
        rows = cursor.fetchall()
    out = []
    for r in rows:
        d = dict(zip(names, r[:-1], strict=True))
        out.append((d.get("rk"), d.get("ck"), int(r[-1] or 0)))
    return out


def _covered_chars(
    qs: models.QuerySet, names: list[str], within: models.QuerySet[Turn] | None = None
) -> list[tuple[Any, Any, int]]:
    """Characters inside the union of the spans (``tr``, ``st``, ``en``) of a queryset's rows,
    grouped by ``names`` (``_over_union``), so overlaps count once. ``within``: only the
    characters inside these turns' text (``_covered_within``)."""
    if within is not None:
        return _covered_within(qs, names, within)
    return _over_union(qs, names)


def words_sql(vendor: str, text_sql: str) -> str:
    """SQL counting the counted words (``nlp.WORD_RE``) of ``text_sql``: on SQLite the same
    Python function (``cs_count_words``, registered on every connection by coding.apps); on
    PostgreSQL a regular expression of letters, digits and "_" joined as WORD_RE joins them
    (PostgreSQL's classes know no Unicode marks, which NFC text holds almost never)."""
    if vendor == "sqlite":
        return f"cs_count_words({text_sql})"
    return f"(SELECT COUNT(*) FROM regexp_matches({text_sql}, '{PG_WORD_PATTERN}', 'g'))"  # noqa: S608


# WORD_RE for PostgreSQL (see words_sql): a quote doubled for the SQL literal.
PG_WORD_PATTERN = "[[:alnum:]_]+(?:[-''\u2019\u00ad][[:alnum:]_]+)*"

# What a row of the spans sorted by start adds to its group's union, by measure: ``pe`` is
# the furthest end before it in the group and transcript (NULL for the first row).
# "coverage" counts characters, "excerpts" the passages that start a new union (a run of
# overlapping spans is one passage), "words" the passage's words, where a span reaching past
# ``pe`` adds the words of its text after ``pe`` (read from the excerpt, only for such rows).
UNION_VALUES = {
    "coverage": ("w.en - w.st", "w.en - w.pe"),
    "excerpts": ("1", "0"),
    "words": ("w.w", "{partial_words}"),
}


def union_sql(
    sql: str, names: list[str], measure: str, vendor: str, *, code: str | None = None
) -> str:
    """SELECT ``names``…, ``value``: the measure over the union of the spans (``tr``, ``st``,
    ``en``; for "words" also ``ex``, the excerpt, and ``w``, its words) of the rows of ``sql``,
    grouped by ``names``: within each group and transcript, spans sorted by start each add
    what reaches past the furthest end before them (``pe``), so overlaps count once.

    ``code`` (a column of ``sql``, for "excerpts" and "words"): the unions are made within each
    code as well, and a group counts its distinct passages, told apart by where they start: a
    passage coded with two codes counts once (the longest, for its words), two overlapping
    passages of different codes that start apart twice (the sum basis's rule for distinct
    excerpts, applied to the merged passages)."""
    new, partial = UNION_VALUES[measure]
    if measure == "words":
        suffix = "(SELECT substr(x.text, w.pe - w.st + 1) FROM coding_excerpt x WHERE x.id = w.ex)"
        partial = words_sql(vendor, suffix)
    keys = [*names, code] if code else names
    partition = ", ".join([*(f"sub.{n}" for n in keys), "sub.tr"])
    added = (
        f"CASE WHEN w.pe IS NULL OR w.st >= w.pe THEN {new} "
        f"WHEN w.en > w.pe THEN {partial} ELSE 0 END"
    )
    windowed = (
        f"SELECT sub.*, MAX(sub.en) OVER (PARTITION BY {partition} ORDER BY sub.st, sub.en "  # noqa: S608
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM ({sql}) sub"
    )
    outer_cols = ", ".join(f"w.{n}" for n in names)
    select = f"{outer_cols}, " if names else ""
    group = f" GROUP BY {outer_cols}" if names else ""
    if not code:
        return f"SELECT {select}SUM({added}) AS value FROM ({windowed}) w{group}"  # noqa: S608
    # Number the unions (a running count of the rows that start one), bound each, then count
    # the distinct (transcript, start) of each group.
    starts = "CASE WHEN w.pe IS NULL OR w.st >= w.pe THEN 1 ELSE 0 END"
    part = ", ".join([*(f"w.{n}" for n in keys), "w.tr"])
    numbered = (
        f"SELECT w.*, {added} AS va, SUM({starts}) OVER (PARTITION BY {part} "  # noqa: S608
        f"ORDER BY w.st, w.en ROWS UNBOUNDED PRECEDING) AS grp FROM ({windowed}) w"
    )
    key_cols = "".join(f"n.{k}, " for k in keys)
    unions = (
        f"SELECT {key_cols}n.tr, MIN(n.st) AS ust, MAX(n.en) AS uen, SUM(n.va) AS va "  # noqa: S608
        f"FROM ({numbered}) n GROUP BY {key_cols}n.tr, n.grp"
    )
    name_cols = "".join(f"u.{n}, " for n in names)
    distinct = (
        f"SELECT {name_cols}u.tr, u.ust, MAX(u.va) AS va FROM ({unions}) u "  # noqa: S608
        f"GROUP BY {name_cols}u.tr, u.ust"
    )
    total = "COUNT(*)" if measure == "excerpts" else "SUM(w.va)"
    return f"SELECT {select}{total} AS value FROM ({distinct}) w{group}"  # noqa: S608


def passage_starts_sql(source: str, keys: list[str], where: str = "") -> str:
    """SELECT ``keys``…, ``tr``, ``ust``: one row per passage (run of overlapping spans) of the
    rows of ``source`` (a table or subquery with ``keys``, ``tr``, ``st``, ``en``) within each
    ``keys`` and transcript, with its start: the rows whose ``st`` lies at or past every end
    before them (``pe``), found by one window over the spans."""
    part = ", ".join([*keys, "tr"])
    cols = "".join(f"{k}, " for k in keys)
    return (
        f"SELECT {cols}tr, st AS ust FROM (SELECT {cols}tr, st, MAX(en) OVER ("  # noqa: S608
        f"PARTITION BY {part} ORDER BY st, en ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
        f") AS pe FROM {source}{where}) w WHERE pe IS NULL OR st >= pe"
    )


def _over_union(
    qs: models.QuerySet, names: list[str], measure: str = "coverage", code: str | None = None
) -> list[tuple[Any, Any, int]]:
    """``union_sql`` of a queryset's rows, run: (row key, column key, value) per group."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return []
    connection = connections[qs.db]
    with connection.cursor() as cursor:
        cursor.execute(union_sql(sql, names, measure, connection.vendor, code=code), params)
        rows = cursor.fetchall()
    out = []
    for r in rows:
        d = dict(zip(names, r[:-1], strict=True))
        out.append((d.get("rk"), d.get("ck"), int(r[-1] or 0)))
    return out


def _covered_within(
    qs: models.QuerySet, names: list[str], within: models.QuerySet[Turn]
) -> list[tuple[Any, Any, int]]:
    """``_covered_chars`` cut to the text of the turns ``within`` ([content_start, end)): the
    spans and the turns in one statement, then a sweep over both sorted here, since a join of
    every span with the turns it overlaps has no index to go by (a transcript has thousands of
    turns)."""
    turn_rows = within.filter(content_start__lt=F("end")).values(
        tr=F("transcript_id"), st=F("content_start"), en=F("end")
    )
    try:
        sql, params = qs.query.sql_with_params()
        turn_sql, turn_params = turn_rows.order_by().query.sql_with_params()
    except EmptyResultSet:
        return []
    cols = "".join(f"sub.{n}, " for n in names)
    nulls = "NULL, " * len(names)
    statement = (
        f"SELECT {cols}sub.tr, sub.st, sub.en, 0 FROM ({sql}) sub "  # noqa: S608
        f"UNION ALL SELECT {nulls}t.tr, t.st, t.en, 1 FROM ({turn_sql}) t"
    )
    with connections[qs.db].cursor() as cursor:
        cursor.execute(statement, [*params, *turn_params])
        rows = cursor.fetchall()
    spans: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
    turns: dict[int, list[tuple[int, int]]] = defaultdict(list)
    n = len(names)
    for r in rows:
        if r[-1]:
            turns[r[n]].append((r[n + 1], r[n + 2]))
        else:
            spans[tuple(r[: n + 1])].append((r[n + 1], r[n + 2]))
    for items in turns.values():
        items.sort()
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    for key, items in spans.items():
        text = turns.get(key[-1], [])
        items.sort()
        total, i, reach = 0, 0, -1
        for s, e in items:
            s = max(s, reach)  # what an earlier span covered counts once
            if e <= s:
                continue
            reach = e
            while i < len(text) and text[i][1] <= s:
                i += 1
            j = i
            while j < len(text) and text[j][0] < e:
                total += max(0, min(e, text[j][1]) - max(s, text[j][0]))
                j += 1
        totals[key[:-1]] += total
    out = []
    for key, total in totals.items():
        d = dict(zip(names, key, strict=True))
        out.append((d.get("rk"), d.get("ck"), total))
    return out
