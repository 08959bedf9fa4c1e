"""CSV and XLSX files of a matrix, with the filters that made it written into the file.

Plain functions over a file object and rows (no request, no database): the views build the
``Table`` from a matrix and hand over a buffer.

Text from users (code names, case names, summaries) can start with "=", "+", "-" or "@", which
spreadsheet programs read as a formula: CSV cells get a leading apostrophe (the OWASP advice)
and XLSX cells are written as plain strings.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

from django.utils import formats
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]
    filters: list[tuple[str, str]]
    shades: list[list[str | None]] | None = None  # RRGGBB per cell, parallel to rows
    percent: bool = False


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_dialect() -> tuple[str, str]:
    """(field delimiter, decimal separator) for the active language, as its spreadsheet
    programs read CSV: where the decimal separator is a comma (Norwegian), Excel expects
    semicolons between fields; otherwise commas and decimal points."""
    decimal = formats.get_format("DECIMAL_SEPARATOR")
    return (";", ",") if decimal == "," else (",", ".")


def _csv_value(value: Any, decimal: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value).replace(".", decimal)  # no grouping: the number stays a number
    return _csv_safe(value)


def write_csv(fh: TextIO, table: Table) -> None:
    """The title, the filters (label, value), a blank line, then the table, in the active
    language's CSV dialect (``csv_dialect``)."""
    delimiter, decimal = csv_dialect()
    writer = csv.writer(fh, delimiter=delimiter)
    writer.writerow([_csv_safe(table.title)])
    for label, value in table.filters:
        writer.writerow([_csv_safe(label), _csv_safe(value)])
    writer.writerow([])
    writer.writerow([_csv_safe(h) for h in table.header])
    for row in table.rows:
        writer.writerow([_csv_value(v, decimal) for v in row])


def _put(ws: Worksheet, row: int, col: int, value: Any) -> Cell:
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def write_xlsx(fh: BinaryIO, table: Table) -> None:
    """Sheet 1 the table (header row frozen, heat-map fills), sheet 2 the filters."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("Matrix")[:31]
    bold = Font(bold=True)
    for j, h in enumerate(table.header, start=1):
        _put(ws, 1, j, h).font = bold
    number_format = '0.0" %"' if table.percent else "#,##0"
    for i, row in enumerate(table.rows, start=2):
        fills = table.shades[i - 2] if table.shades else []
        for j, value in enumerate(row, start=1):
            cell = _put(ws, i, j, value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.number_format = number_format
            elif isinstance(value, str) and "\n" in value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            fill = fills[j - 1] if j - 1 < len(fills) else None
            if fill:
                cell.fill = PatternFill("solid", start_color=fill, end_color=fill)
                if _dark(fill):
                    cell.font = Font(color="FFFFFF")
    ws.freeze_panes = "B2"
    # Printed: landscape, as wide as the page, the header row on every page.
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    for j, h in enumerate(table.header, start=1):
        longest = max([len(str(h))] + [len(str(r[j - 1] or "")) for r in table.rows[:200]])
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, longest + 2))

    meta = wb.create_sheet(_("Filters")[:31])
    _put(meta, 1, 1, table.title).font = Font(bold=True, size=13)
    for i, (label, value) in enumerate(table.filters, start=3):
        _put(meta, i, 1, label).font = bold
        _put(meta, i, 2, value)
    meta.column_dimensions["A"].width = 28
    meta.column_dimensions["B"].width = 80
    wb.save(fh)


def _dark(rrggbb: str) -> bool:
    r, g, b = (int(rrggbb[i : i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140
