"""Map a bank export into the canonical warehouse: rename, convert units and coordinates, validate, swap in.

A mapping file (``map.yml``) lists the source tables::

    tables:
      - source: khxx.csv            # file or folder under SRC (.csv, .parquet, or a folder of either)
        table: customers            # canonical table
        encoding: gbk               # CSV only; default utf-8
        delimiter: ","              # CSV only
        columns:                    # canonical_name: source column (same-named columns map themselves)
          customer_id: KHH
          name: XM
          gender: XB
        constants:                  # canonical_name: fixed value
          customer_type: individual
        values:                     # canonical_name: {source code: canonical value}
          gender: {"男": M, "女": F}
        coordinates: gcj02          # wgs84 (default) | gcj02 | bd09 -> converted to WGS-84
      - source: jyls
        table: transactions
        money_unit: yuan            # fen (default) | jiao | yuan, or per column: {amount_fen: yuan}

Amounts are converted with exact decimal arithmetic ("12.34" yuan -> 1234 fen); a value with a fraction of a
fen is a ``money_precision`` problem, never rounded. Optional canonical columns that are not mapped are left
empty; source columns that are not mapped are dropped.

Every table is mapped and checked (``youshu.schema.validate`` rules, row numbers of the source files) before
anything is written; foreign keys may point to tables already in the warehouse, and warehouse tables that
refer to a replaced table are checked against the new rows. Only a clean import is written: to a staging
folder next to the warehouse, then each table folder is swapped in by rename, rolled back if any rename
fails, so on any error the warehouse is exactly as before.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import duckdb.func
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from youshu.errors import MappingError, ValidationFailed, YoushuError
from youshu.geo.coords import CoordSystem, to_wgs84
from youshu.schema.readers import (
    DUCKDB_TYPES,
    EXPECTED_TEXT,
    ColumnInput,
    ConversionCheck,
    CsvOptions,
    OpenedSource,
    SourceError,
    TableInput,
    arrow_compatible,
    open_source,
    parse_sql,
    quote_ident,
    scan_folder,
    source_at,
    sql_literal,
)
from youshu.schema.spec import Column, DType, Role, TableSpec
from youshu.schema.storage import TRUTH_DIR, table_dir, write_part
from youshu.schema.tables import TABLES_BY_NAME
from youshu.schema.validate import (
    Problem,
    ValidationReport,
    check_tables,
    open_inputs,
    referenced_tables,
    warehouse_input,
)

logger = logging.getLogger(__name__)

#: Rows per Parquet part written to the warehouse.
PART_ROWS = 1_000_000


class MoneyUnit(StrEnum):
    """Units amounts may be given in; the warehouse stores fen."""

    YUAN = "yuan"  # 元
    JIAO = "jiao"  # 角
    FEN = "fen"  # 分


FEN_PER_UNIT = {MoneyUnit.YUAN: 100, MoneyUnit.JIAO: 10, MoneyUnit.FEN: 1}
_DECIMALS = {MoneyUnit.YUAN: 2, MoneyUnit.JIAO: 1, MoneyUnit.FEN: 0}
_COORD_ALIASES = {
    "wgs84": "wgs84",
    "gcj02": "gcj02",
    "bd09": "bd09",
    "gps": "wgs84",
    "mars": "gcj02",
    "baidu": "bd09",
}


def _money_unit(value: Any) -> MoneyUnit:
    text = str(value).strip().lower()
    if text not in MoneyUnit.__members__.values():
        raise ValueError(f"unknown money unit {value!r}; use yuan (元), jiao (角) or fen (分)")
    return MoneyUnit(text)


class TableMapping(BaseModel):
    """How one source table maps onto one canonical table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="file or folder under SRC: x.csv, x.parquet or a folder of parts")
    table: str = Field(description="canonical table name")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical column: source column")
    money_unit: MoneyUnit | dict[str, MoneyUnit] = Field(
        MoneyUnit.FEN, description="unit of every money column, or per money column"
    )
    coordinates: CoordSystem = Field(CoordSystem.WGS84, description="coordinate system of lat/lon")
    constants: dict[str, str | int | float | bool | date | datetime] = Field(
        default_factory=dict, description="canonical column: fixed value"
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="canonical column: {source code: canonical value}"
    )
    encoding: str = Field("utf-8", description="CSV text encoding, e.g. gbk")
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator")

    @field_validator("money_unit", mode="before")
    @classmethod
    def _unit(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): _money_unit(v) for k, v in value.items()}
        return _money_unit(value)

    @field_validator("coordinates", mode="before")
    @classmethod
    def _coords(cls, value: Any) -> Any:
        key = str(value).strip().lower().replace("-", "").replace("_", "")
        if key not in _COORD_ALIASES:
            raise ValueError(f"unknown coordinate system {value!r}; use wgs84, gcj02 or bd09")
        return _COORD_ALIASES[key]

    @field_validator("constants", mode="before")
    @classmethod
    def _scalars(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, list | dict) or item is None:
                    raise ValueError(
                        f"constant {key!r} must be one value (text, number, true/false or a date), not {item!r}"
                    )
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        # YAML reads codes such as 1 or 01 as numbers; codes are compared as text.
        if isinstance(value, dict):
            return {
                str(col): ({str(k): _text(v) for k, v in codes.items()} if isinstance(codes, dict) else codes)
                for col, codes in value.items()
            }
        return value

    def unit_of(self, column: str) -> MoneyUnit:
        """The unit of money column ``column`` in the source."""
        if isinstance(self.money_unit, dict):
            return self.money_unit.get(column, MoneyUnit.FEN)
        return self.money_unit


class ImportMapping(BaseModel):
    """A whole ``map.yml``: the source tables of one export."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tables: list[TableMapping] = Field(min_length=1, description="one entry per source table")


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: rows per canonical table, their sources and the clean validation report."""

    warehouse: Path
    tables: dict[str, int]
    sources: dict[str, Path]
    report: ValidationReport
    seconds: float


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_TYPE_TAGS = {"str", "int", "float", "bool", "date", "datetime", "enum"}


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_mapping(path: Path) -> ImportMapping:
    """Read and check the structure of a mapping file.

    Raises
    ------
    MappingError
        Naming the file and each offending field.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(
            f"{path}: mapping file not found; write a map.yml (see `youshu data import --help`)"
        )
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise MappingError(
            f"{path}: not valid YAML{where}: {problem}; fix the indentation or quoting"
        ) from None
    except UnicodeDecodeError:
        raise MappingError(f"{path}: not UTF-8 text; save the mapping as UTF-8") from None
    if not isinstance(loaded, dict):
        raise MappingError(f"{path}: expected a mapping with a `tables:` list at the top level")
    try:
        return ImportMapping.model_validate(loaded)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            # Drop the type tags pydantic adds for union members ("str", "dict[str,enum]", ...).
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and (p in _TYPE_TAGS or "[" in p)))
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{_loc(loc) or '(top level)'}: {msg}")
        raise MappingError(f"{path}: " + "; ".join(dict.fromkeys(lines))) from None


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_mapping(mapping: ImportMapping, src: Path) -> list[str]:
    """Problems of the mapping against the canonical specs and the source folder (not yet its columns)."""
    issues: list[str] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(mapping.tables):
        here = f"tables[{i}]"
        spec = TABLES_BY_NAME.get(entry.table)
        if spec is None:
            issues.append(
                f"{here}.table: unknown canonical table {entry.table!r}{_suggest(entry.table, list(TABLES_BY_NAME))}"
            )
            continue
        here = f"tables[{i}] ({entry.table})"
        if entry.table in seen:
            issues.append(
                f"{here}.table: {entry.table} is already mapped by tables[{seen[entry.table]}]; "
                "put several files of one table in one folder and map the folder"
            )
        seen[entry.table] = i
        names = spec.column_names
        for field_name, keys in (
            ("columns", entry.columns),
            ("constants", entry.constants),
            ("values", entry.values),
        ):
            for key in keys:
                if key not in names:
                    issues.append(
                        f"{here}.{field_name}.{key}: {entry.table} has no column {key!r}{_suggest(key, names)}"
                    )
        for key in set(entry.columns) & set(entry.constants):
            issues.append(f"{here}.constants.{key}: {key} is also mapped under columns; keep one")
        if isinstance(entry.money_unit, dict):
            money = [c.name for c in spec.columns if c.role is Role.MONEY]
            for key in entry.money_unit:
                if key not in money:
                    issues.append(
                        f"{here}.money_unit.{key}: not a money column of {entry.table} "
                        f"(money columns: {', '.join(money) or 'none'})"
                    )
        for key, codes in entry.values.items():
            if key in names and (allowed := spec.column(key).allowed) is not None:
                for code, canonical in codes.items():
                    if canonical not in allowed:
                        issues.append(
                            f"{here}.values.{key}.{code}: {canonical!r} is not an allowed value of "
                            f"{entry.table}.{key} ({', '.join(allowed)})"
                        )
        if entry.coordinates is not CoordSystem.WGS84 and not {"lat", "lon"} <= set(names):
            issues.append(f"{here}.coordinates: {entry.table} has no lat/lon columns; remove the setting")
        target = (src / entry.source).resolve()
        if not target.is_relative_to(src.resolve()) or TRUTH_DIR in Path(entry.source).parts:
            issues.append(f"{here}.source: {entry.source!r} must name a file or folder inside {src}")
        elif not target.exists():
            listing = ", ".join(sorted(p.name for p in src.iterdir() if not p.name.startswith(".")))[:300]
            issues.append(
                f"{here}.source: {src / entry.source} does not exist (files in {src}: {listing or 'none'})"
            )
    return issues


# ---------------------------------------------------------------------------------------------------------
# Mapping a source onto canonical SQL expressions


def _is_text(types: Mapping[Path, pa.DataType]) -> bool:
    t = pa.types
    return all(
        t.is_string(x)
        or t.is_large_string(x)
        or t.is_string_view(x)
        or t.is_null(x)
        or (t.is_dictionary(x) and t.is_string(x.value_type))
        for x in types.values()
    )


def _money_column(raw: str, text: str, unit: MoneyUnit) -> ColumnInput:
    cleaned = f"replace(trim({text}), ',', '')"
    places = _DECIMALS[unit]
    number_ok = f"regexp_full_match({cleaned}, '[+-]?[0-9]+(\\.[0-9]+)?')"
    precise = f"regexp_full_match({cleaned}, '[+-]?[0-9]+(\\.[0-9]{{0,{places}}}0*)?')"
    # At most 18 integer digits, so the exact DECIMAL(38, 10) product cannot overflow (int64 fen has 19).
    small = f"regexp_full_match({cleaned}, '[+-]?0*[0-9]{{1,18}}(\\.[0-9]*)?')"
    factor = FEN_PER_UNIT[unit]
    value = (
        f"CASE WHEN {precise} AND {small} "
        f"THEN TRY_CAST(TRY_CAST({cleaned} AS DECIMAL(38, 10)) * {factor} AS BIGINT) END"
    )
    example = {MoneyUnit.YUAN: "12.34", MoneyUnit.JIAO: "123.4", MoneyUnit.FEN: "1234"}[unit]
    checks = (
        ConversionCheck(
            "wrong_type",
            f"{raw} IS NOT NULL AND (NOT {number_ok} OR ({precise} AND ({value}) IS NULL))",
            f"an amount in {unit.value} such as {example}",
        ),
        ConversionCheck(
            "money_precision",
            f"{raw} IS NOT NULL AND {number_ok} AND NOT {precise}",
            f"amounts in {unit.value} allow at most {places} decimal places (a fen, 分, is the smallest unit)",
        ),
    )
    return ColumnInput(raw, value, checks)


def _typed_column(raw: str, types: Mapping[Path, pa.DataType], column: Column) -> ColumnInput:
    duck = DUCKDB_TYPES[column.dtype]
    if not _is_text(types):
        kinds = list(types.values())
        if all(arrow_compatible(k, column.dtype) for k in kinds):
            return ColumnInput(raw, f"CAST({raw} AS {duck})")
        if column.dtype is DType.TIMESTAMP and all(pa.types.is_timestamp(k) for k in kinds):
            # A zoned instant becomes Asia/Shanghai wall-clock time, the warehouse convention.
            return ColumnInput(raw, f"CAST(timezone('Asia/Shanghai', {raw}) AS TIMESTAMP)")
        if column.dtype is DType.DATE and all(pa.types.is_timestamp(k) and k.tz is None for k in kinds):
            # Exports often write dates as midnight date-times; any other time of day is an error.
            value = f"CASE WHEN CAST({raw} AS TIME) = TIME '00:00:00' THEN CAST({raw} AS DATE) END"
            check = ConversionCheck(
                "wrong_type",
                f"{raw} IS NOT NULL AND ({value}) IS NULL",
                "a date (this one has a time of day)",
            )
            return ColumnInput(raw, value, (check,))
        if column.dtype is DType.INT and all(pa.types.is_floating(k) for k in kinds):
            value = f"CASE WHEN isfinite({raw}) AND {raw} = trunc({raw}) THEN TRY_CAST({raw} AS BIGINT) END"
            check = ConversionCheck(
                "wrong_type", f"{raw} IS NOT NULL AND ({value}) IS NULL", EXPECTED_TEXT[DType.INT]
            )
            return ColumnInput(raw, value, (check,))
        text = f"CAST({raw} AS VARCHAR)"
    else:
        text = raw
    if column.dtype is DType.STRING:
        return ColumnInput(raw, text)
    value = parse_sql(text, column.dtype)
    check = ConversionCheck(
        "wrong_type", f"{raw} IS NOT NULL AND ({value}) IS NULL", EXPECTED_TEXT[column.dtype]
    )
    return ColumnInput(raw, value, (check,))


def _map_table(
    entry: TableMapping, spec: TableSpec, opened: OpenedSource, here: str, issues: list[str]
) -> TableInput:
    """Canonical column expressions over the opened source; mapping problems are appended to ``issues``."""
    available = opened.columns
    inp = TableInput(
        spec,
        str(opened.source.path),
        opened.relation,
        {},
        opened.rows,
        opened.row_sql,
        opened.file_sql,
        file_rows=opened.file_rows,
    )
    for column in spec.columns:
        name = column.name
        source_col: str | None = entry.columns.get(name)
        if source_col is not None and source_col not in available:
            issues.append(
                f"{here}.columns.{name}: source column {source_col!r} is not in {opened.source.path.name}"
                f"{_suggest(source_col, list(available))} (its columns: {', '.join(available)})"
            )
            continue
        if source_col is None and name not in entry.constants and name in available:
            source_col = name
        if name in entry.constants:
            raw = sql_literal(_text(entry.constants[name]))
            types: Mapping[Path, pa.DataType] = {opened.source.path: pa.string()}
        elif source_col is not None:
            raw = quote_ident(source_col)
            types = available[source_col]
        elif column.required:
            issues.append(
                f"{here}.columns: required column {name!r} of {spec.name} is not mapped; add `{name}: <source "
                f"column>` under columns (or a constant)"
            )
            continue
        else:
            inp.columns[name] = ColumnInput("NULL", f"CAST(NULL AS {DUCKDB_TYPES[column.dtype]})")
            continue
        text_types = types
        expr = raw
        if name in entry.values:
            as_text = raw if _is_text(types) else f"CAST({raw} AS VARCHAR)"
            cases = " ".join(
                f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in entry.values[name].items()
            )
            expr = f"(CASE {as_text} {cases} ELSE {as_text} END)"
            text_types = {opened.source.path: pa.string()}
        if column.role is Role.MONEY:
            text = expr if _is_text(text_types) else f"CAST({expr} AS VARCHAR)"
            col_input = _money_column(raw, text, entry.unit_of(name))
        else:
            typed = _typed_column(expr, text_types, column)
            # The null check looks at the value as found; conversion checks at the (code-mapped) text.
            col_input = ColumnInput(raw, typed.value, typed.checks)
        inp.columns[name] = ColumnInput(col_input.raw, col_input.value, col_input.checks, source_col)
    if entry.coordinates is not CoordSystem.WGS84 and "lat" in inp.columns and "lon" in inp.columns:
        lat, lon = inp.columns["lat"], inp.columns["lon"]
        for axis, col in (("lat", lat), ("lon", lon)):
            value = f"youshu_{entry.coordinates.value}_to_wgs84_{axis}({lat.value}, {lon.value})"
            inp.columns[axis] = ColumnInput(col.raw, value, col.checks, col.origin)
    return inp


def _register_coordinate_functions(con: duckdb.DuckDBPyConnection) -> None:
    """SQL functions ``youshu_<system>_to_wgs84_lat/lon(lat, lon)`` backed by ``youshu.geo.coords``."""

    def make(system: CoordSystem, axis: int) -> Callable[[Any, Any], pa.Array]:
        def convert(lat: Any, lon: Any) -> pa.Array:
            result = to_wgs84(lat.to_numpy(), lon.to_numpy(), system)[axis]
            return pa.array(result, pa.float64())

        return convert

    for system in (CoordSystem.GCJ02, CoordSystem.BD09):
        for axis, label in ((0, "lat"), (1, "lon")):
            con.create_function(
                f"youshu_{system.value}_to_wgs84_{label}",
                make(system, axis),
                ["DOUBLE", "DOUBLE"],
                "DOUBLE",
                type=duckdb.func.ARROW,
            )


# ---------------------------------------------------------------------------------------------------------
# Writing: staging next to the warehouse, then a swap with rollback


def _write_staged(con: duckdb.DuckDBPyConnection, inp: TableInput, folder: Path) -> int:
    spec = inp.spec
    items = ", ".join(f"{inp.columns[c.name].value} AS {quote_ident(c.name)}" for c in spec.columns)
    # DuckDB keeps the source order (preserve_insertion_order is on by default), so no sort is needed.
    reader = con.execute(f"SELECT {items} FROM {inp.relation}")
    batches = reader.to_arrow_reader(PART_ROWS)
    rows = 0
    index = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        write_part(folder, index, pa.Table.from_batches([batch]), spec)
        rows += batch.num_rows
        index += 1
    if index == 0:
        write_part(folder, 0, spec.arrow_schema.empty_table(), spec)
    return rows


def _existing_entries(warehouse: Path, name: str) -> list[Path]:
    folder = table_dir(warehouse, name)
    candidates = [folder, warehouse / f"{name}.parquet", warehouse / f"{name}.csv"]
    return [p for p in candidates if p.exists()]


def _commit(staging: Path, warehouse: Path, names: list[str]) -> None:
    """Swap each staged table folder into the warehouse; undo every completed swap if one fails."""
    backup = staging / ".replaced"
    backup.mkdir()
    undo: list[Callable[[], None]] = []
    try:
        for name in names:
            dest = table_dir(warehouse, name)
            for i, old in enumerate(_existing_entries(warehouse, name)):
                keep = backup / f"{name}-{i}-{old.name}"
                os.replace(old, keep)
                undo.append(functools.partial(os.replace, keep, old))
            os.replace(staging / name, dest)
            undo.append(functools.partial(os.replace, dest, staging / name))
    except BaseException:
        for step in reversed(undo):
            step()
        raise


def import_export(src: Path, mapping: Path, warehouse: Path, *, as_of: date | None = None) -> ImportResult:
    """Map a bank export into the canonical warehouse, validating everything before writing anything.

    Parameters
    ----------
    src : Path
        Folder holding the export's files.
    mapping : Path
        The ``map.yml`` describing it (format in this module's docstring).
    warehouse : Path
        The canonical warehouse; mapped tables replace the same-named tables there, others are untouched.
    as_of : date, optional
        Extract date: events after it are problems.

    Returns
    -------
    ImportResult
        Rows written per table and the clean validation report.

    Raises
    ------
    MappingError
        The mapping file is malformed or does not match the specs or the source files (names the field).
    ValidationFailed
        The mapped data breaks a rule; ``report`` lists every problem. Nothing was written.
    SourceError
        ``src`` is not a folder.

    Examples
    --------
    >>> import_export(Path("exports/2025-09"), Path("map.yml"), Path("data/warehouse"))  # doctest: +SKIP
    """
    started = time.perf_counter()
    src, warehouse = Path(src), Path(warehouse)
    if not src.is_dir():
        raise SourceError(f"{src} is not a folder; give the folder holding the export files")
    spec_map = load_mapping(mapping)
    issues = _check_mapping(spec_map, src)
    if issues:
        raise MappingError(_issues_text(Path(mapping), issues))
    names = [e.table for e in spec_map.tables]
    report = ValidationReport(src, as_of=as_of)
    with duckdb.connect() as con:
        _register_coordinate_functions(con)
        inputs: dict[str, TableInput] = {}
        read_problems: list[Problem] = []
        for i, entry in enumerate(spec_map.tables):
            spec = TABLES_BY_NAME[entry.table]
            try:
                source = source_at(src / entry.source, entry.table)
                opened = open_source(
                    con, source, f"imp_{entry.table}", CsvOptions(entry.encoding, entry.delimiter)
                )
            except SourceError as exc:
                read_problems.append(
                    Problem(
                        entry.table, None, "unreadable_file", 1, f"{exc} (文件无法读取)", location=str(src)
                    )
                )
                continue
            if opened.malformed_lines:
                inputs[entry.table] = warehouse_input(opened, spec)
                continue
            inputs[entry.table] = _map_table(entry, spec, opened, f"tables[{i}] ({entry.table})", issues)
        if issues:
            raise MappingError(_issues_text(Path(mapping), issues))
        check = [n for n in names if n in inputs]
        existing = scan_folder(warehouse).tables if warehouse.is_dir() else {}
        present = (set(existing) & set(TABLES_BY_NAME)) - set(names)
        inbound = sorted(n for n in present if referenced_tables([n]) & set(check))
        lookups = (referenced_tables(check) & present) | set(inbound)
        inputs.update(open_inputs(con, existing, sorted(lookups), prefix="wh"))
        found, rows = check_tables(
            con, inputs, check=check, as_of=as_of, inbound_from=inbound, location=str(src)
        )
        found = [p for p in found if not (p.rule == "missing_table" and p.table in names)]
        report.problems = read_problems + found
        report.tables = rows
        if not report.ok:
            raise ValidationFailed(report.to_text(), report)
        written = _write_and_swap(con, inputs, check, warehouse)
    seconds = time.perf_counter() - started
    logger.info("imported %d tables into %s in %.1f s", len(written), warehouse, seconds)
    sources = {e.table: src / e.source for e in spec_map.tables}
    return ImportResult(warehouse, written, sources, report, seconds)


def _issues_text(mapping: Path, issues: list[str]) -> str:
    n = len(issues)
    body = "\n".join(f"  - {issue}" for issue in issues)
    return f"{mapping}: {n} problem{'s' if n != 1 else ''} in the mapping (映射文件有误):\n{body}"


class WarehouseWriteError(YoushuError):
    """Writing the imported tables failed (disk full, permissions ...); the warehouse was left unchanged."""


def _write_and_swap(
    con: duckdb.DuckDBPyConnection, inputs: Mapping[str, TableInput], names: list[str], warehouse: Path
) -> dict[str, int]:
    parent = warehouse.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{warehouse.name}.import-", dir=parent))
    created = not warehouse.exists()
    try:
        written = {name: _write_staged(con, inputs[name], staging / name) for name in names}
        warehouse.mkdir(exist_ok=True)
        try:
            _commit(staging, warehouse, names)
        except BaseException:
            if created:
                shutil.rmtree(warehouse, ignore_errors=True)
            raise
    except (OSError, pa.ArrowException, duckdb.Error) as exc:
        # Only the kind of failure: a data library's message may quote values (personal data).
        detail = (
            f"{type(exc).__name__}: {exc.strerror}"
            if isinstance(exc, OSError) and exc.strerror
            else type(exc).__name__
        )
        raise WarehouseWriteError(
            f"writing {warehouse} failed ({detail}); the warehouse was left unchanged — "
            "check free disk space and permissions, then import again"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
