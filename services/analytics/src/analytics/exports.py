"""A report as a CSV or XLSX file (xlsxwriter): the columns in order, one line per row, then the totals."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from analytics.services.reports import Report

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        return str(value)
    return value


def _lines(report: Report) -> list[list[Any]]:
    lines: list[list[Any]] = [list(report.columns)]
    lines += [[row.get(c) for c in report.columns] for row in report.rows]
    totals = [report.totals.get(c) if not isinstance(report.totals.get(c), list) else None for c in report.columns]
    if any(v is not None for v in totals):
        totals[0] = "total" if totals[0] is None else totals[0]
        lines.append(totals)
    return lines


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in _lines(report):
        writer.writerow(["" if v is None else (str(v) if isinstance(v, Decimal) else _cell(v)) for v in line])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet programs read UTF-8


def to_xlsx(report: Report) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet(report.name[:31])
    bold = book.add_format({"bold": True})
    for r, line in enumerate(_lines(report)):
        for c, value in enumerate(line):
            if value is None:
                continue
            sheet.write(r, c, _cell(value), bold if r == 0 else None)
    sheet.write(len(report.rows) + 3, 0, f"{report.period.first.isoformat()} .. {report.period.last.isoformat()}")
    book.close()
    return out.getvalue()


def filename(report: Report, fmt: str) -> str:
    return f"{report.name}-{report.period.first.isoformat()}-{report.period.last.isoformat()}.{fmt}"
