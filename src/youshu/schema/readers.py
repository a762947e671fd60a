"""Read a folder of tables (Parquet folders, Parquet files or CSV files) into DuckDB relations for checking.

A table ``t`` in a folder ``DIR`` is one of, in this order of preference:

- ``DIR/t/`` holding ``*.parquet`` parts (the warehouse layout, ``part-NNNNN.parquet``) or ``*.csv`` parts;
- ``DIR/t.parquet``;
- ``DIR/t.csv``.

The planted-truth folder ``DIR/truth/`` and hidden entries (names starting with ``.`` or ``_``) are ignored
entirely: they are never listed, opened or read. CSV files are read with ``pyarrow.csv`` with every column as
text (UTF-8 unless told otherwise; the empty field, ``NULL``, ``null`` and ``\\N`` are missing values) and are
parsed into the canonical types in SQL (``parse_sql``), so one bad value is reported with its row instead of
stopping the read. Row numbers are 1-based and count data rows only (the CSV header is not a row).
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from youshu.errors import YoushuError
from youshu.schema.spec import DType, TableSpec
from youshu.schema.storage import TRUTH_DIR

logger = logging.getLogger(__name__)

SourceFormat = Literal["parquet", "csv"]
#: Field values a CSV reader treats as missing.
NULL_STRINGS = ("", "NULL", "null", "\\N")
#: Column names the readers add to every relation (1-based row number and, for several files, the file).
ROW_COLUMN = "__youshu_row"
FILE_COLUMN = "__youshu_file"

DUCKDB_TYPES: dict[DType, str] = {
    DType.STRING: "VARCHAR",
    DType.INT: "BIGINT",
    DType.FLOAT: "DOUBLE",
    DType.BOOL: "BOOLEAN",
    DType.DATE: "DATE",
    DType.TIMESTAMP: "TIMESTAMP",
}

#: What a valid text value of each type looks like, for messages (English with a zh gloss).
EXPECTED_TEXT: dict[DType, str] = {
    DType.STRING: "text (文本)",
    DType.INT: "a whole number such as 1234 (整数)",
    DType.FLOAT: "a decimal number such as 12.5 (小数)",
    DType.BOOL: "true/false, 1/0, yes/no or 是/否 (布尔)",
    DType.DATE: "a date YYYY-MM-DD (日期)",
    DType.TIMESTAMP: "a local date-time YYYY-MM-DD HH:MM:SS without a time zone (时间)",
}

_DATE_RE = r"[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}"
_TIME_RE = r"([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?"
_INT_RE = r"[+-]?[0-9]+"
_FLOAT_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_TRUE = ("true", "t", "1", "yes", "y", "是")
_FALSE = ("false", "f", "0", "no", "n", "否")


class SourceError(YoushuError):
    """A source folder or file cannot be found or read (the message names it and says what to do)."""


@dataclass(frozen=True)
class SourceTable:
    """Where one table's data lives: a folder of parts or a single file."""

    name: str
    path: Path
    format: SourceFormat
    files: tuple[Path, ...]


@dataclass(frozen=True)
class SourceFolder:
    """The tables found in a folder, keyed by name (canonical or not)."""

    root: Path
    tables: dict[str, SourceTable]
    ambiguous: dict[str, tuple[Path, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CsvOptions:
    """How to read CSV sources."""

    encoding: str = "utf-8"
    delimiter: str = ","


@dataclass
class OpenedSource:
    """A source registered with DuckDB: the relation to select from and what it holds.

    ``columns`` maps each column to its Arrow type in every file that has it (CSV columns are all
    ``string``); ``malformed_lines`` lists CSV lines with the wrong number of fields (those files are not
    registered: ``relation`` is empty and no other check can run on them).
    """

    source: SourceTable
    relation: str
    columns: dict[str, dict[Path, pa.DataType]]
    rows: int
    row_sql: str = ROW_COLUMN
    file_sql: str | None = None
    malformed_lines: list[tuple[Path, int, int, int]] = field(default_factory=list)
    file_rows: dict[Path, int] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        """Column names in first-seen order."""
        return list(self.columns)


def quote_ident(name: str) -> str:
    """Quote an SQL identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """Render a Python scalar as a DuckDB SQL literal (strings are quoted and escaped)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | np.integer | np.floating):
        return repr(float(value)) if isinstance(value, float | np.floating) else str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def parse_sql(expr: str, dtype: DType) -> str:
    """SQL that parses the text expression ``expr`` into ``dtype``, giving NULL when it does not parse.

    Strict on purpose: ``12.5`` is not an integer, ``nan`` is not a number, dates are ``YYYY-MM-DD`` (or
    with ``/``) and time stamps carry no zone (the warehouse holds Asia/Shanghai wall-clock time).
    """
    text = f"trim({expr})"
    if dtype is DType.STRING:
        return expr
    if dtype is DType.INT:
        return f"CASE WHEN regexp_full_match({text}, '{_INT_RE}') THEN TRY_CAST({text} AS BIGINT) END"
    if dtype is DType.FLOAT:
        return f"CASE WHEN regexp_full_match({text}, '{_FLOAT_RE}') THEN TRY_CAST({text} AS DOUBLE) END"
    if dtype is DType.BOOL:
        trues = ", ".join(sql_literal(v) for v in _TRUE)
        falses = ", ".join(sql_literal(v) for v in _FALSE)
        return (
            f"CASE WHEN lower({text}) IN ({trues}) THEN TRUE WHEN lower({text}) IN ({falses}) THEN FALSE END"
        )
    if dtype is DType.DATE:
        return f"CASE WHEN regexp_full_match({text}, '{_DATE_RE}') THEN TRY_CAST(replace({text}, '/', '-') AS DATE) END"
    return (
        f"CASE WHEN regexp_full_match({text}, '{_DATE_RE}{_TIME_RE}') "
        f"THEN TRY_CAST(replace({text}, '/', '-') AS TIMESTAMP) END"
    )


def _is_hidden(path: Path) -> bool:
    return path.name.startswith((".", "_"))


def _folder_source(folder: Path) -> SourceTable | None:
    parquet = sorted(p for p in folder.glob("*.parquet") if p.is_file() and not _is_hidden(p))
    if parquet:
        return SourceTable(folder.name, folder, "parquet", tuple(parquet))
    csv = sorted(p for p in folder.glob("*.csv") if p.is_file() and not _is_hidden(p))
    if csv:
        return SourceTable(folder.name, folder, "csv", tuple(csv))
    return None


def scan_folder(folder: Path) -> SourceFolder:
    """List the tables in ``folder`` (ignoring ``truth/`` and hidden entries).

    Parameters
    ----------
    folder : Path
        A warehouse or an export folder.

    Returns
    -------
    SourceFolder
        Tables by name; names given by more than one entry (``customers/`` and ``customers.csv``) are listed
        under ``ambiguous`` instead.

    Raises
    ------
    SourceError
        When ``folder`` does not exist or is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise SourceError(
            f"{root} {what}; give the folder holding the tables (e.g. data/warehouse with customers/, "
            "accounts/, ... or customers.csv, accounts.csv, ...)"
        )
    found: dict[str, list[SourceTable]] = {}
    for entry in sorted(root.iterdir()):
        if _is_hidden(entry) or entry.name == TRUTH_DIR:
            continue  # planted truth is for evaluation only: never listed, never opened
        source: SourceTable | None = None
        if entry.is_dir():
            source = _folder_source(entry)
        elif entry.is_file() and entry.suffix.lower() == ".parquet":
            source = SourceTable(entry.stem, entry, "parquet", (entry,))
        elif entry.is_file() and entry.suffix.lower() == ".csv":
            source = SourceTable(entry.stem, entry, "csv", (entry,))
        if source is not None:
            found.setdefault(source.name, []).append(source)
    tables = {name: srcs[0] for name, srcs in found.items() if len(srcs) == 1}
    ambiguous = {name: tuple(s.path for s in srcs) for name, srcs in found.items() if len(srcs) > 1}
    return SourceFolder(root, tables, ambiguous)


def source_at(path: Path, name: str | None = None) -> SourceTable:
    """Describe the table stored at ``path``: a ``.csv`` or ``.parquet`` file, or a folder of parts.

    Raises
    ------
    SourceError
        When the path does not exist or holds no ``.parquet``/``.csv`` data.
    """
    path = Path(path)
    label = name or path.stem
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in (".csv", ".parquet"):
            return SourceTable(label, path, "csv" if suffix == ".csv" else "parquet", (path,))
        raise SourceError(f"{path} is neither .csv nor .parquet; export the table as CSV or Parquet")
    if path.is_dir():
        source = _folder_source(path)
        if source is None:
            raise SourceError(f"{path} holds no .parquet or .csv files")
        return SourceTable(label, source.path, source.format, source.files)
    raise SourceError(f"{path} does not exist")


def csv_header(path: Path, options: CsvOptions = CsvOptions()) -> list[str]:
    """The column names of a CSV file (its first line).

    Raises
    ------
    SourceError
        When the file is empty or cannot be decoded.
    """
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=options.encoding),
            parse_options=pacsv.ParseOptions(
                delimiter=options.delimiter, invalid_row_handler=lambda _: "skip"
            ),
        )
    except (pa.ArrowInvalid, OSError, LookupError) as exc:
        raise SourceError(_csv_error(path, exc)) from None
    names = list(reader.schema.names)
    reader.close()
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceError(
            f"{path}: the header repeats column(s) {', '.join(duplicates)}; give each a unique name"
        )
    return names


def _csv_error(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if "Empty CSV file" in text:
        return f"{path} is empty (no header row); export the table with a header line of column names"
    if "UTF8" in text or "UTF-8" in text or isinstance(exc, UnicodeDecodeError | LookupError):
        return f"{path} is not valid text in the expected encoding; save it as UTF-8 (or set encoding in map.yml)"
    # Keep only the kind of error: pyarrow may quote the offending line, which can hold personal data.
    kind = text.split(":", 1)[0].strip() or type(exc).__name__
    return f"{path} cannot be read as CSV ({kind}); check its delimiter, quoting and encoding"


def read_csv_strings(
    path: Path, options: CsvOptions = CsvOptions()
) -> tuple[pa.Table, list[tuple[int, int, int]]]:
    """Read a CSV file with every column as text, adding the 1-based data-row number as ``ROW_COLUMN``.

    Returns
    -------
    table : pyarrow.Table
        The text columns plus the row number.
    malformed : list of (line, expected_fields, actual_fields)
        Lines with the wrong number of fields (skipped); when any exist the row numbers are unreliable.

    Raises
    ------
    SourceError
        When the file is empty, not decodable or otherwise unreadable.
    """
    names = csv_header(path, options)
    malformed: list[tuple[int, int, int]] = []

    def on_invalid(row: Any) -> str:
        malformed.append((row.number or 0, row.expected_columns, row.actual_columns))
        return "skip"

    def read(use_threads: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=options.encoding, use_threads=use_threads),
            parse_options=pacsv.ParseOptions(delimiter=options.delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=list(NULL_STRINGS),
                quoted_strings_can_be_null=True,
            ),
        )

    try:
        table = read(use_threads=True)
        if malformed:
            # Line numbers are only known to a single-threaded read; re-read to report them.
            malformed.clear()
            table = read(use_threads=False)
    except (pa.ArrowInvalid, OSError, LookupError) as exc:
        raise SourceError(_csv_error(path, exc)) from None
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return table.append_column(ROW_COLUMN, rows), malformed


def parquet_schemas(files: tuple[Path, ...]) -> tuple[dict[str, dict[Path, pa.DataType]], dict[Path, int]]:
    """The Arrow type of every column in every Parquet file, and each file's row count (metadata only).

    Raises
    ------
    SourceError
        Naming the first file that is not readable Parquet.
    """
    columns: dict[str, dict[Path, pa.DataType]] = {}
    rows: dict[Path, int] = {}
    for file in files:
        try:
            schema = pq.read_schema(file)
            rows[file] = pq.read_metadata(file).num_rows
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(
                f"{file} is not a readable Parquet file ({type(exc).__name__}); rewrite or remove it"
            ) from None
        for fld in schema:
            columns.setdefault(fld.name, {})[file] = fld.type
    return columns, rows


def open_source(
    con: duckdb.DuckDBPyConnection, source: SourceTable, alias: str, options: CsvOptions = CsvOptions()
) -> OpenedSource:
    """Register ``source`` with DuckDB under ``alias`` (CSV) or describe its ``read_parquet`` relation.

    Parquet is never loaded here: the relation reads the files lazily, so checks scale to large tables.

    Raises
    ------
    SourceError
        When a file cannot be read.
    """
    if source.format == "parquet":
        columns, file_rows = parquet_schemas(source.files)
        listing = ", ".join(sql_literal(str(f)) for f in source.files)
        relation = (
            f"(SELECT *, file_row_number + 1 AS {ROW_COLUMN}, filename AS {FILE_COLUMN} FROM read_parquet("
            f"[{listing}], union_by_name = true, filename = true, file_row_number = true, "
            "hive_partitioning = false))"
        )
        file_sql = FILE_COLUMN if len(source.files) > 1 else None
        return OpenedSource(
            source, relation, columns, sum(file_rows.values()), file_sql=file_sql, file_rows=file_rows
        )

    parts: list[pa.Table] = []
    columns_csv: dict[str, dict[Path, pa.DataType]] = {}
    malformed: list[tuple[Path, int, int, int]] = []
    for file in source.files:
        table, bad = read_csv_strings(file, options)
        malformed.extend((file, line, want, got) for line, want, got in bad)
        for name in table.column_names:
            if name != ROW_COLUMN:
                columns_csv.setdefault(name, {})[file] = pa.string()
        parts.append(table.append_column(FILE_COLUMN, pa.array([str(file)] * table.num_rows, pa.string())))
    if malformed:
        return OpenedSource(source, "", columns_csv, 0, malformed_lines=malformed)
    combined = pa.concat_tables(parts, promote_options="default")
    con.register(alias, combined)
    file_sql = FILE_COLUMN if len(source.files) > 1 else None
    return OpenedSource(source, quote_ident(alias), columns_csv, combined.num_rows, file_sql=file_sql)


TYPE_ZH = {
    DType.STRING: "文本",
    DType.INT: "整数",
    DType.FLOAT: "小数",
    DType.BOOL: "布尔",
    DType.DATE: "日期",
    DType.TIMESTAMP: "时间",
}


# ---------------------------------------------------------------------------------------------------------
# Inputs: a table as SQL expressions over a DuckDB relation (shared by validation and import)


@dataclass(frozen=True)
class Finding:
    """A problem noticed while opening a table, before any row is checked (becomes a validation Problem)."""

    column: str | None
    rule: str
    count: int
    message: str


@dataclass(frozen=True)
class ConversionCheck:
    """A per-row conversion failure: ``condition`` (SQL over the source relation) is true on failing rows."""

    rule: str
    condition: str
    expected: str


@dataclass(frozen=True)
class ColumnInput:
    """A canonical column as SQL: ``raw`` (as found; its nulls are the null check) and ``value`` (typed)."""

    raw: str
    value: str
    checks: tuple[ConversionCheck, ...] = ()
    origin: str | None = None


@dataclass
class TableInput:
    """A canonical table ready for checking: its relation, usable columns and what was found on opening."""

    spec: TableSpec
    location: str
    relation: str
    columns: dict[str, ColumnInput]
    rows: int
    row_sql: str
    file_sql: str | None
    findings: list[Finding] = field(default_factory=list)
    readable: bool = True
    # Parquet columns stored with an incompatible type: file -> Arrow type (checked in SQL for examples).
    type_errors: dict[str, dict[Path, pa.DataType]] = field(default_factory=dict)
    file_rows: dict[Path, int] = field(default_factory=dict)


def count_text(n: int, noun: str = "row") -> str:
    """``1 row``, ``1,234 rows``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def arrow_compatible(actual: pa.DataType, dtype: DType) -> bool:
    """Whether a stored Arrow type is the canonical type or a safe widening of it (int32 -> int64 ...)."""
    t = pa.types
    if t.is_null(actual):
        return True
    if t.is_dictionary(actual):
        actual = actual.value_type
    if dtype is DType.STRING:
        return bool(t.is_string(actual) or t.is_large_string(actual) or t.is_string_view(actual))
    if dtype is DType.INT:
        return bool(t.is_signed_integer(actual) or actual in (pa.uint8(), pa.uint16(), pa.uint32()))
    if dtype is DType.FLOAT:
        small_int = actual in (pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16())
        return bool(t.is_floating(actual) or small_int)
    if dtype is DType.BOOL:
        return bool(t.is_boolean(actual))
    if dtype is DType.DATE:
        return bool(t.is_date(actual))
    return bool(t.is_timestamp(actual) and actual.tz is None)


def type_hint(actual: pa.DataType, dtype: DType) -> str:
    """What to do about a stored type that does not match ``dtype``."""
    if pa.types.is_timestamp(actual) and actual.tz is not None and dtype is DType.TIMESTAMP:
        return (
            f"it carries the time zone {actual.tz!r}; store Asia/Shanghai wall-clock time without a zone "
            "(convert, then drop the zone)"
        )
    if dtype is DType.STRING:
        return "ids and codes are stored as text; cast the column to string"
    if dtype is DType.INT and pa.types.is_floating(actual):
        return "money is integer fen (分) and counts are whole numbers; convert and cast to int64"
    return f"rewrite the column as {DUCKDB_TYPES[dtype].lower()} ({dtype.value}), or import it with `youshu data import`"


def warehouse_input(opened: OpenedSource, spec: TableSpec) -> TableInput:
    """Describe an opened source strictly: Parquet types must match the spec, CSV text must parse."""
    location = str(opened.source.path)
    inp = TableInput(
        spec,
        location,
        opened.relation,
        {},
        opened.rows,
        opened.row_sql,
        opened.file_sql,
        file_rows=opened.file_rows,
    )
    if opened.malformed_lines:
        inp.readable = False
        first = opened.malformed_lines[:5]
        lines = ", ".join(f"{Path(f).name} line {line} has {got}" for f, line, _, got in first)
        inp.findings.append(
            Finding(
                None,
                "malformed_row",
                len(opened.malformed_lines),
                f"{count_text(len(opened.malformed_lines), 'line')} with the wrong number of fields (字段数不符), "
                f"expected {first[0][2]}: {lines}; fix the quoting or delimiter (other checks of this table "
                "run once it reads cleanly)",
            )
        )
        return inp
    files = opened.source.files
    for column in spec.columns:
        per_file = opened.columns.get(column.name, {})
        if len(per_file) < len(files):
            lacking = [f for f in files if f not in per_file]
            names = ", ".join(f.name for f in lacking[:5])
            where = "" if not per_file else f" in {len(lacking)} of {len(files)} files ({names})"
            rows = sum(opened.file_rows.get(f, 0) for f in lacking) if per_file else opened.rows
            inp.findings.append(
                Finding(
                    column.name,
                    "missing_column",
                    rows,
                    f"column is missing{where} (缺少列 {column.zh}); add it as {column.dtype.value} "
                    f"({TYPE_ZH[column.dtype]}){', required' if column.required else ' (may be empty)'}",
                )
            )
            continue
        q = quote_ident(column.name)
        if opened.source.format == "csv":
            value = parse_sql(q, column.dtype)
            checks: tuple[ConversionCheck, ...] = ()
            if column.dtype is not DType.STRING:
                cond = f"{q} IS NOT NULL AND ({value}) IS NULL"
                checks = (ConversionCheck("wrong_type", cond, EXPECTED_TEXT[column.dtype]),)
            inp.columns[column.name] = ColumnInput(q, value, checks)
            continue
        bad = {f: t for f, t in per_file.items() if not arrow_compatible(t, column.dtype)}
        if bad:
            inp.type_errors[column.name] = bad
            continue
        if all(pa.types.is_null(t) for t in per_file.values()):
            value = f"CAST(NULL AS {DUCKDB_TYPES[column.dtype]})"
        else:
            value = f"CAST({q} AS {DUCKDB_TYPES[column.dtype]})"
        inp.columns[column.name] = ColumnInput(q, value)
    for name in opened.columns:
        if name in spec.column_names:
            continue
        close = difflib.get_close_matches(
            name, [c for c in spec.column_names if c not in opened.columns], n=1
        )
        hint = f"did you mean {close[0]}? rename it" if close else "remove it"
        inp.findings.append(
            Finding(
                name,
                "extra_column",
                opened.rows,
                f"column is not part of the canonical {spec.name} table (多余列); {hint} "
                f"(canonical columns: {', '.join(spec.column_names)})",
            )
        )
    return inp
