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
    "words": None,  # summed over distinct excerpts around the grouping: see _sum_over
    "coverage": None,  # the union of spans, by a window over the spans: see _covered_chars
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
    grouped by ``names``, in one statement. Within each transcript, spans sorted by start each
    add what reaches past the furthest end before them (``pe``), so overlaps count once.
    ``within``: only the characters inside these turns' text (``_covered_within``)."""
    if within is not None:
        return _covered_within(qs, names, within)
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return []
    cols = ", ".join(f"sub.{n}" for n in names)
    partition = f"{cols}, sub.tr" if cols else "sub.tr"
    outer_cols = ", ".join(f"w.{n}" for n in names)
    select = f"{outer_cols}, " if names else ""
    group = f" GROUP BY {outer_cols}" if names else ""
    statement = (
        f"SELECT {select}SUM(CASE WHEN w.pe IS NULL OR w.st >= w.pe THEN w.en - w.st "  # noqa: S608
        f"WHEN w.en > w.pe THEN w.en - w.pe ELSE 0 END) FROM ("
        f"SELECT sub.*, MAX(sub.en) OVER (PARTITION BY {partition} ORDER BY sub.st, sub.en "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM ({sql}) sub) w{group}"
    )
    with connections[qs.db].cursor() as cursor:
        cursor.execute(statement, params)
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
