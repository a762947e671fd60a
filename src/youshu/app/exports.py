"""Downloads of customer lists and audiences (Excel or CSV): masked personal data, zh headers, stamped with who
exported what and when, and audited.

Every export carries four stamp lines — 导出人 exported by, 导出时间 exported at, 数据截至 as of, 范围 scope —
as the first sheet (``.xlsx``) or the leading rows (``.csv``), and its file name names the user and time
(``<list>_<username>_<YYYYmmdd-HHMMSS>.xlsx``), so a file found on a desk can be traced to its export event.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import pandas as pd
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

if TYPE_CHECKING:
    from youshu.app.web import Context

ExportFormat = Literal["xlsx", "csv"]

#: China Standard Time (no daylight saving): the time printed on exports and in their file names.
CHINA = timezone(timedelta(hours=8), "CST")
#: One Excel sheet below the header.
EXCEL_MAX_ROWS = 1_048_575
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
#: Cell text starting with these is a formula to Excel: written with a leading apostrophe instead.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of an export: the frame column, its zh/en header and an optional value conversion."""

    key: str
    header: str
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Stamp:
    """Who exported, when, the data's as-of date and the scope, written into every export."""

    username: str
    display_name: str
    exported_at: datetime
    as_of: str
    scope: str

    def lines(self) -> list[tuple[str, str]]:
        """The stamp as (label, value) pairs."""
        return [
            ("导出人 exported by", f"{self.display_name} ({self.username})"),
            ("导出时间 exported at", self.exported_at.strftime("%Y-%m-%d %H:%M:%S %z")),
            ("数据截至 as of", self.as_of),
            ("范围 scope", self.scope),
        ]

    def file_name(self, stem: str, fmt: ExportFormat) -> str:
        """``<stem>_<username>_<YYYYmmdd-HHMMSS>.<fmt>``."""
        return f"{stem}_{self.username}_{self.exported_at.strftime('%Y%m%d-%H%M%S')}.{fmt}"


def fen_to_yuan(value: Any) -> float | None:
    """Money in fen as yuan (元), for export columns."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value) / 100, 2)


def as_int(value: Any) -> int | None:
    """A whole number for export columns that a left join turned into floats (NaN → empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _cell(value: Any) -> Any:
    """A value Excel and CSV readers take as data: no NaN, no numpy scalars, no formulas."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _rows(frame: pd.DataFrame, columns: Sequence[Column]) -> list[list[Any]]:
    out: list[list[Any]] = []
    values = [frame[c.key].tolist() for c in columns]
    for i in range(len(frame)):
        row = []
        for column, series in zip(columns, values, strict=True):
            value = series[i]
            if column.convert is not None:
                value = column.convert(value)
            row.append(_cell(value))
        out.append(row)
    return out


def write_export(
    frame: pd.DataFrame, columns: Sequence[Column], stamp: Stamp, fmt: ExportFormat, *, title: str
) -> bytes:
    """The export file's bytes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows to export, personal data already masked (read through ``ScopedData``).
    columns : sequence of Column
        Which columns, in order, with their zh/en headers.
    stamp : Stamp
        Written as the first sheet (xlsx) or the leading rows (csv).
    fmt : {"xlsx", "csv"}
    title : str
        The list's name, written with the stamp.

    Returns
    -------
    bytes
        An ``.xlsx`` workbook, or CSV in UTF-8 with a byte-order mark (so Excel reads the Chinese).
    """
    header = [c.header for c in columns]
    rows = _rows(frame, columns)
    about = [("名单 list", title), *stamp.lines(), ("行数 rows", str(len(rows)))]
    about.append(("个人信息 personal data", "已脱敏 masked (JR/T 0171)"))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for label, value in about:
            writer.writerow([f"{label}: {value}"])
        writer.writerow([])
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook  # only exports need it

    book = Workbook(write_only=True)
    sheet = book.create_sheet("说明 about")
    for label, value in about:
        sheet.append([label, _cell(value)])
    data = book.create_sheet("名单 list")
    data.freeze_panes = "A2"
    data.append(header)
    for row in rows:
        data.append(row)
    buffer_b = io.BytesIO()
    book.save(buffer_b)
    return buffer_b.getvalue()


def scope_text(ctx: Context, outlet_id: str | None = None) -> str:
    """The scope of an export in words: one outlet, the user's outlets, or the whole province."""
    if outlet_id is not None:
        outlet = ctx.data.outlet(outlet_id)
        return f"网点 outlet {outlet_id} {outlet.get('outlet_name', '')}".strip()
    outlets = ctx.principal.outlets
    if outlets is None:
        return "全省 all outlets"
    shown = sorted(outlets)
    more = f" 等 {len(shown)} 个网点 ({len(shown)} outlets)" if len(shown) > 5 else ""
    return "网点 outlets " + ", ".join(shown[:5]) + more


def export_response(
    ctx: Context,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    fmt: ExportFormat,
    stem: str,
    title: str,
    resource: str,
    scope: str,
    **detail: Any,
) -> Response:
    """Write ``frame`` as a stamped download, record the ``export`` audit event and answer the file.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        When the rows do not fit one Excel sheet (answered 422: export CSV instead).
    """
    if fmt == "xlsx" and len(frame) > EXCEL_MAX_ROWS:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "format"),
                    "msg": f"{len(frame):,} rows do not fit one Excel sheet; choose format=csv 请改用 CSV",
                    "type": "value_error",
                }
            ]
        )
    stamp = Stamp(
        username=ctx.principal.username,
        display_name=ctx.principal.display_name,
        exported_at=datetime.now(CHINA).replace(microsecond=0),
        as_of=ctx.data.run.as_of,
        scope=scope,
    )
    body = write_export(frame, columns, stamp, fmt, title=title)
    name = stamp.file_name(stem, fmt)
    ctx.audit("export", resource, rows=len(frame), format=fmt, file=name, **detail)
    # user names may hold CJK letters: an ASCII fallback name, and the real one per RFC 6266
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
