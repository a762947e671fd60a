"""Check tables against the canonical specs and report every problem, each with masked example rows.

Checks run as DuckDB SQL over the files (``read_parquet`` for Parquet, registered Arrow text for CSV): one
counting scan per table for the row rules, then ``LIMIT 5`` queries for examples, so they scale to tens of
millions of rows without loading a table into pandas.

Rules (stable ids, see ``RULES``) cover the folder (missing, unknown, ambiguous or unreadable tables), the
columns (missing, extra, wrong type) and the rows (nulls, duplicate keys, dangling foreign keys, negative
amounts, bounds, dates after the as-of date, coordinates outside China, unknown enumerated values).

A canonical table may be absent from a folder unless a checked table has a foreign key to it (then its keys
cannot be checked) or it was asked for by name: each such table is one ``missing_table`` problem.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from youshu.errors import ValidationFailed
from youshu.privacy import mask_value
from youshu.schema.readers import (
    TYPE_ZH,
    Finding,
    SourceError,
    SourceTable,
    TableInput,
    count_text,
    open_source,
    quote_ident,
    scan_folder,
    sql_literal,
    type_hint,
    warehouse_input,
)
from youshu.schema.spec import DType, Role
from youshu.schema.tables import TABLES, TABLES_BY_NAME

logger = logging.getLogger(__name__)

#: Bounding box of China in WGS-84 degrees (mainland, Hainan and Taiwan; not the far South China Sea
#: islands). Coarse on purpose: it catches swapped lat/lon, projected metres and zero coordinates.
CHINA_LAT = (18.0, 54.0)
CHINA_LON = (73.0, 135.0)
MAX_EXAMPLES = 5

RULES: dict[str, str] = {
    "missing_table": "a table another table refers to (or that was asked for) is absent",
    "unknown_table": "a file or folder that is not a canonical table",
    "ambiguous_table": "a table given both as a folder and as a file",
    "unreadable_file": "a file that cannot be read as CSV or Parquet",
    "malformed_row": "a CSV line with the wrong number of fields",
    "missing_column": "a canonical column is absent",
    "extra_column": "a column that is not part of the canonical table",
    "wrong_type": "a stored type or a text value that does not match the column type",
    "money_precision": "an amount with a fraction of a fen (import only)",
    "null_in_required": "an empty value in a required column",
    "duplicate_key": "rows sharing a primary key",
    "dangling_foreign_key": "a reference to a row that does not exist",
    "negative_amount": "a negative money amount",
    "below_minimum": "a value below the column's minimum",
    "above_maximum": "a value above the column's maximum",
    "date_after_as_of": "an event dated after the as-of date",
    "coordinate_outside_china": "a latitude or longitude outside China's bounding box",
    "unknown_enum_value": "a value outside the column's allowed values",
}


@dataclass(frozen=True)
class Problem:
    """One broken rule in one table (and column), with how many rows break it and a few examples.

    Attributes
    ----------
    table, column : str
        Where; ``column`` is None for table-level rules and composite keys.
    rule : str
        Stable rule id, one of ``RULES``.
    count : int
        Offending rows (or files, lines or columns for file-level rules).
    message : str
        What is wrong and what to do (English, with a zh gloss).
    examples : tuple of dict
        Up to 5 offending rows: ``row`` (1-based data row in its file), ``file`` (when the table has several
        files) and the key and offending columns, personal data masked.
    location : str
        The file or folder the table was read from.
    """

    table: str
    column: str | None
    rule: str
    count: int
    message: str
    examples: tuple[dict[str, Any], ...] = ()
    location: str = ""

    @property
    def where(self) -> str:
        """``table.column`` or ``table``."""
        return f"{self.table}.{self.column}" if self.column else self.table

    def headline(self) -> str:
        """One line: where, what and the rule id."""
        return f"{self.where}: {self.message} (rule {self.rule})"

    def __str__(self) -> str:
        first = f" — e.g. {format_example(self.examples[0])}" if self.examples else ""
        return self.headline() + first


def _format_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        plain = value and not any(ch.isspace() for ch in value) and "=" not in value and "'" not in value
        return value if plain else repr(value)
    return str(value)


def format_example(example: Mapping[str, Any]) -> str:
    """Render an example row: ``row 17: txn_id=T00017 amount_fen=-500``."""
    head = f"row {example['row']}" if "row" in example else "row ?"
    if example.get("file"):
        head = f"{example['file']} {head}"
    cells = " ".join(f"{k}={_format_value(v)}" for k, v in example.items() if k not in ("row", "file"))
    return f"{head}: {cells}" if cells else head


@dataclass
class ValidationReport:
    """Every problem found in a folder, and the row count of each table checked.

    Attributes
    ----------
    path : Path
        The folder checked.
    problems : list of Problem
        In table order (canonical order), then as found.
    tables : dict of str to int
        Row count of each table checked.
    absent : list of str
        Canonical tables that were not present and not needed.
    as_of : date or None
        The as-of date used for the future-date rule (None: rule skipped).
    """

    path: Path
    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    as_of: date | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def problem_tables(self) -> list[str]:
        """Tables with problems, in report order."""
        return list(dict.fromkeys(p.table for p in self.problems))

    def summary(self) -> str:
        """One line: OK with row counts, or how many problems in how many tables."""
        when = f" as of {self.as_of}" if self.as_of else ""
        if self.ok:
            counts = ", ".join(f"{name} {rows:,}" for name, rows in self.tables.items())
            total = sum(self.tables.values())
            return f"OK 校验通过: {len(self.tables)} tables, {total:,} rows in {self.path}{when} — {counts}"
        n, t = len(self.problems), len(self.problem_tables())
        return (
            f"{n} problem{'s' if n != 1 else ''} in {t} table{'s' if t != 1 else ''} of {self.path}{when} "
            "(校验未通过); fix them and validate again"
        )

    def to_text(self) -> str:
        """The whole report, problems grouped by table, each with its examples."""
        lines = [self.summary()]
        for table in self.problem_tables():
            mine = [p for p in self.problems if p.table == table]
            spec = TABLES_BY_NAME.get(table)
            title = f"{table} ({spec.zh})" if spec else table
            location = mine[0].location
            lines.append("")
            lines.append(f"{title} — {len(mine)} problem{'s' if len(mine) != 1 else ''}  [{location}]")
            for problem in mine:
                lines.append(f"  - {problem.headline()}")
                lines.extend(f"      e.g. {format_example(ex)}" for ex in problem.examples)
        if not self.ok and self.tables:
            lines.append("")
            lines.append("rows checked: " + ", ".join(f"{n} {r:,}" for n, r in self.tables.items()))
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        """Raise ``ValidationFailed`` (message: the whole report, ``report``: self) when there are problems."""
        if not self.ok:
            raise ValidationFailed(self.to_text(), self)


# ---------------------------------------------------------------------------------------------------------
# The checks


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int | float | bool | str) or value is None:
        return value
    return str(value)


@dataclass(frozen=True)
class _RowRule:
    rule: str
    column: str
    condition: str
    describe: Callable[[int], str]
    show: tuple[str, ...] = ()  # extra columns to show in examples
    raw: bool = False  # show the value as found rather than the converted one


class _Checker:
    """Runs the row, key and foreign-key rules of a set of tables in one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, inputs: Mapping[str, TableInput], as_of: date | None):
        self.con = con
        self.inputs = inputs
        self.as_of = as_of
        self.views: dict[str, str] = {}

    # -- helpers
    def view(self, name: str) -> str | None:
        """Create (once) the checking view of table ``name``; None when the table is unreadable."""
        if name in self.views:
            return self.views[name]
        inp = self.inputs[name]
        if not inp.readable:
            return None
        items = [f"{inp.row_sql} AS __row", f"{inp.file_sql or 'NULL'} AS __file"]
        for col_name, col in inp.columns.items():
            items.append(f"{col.value} AS {quote_ident(col_name)}")
            items.append(f"{col.raw} AS {quote_ident('__raw_' + col_name)}")
            for i, check in enumerate(col.checks):
                items.append(f"({check.condition}) AS {quote_ident(f'__chk{i}_{col_name}')}")
        view = f"youshu_v_{len(self.views)}_{name}"
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {', '.join(items)} FROM {inp.relation}"
        )
        self.views[name] = view
        return view

    def _example_rows(self, name: str, sql: str) -> tuple[dict[str, Any], ...]:
        spec = self.inputs[name].spec
        rel = self.con.execute(sql)
        columns = [d[0] for d in rel.description]
        examples = []
        for values in rel.fetchall():
            row: dict[str, Any] = {}
            for col_name, value in zip(columns, values, strict=True):
                if col_name == "__row":
                    row["row"] = value
                elif col_name == "__file":
                    if value is not None:
                        row["file"] = Path(str(value)).name
                else:
                    kind = spec.column(col_name).pii if col_name in spec.column_names else None
                    row[col_name] = mask_value(_plain(value), kind)
            examples.append(row)
        return tuple(examples)

    def _key_columns(self, name: str) -> list[str]:
        inp = self.inputs[name]
        return [k for k in inp.spec.primary_key if k in inp.columns]

    def _problem(
        self, name: str, column: str | None, rule: str, count: int, message: str, examples: Any = ()
    ) -> Problem:
        inp = self.inputs[name]
        origin = inp.columns[column].origin if column and column in inp.columns else None
        if origin and origin != column:
            message += f" (source column {origin})"
        return Problem(name, column, rule, count, message, tuple(examples), inp.location)

    # -- rules
    def row_rules(self, name: str) -> list[_RowRule]:
        inp = self.inputs[name]
        rules: list[_RowRule] = []
        for col_name, col in inp.columns.items():
            spec_col = inp.spec.column(col_name)
            q = quote_ident(col_name)
            for i, check in enumerate(col.checks):
                expected = check.expected

                def describe(n: int, expected: str = expected, rule: str = check.rule) -> str:
                    if rule == "money_precision":
                        return f"{count_text(n)} with a fraction of a fen (金额精度超过分); {expected}"
                    return f"{count_text(n)} with a value that is not {expected} (类型错误); correct or clear them"

                rules.append(
                    _RowRule(check.rule, col_name, quote_ident(f"__chk{i}_{col_name}"), describe, raw=True)
                )
            if spec_col.required:
                rules.append(
                    _RowRule(
                        "null_in_required",
                        col_name,
                        f"{quote_ident('__raw_' + col_name)} IS NULL",
                        lambda n: (
                            f"{count_text(n)} with no value in a required column (必填列为空); fill them in"
                        ),
                        raw=True,
                    )
                )
            if spec_col.allowed is not None:
                allowed = ", ".join(sql_literal(v) for v in spec_col.allowed)
                rules.append(
                    _RowRule(
                        "unknown_enum_value",
                        col_name,
                        f"{q} IS NOT NULL AND {q} NOT IN ({allowed})",
                        lambda n, a=spec_col.allowed: (  # type: ignore[misc]  # bind per column
                            f"{count_text(n)} with a value outside the allowed set (未知枚举值): "
                            f"{{values}}; allowed: {', '.join(a)} (map source codes with `values:` in map.yml)"
                        ),
                    )
                )
            rules.extend(self._bound_rules(col_name, spec_col.role, spec_col.min_value, spec_col.max_value))
            if spec_col.role in (Role.LATITUDE, Role.LONGITUDE):
                lo, hi = CHINA_LAT if spec_col.role is Role.LATITUDE else CHINA_LON
                axis = "N" if spec_col.role is Role.LATITUDE else "E"
                rules.append(
                    _RowRule(
                        "coordinate_outside_china",
                        col_name,
                        f"{q} IS NOT NULL AND NOT ({q} BETWEEN {lo} AND {hi})",
                        lambda n, lo=lo, hi=hi, axis=axis: (  # type: ignore[misc]  # bind per column
                            f"{count_text(n)} outside China ({lo:g}–{hi:g}°{axis}) "
                            "(坐标超出中国范围){swapped}; coordinates are WGS-84 degrees — check that lat and lon "
                            "are not swapped and that the source coordinate system is set"
                        ),
                        show=tuple(c for c in ("lat", "lon") if c in inp.columns and c != col_name),
                    )
                )
            if spec_col.role is Role.EVENT_TIME and self.as_of is not None:
                if spec_col.dtype is DType.TIMESTAMP:
                    limit = f"TIMESTAMP '{self.as_of + timedelta(days=1)} 00:00:00'"
                    cond = f"{q} >= {limit}"
                else:
                    cond = f"{q} > DATE '{self.as_of}'"
                rules.append(
                    _RowRule(
                        "date_after_as_of",
                        col_name,
                        cond,
                        lambda n: (
                            f"{count_text(n)} dated after the as-of date {self.as_of} (晚于数据日期); "
                            "data must not come from the future — check the extract or the --as-of date"
                        ),
                    )
                )
        return rules

    def _bound_rules(self, col_name: str, role: Role, lo: float | None, hi: float | None) -> list[_RowRule]:
        q = quote_ident(col_name)
        rules = []
        if lo is not None:
            if role is Role.MONEY:
                rules.append(
                    _RowRule(
                        "negative_amount",
                        col_name,
                        f"{q} < 0",
                        lambda n: (
                            f"{count_text(n)} with a negative amount (金额为负); amounts are fen "
                            f"(分) of at least {lo:g} — record the direction in its own column"
                        ),
                    )
                )
            if role is not Role.MONEY or lo > 0:
                floor = "0" if role is Role.MONEY else None
                cond = f"{q} < {lo!r}" if floor is None else f"{q} >= 0 AND {q} < {lo!r}"
                rules.append(
                    _RowRule(
                        "below_minimum",
                        col_name,
                        cond,
                        lambda n: f"{count_text(n)} below the minimum {lo:g} (低于最小值)",
                    )
                )
        if hi is not None:
            rules.append(
                _RowRule(
                    "above_maximum",
                    col_name,
                    f"{q} > {hi!r}",
                    lambda n: f"{count_text(n)} above the maximum {hi:g} (高于最大值)",
                )
            )
        return rules

    def check_rows(self, name: str) -> tuple[int, list[Problem]]:
        """Count every row rule in one scan, then fetch examples for those broken."""
        view = self.view(name)
        if view is None:
            return 0, []
        rules = self.row_rules(name)
        aggregates = ["count(*)"] + [f"count(*) FILTER (WHERE {r.condition})" for r in rules]
        swap = "lat" in self.inputs[name].columns and "lon" in self.inputs[name].columns
        if swap:
            aggregates.append(
                f"count(*) FILTER (WHERE lat BETWEEN {CHINA_LON[0]} AND {CHINA_LON[1]} "
                f"AND lon BETWEEN {CHINA_LAT[0]} AND {CHINA_LAT[1]})"
            )
        counts = self.con.execute(f"SELECT {', '.join(aggregates)} FROM {view}").fetchone()
        assert counts is not None
        total, rule_counts = int(counts[0]), [int(c) for c in counts[1 : len(rules) + 1]]
        swapped = int(counts[-1]) if swap else 0
        keys = self._key_columns(name)
        problems = []
        for rule, n in zip(rules, rule_counts, strict=True):
            if n == 0:
                continue
            shown = [*keys, *(c for c in (rule.column, *rule.show) if c not in keys)]
            items = ["__row", "__file"] + [
                f"{quote_ident('__raw_' + c)} AS {quote_ident(c)}"
                if rule.raw and c == rule.column
                else quote_ident(c)
                for c in shown
            ]
            sql = f"SELECT {', '.join(items)} FROM {view} WHERE {rule.condition} ORDER BY __file NULLS FIRST, __row LIMIT {MAX_EXAMPLES}"
            message = rule.describe(n)
            if "{values}" in message:
                message = message.replace("{values}", self._distinct(name, view, rule))
            if "{swapped}" in message:
                note = f"; {swapped:,} of them would be inside with lat and lon swapped" if swapped else ""
                message = message.replace("{swapped}", note)
            problems.append(
                self._problem(name, rule.column, rule.rule, n, message, self._example_rows(name, sql))
            )
        return total, problems

    def _distinct(self, name: str, view: str, rule: _RowRule) -> str:
        q = quote_ident(rule.column)
        sql = (
            f"SELECT {q}, count(*) AS n FROM {view} WHERE {rule.condition} GROUP BY {q} "
            f"ORDER BY n DESC, {q} LIMIT {MAX_EXAMPLES}"
        )
        kind = self.inputs[name].spec.column(rule.column).pii
        return ", ".join(repr(mask_value(v, kind)) for v, _ in self.con.execute(sql).fetchall())

    def check_types(self, name: str) -> list[Problem]:
        """Problems for Parquet columns stored with an incompatible type, with examples from those files."""
        inp = self.inputs[name]
        problems = []
        for col_name, bad in inp.type_errors.items():
            spec_col = inp.spec.column(col_name)
            kinds = sorted({str(t) for t in bad.values()})
            rows = sum(inp.file_rows.get(f, 0) for f in bad)
            listing = ", ".join(sql_literal(str(f)) for f in bad)
            keys = [k for k in inp.spec.primary_key if k != col_name and k in inp.columns]
            items = [
                "file_row_number + 1 AS __row",
                f"{'filename' if len(inp.file_rows) > 1 else 'NULL'} AS __file",
            ]
            items += [quote_ident(c) for c in (*keys, col_name)]
            sql = (
                f"SELECT {', '.join(items)} FROM read_parquet([{listing}], filename = true, "
                f"file_row_number = true, union_by_name = true) ORDER BY __file NULLS FIRST, __row LIMIT {MAX_EXAMPLES}"
            )
            try:
                examples = self._example_rows(name, sql)
            except duckdb.Error:
                examples = ()
            files = f"in {len(bad)} of {len(inp.file_rows)} files" if len(inp.file_rows) > 1 else ""
            problems.append(
                self._problem(
                    name,
                    col_name,
                    "wrong_type",
                    rows,
                    f"stored as {' / '.join(kinds)}{' ' + files if files else ''}, expected "
                    f"{spec_col.arrow_type} ({TYPE_ZH[spec_col.dtype]}, 类型错误) — "
                    f"{type_hint(next(iter(bad.values())), spec_col.dtype)}",
                    examples,
                )
            )
        return problems

    def check_duplicates(self, name: str) -> list[Problem]:
        """Rows that share a primary key (nulls are the null rule's business)."""
        inp = self.inputs[name]
        keys = list(inp.spec.primary_key)
        view = self.view(name)
        if view is None or any(k not in inp.columns for k in keys):
            return []
        qk = ", ".join(quote_ident(k) for k in keys)
        not_null = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in keys)
        dups = f"SELECT {qk}, count(*) AS n FROM {view} WHERE {not_null} GROUP BY {qk} HAVING count(*) > 1"
        found = self.con.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM ({dups})").fetchone()
        assert found is not None
        n_keys, n_rows = int(found[0]), int(found[1])
        if n_keys == 0:
            return []
        v_cols = ", ".join(f"v.{quote_ident(k)}" for k in keys)
        sql = (
            f"SELECT v.__row, v.__file, {v_cols} FROM {view} v JOIN (SELECT {qk} FROM ({dups}) ORDER BY {qk} "
            f"LIMIT {MAX_EXAMPLES}) d USING ({qk}) ORDER BY {v_cols}, v.__file NULLS FIRST, v.__row LIMIT {MAX_EXAMPLES}"
        )
        column = keys[0] if len(keys) == 1 else None
        what = keys[0] if len(keys) == 1 else f"({', '.join(keys)})"
        return [
            self._problem(
                name,
                column,
                "duplicate_key",
                n_rows,
                f"{count_text(n_rows)} sharing {count_text(n_keys, 'key value')} of {what} (主键重复); each key must "
                "appear once — remove the duplicates",
                self._example_rows(name, sql),
            )
        ]

    def check_foreign_keys(self, name: str, only_targets: Collection[str] | None = None) -> list[Problem]:
        """References to rows absent from the referenced table (checked when that table is present)."""
        inp = self.inputs[name]
        view = self.view(name)
        problems: list[Problem] = []
        if view is None:
            return problems
        keys = self._key_columns(name)
        for col in inp.spec.columns:
            if col.references is None or col.name not in inp.columns:
                continue
            target, target_col = col.references
            if only_targets is not None and target not in only_targets:
                continue
            if target not in self.inputs:
                continue  # reported once as missing_table
            parent = self.view(target)
            if parent is None or target_col not in self.inputs[target].columns:
                logger.info("cannot check %s.%s: %s.%s is not usable", name, col.name, target, target_col)
                continue
            q, tq = quote_ident(col.name), quote_ident(target_col)
            cond = f"c.{q} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{tq} = c.{q})"
            found = self.con.execute(f"SELECT count(*) FROM {view} c WHERE {cond}").fetchone()
            n = int(found[0]) if found else 0
            if n == 0:
                continue
            values = self.con.execute(
                f"SELECT DISTINCT c.{q} FROM {view} c WHERE {cond} ORDER BY 1 LIMIT {MAX_EXAMPLES}"
            ).fetchall()
            shown = ", ".join(repr(mask_value(_plain(v[0]), col.pii)) for v in values)
            cols = ", ".join(f"c.{quote_ident(k)}" for k in [*keys, col.name] if k in inp.columns)
            cols = ", ".join(dict.fromkeys([*(f"c.{quote_ident(k)}" for k in keys), f"c.{q}"]))
            sql = (
                f"SELECT c.__row, c.__file, {cols} FROM {view} c WHERE {cond} "
                f"ORDER BY c.__file NULLS FIRST, c.__row LIMIT {MAX_EXAMPLES}"
            )
            problems.append(
                self._problem(
                    name,
                    col.name,
                    "dangling_foreign_key",
                    n,
                    f"{count_text(n)} referring to {target}.{target_col} values that do not exist (外键悬空): {shown}; "
                    f"add the missing {target} rows or correct the references",
                    self._example_rows(name, sql),
                )
            )
        return problems


def _missing_tables(inputs: Mapping[str, TableInput], check: Collection[str], location: str) -> list[Problem]:
    needed: dict[str, list[str]] = {}
    for name in check:
        inp = inputs[name]
        for col in inp.spec.columns:
            if col.references and col.references[0] not in inputs and col.name in inp.columns:
                needed.setdefault(col.references[0], []).append(f"{name}.{col.name}")
    return [
        Problem(
            target,
            None,
            "missing_table",
            len(refs),
            f"table is absent but {', '.join(refs)} refer to it (缺少表); add {target} as {target}/*.parquet, "
            f"{target}.parquet or {target}.csv so the references can be checked",
            location=location,
        )
        for target, refs in needed.items()
    ]


def check_tables(
    con: duckdb.DuckDBPyConnection,
    inputs: Mapping[str, TableInput],
    *,
    check: Collection[str],
    as_of: date | None = None,
    inbound_from: Collection[str] = (),
    location: str = "",
) -> tuple[list[Problem], dict[str, int]]:
    """Run every rule on the tables named in ``check``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection the inputs' relations live in.
    inputs : mapping of str to TableInput
        The checked tables and every present table they refer to.
    check : collection of str
        Tables to check fully.
    as_of : date, optional
        Events after it are problems; None skips that rule.
    inbound_from : collection of str
        Tables whose foreign keys into ``check`` tables are checked too (import: existing warehouse tables
        that refer to a replaced table).
    location : str
        Shown with ``missing_table`` problems.

    Returns
    -------
    problems, rows : list of Problem, dict of str to int
        Problems in canonical table order, and the row count of each checked table.
    """
    checker = _Checker(con, inputs, as_of)
    found: list[Problem] = _missing_tables(inputs, check, location)
    rows: dict[str, int] = {}
    for name in check:
        inp = inputs[name]
        found.extend(
            Problem(name, f.column, f.rule, f.count, f.message, location=inp.location) for f in inp.findings
        )
        rows[name] = 0
        try:
            found.extend(checker.check_types(name))
            total, row_problems = checker.check_rows(name)
            rows[name] = total if inp.readable else 0
            found.extend(row_problems)
            found.extend(checker.check_duplicates(name))
            found.extend(checker.check_foreign_keys(name))
        except duckdb.Error as exc:
            found.append(_engine_failure(name, inp.location, exc))
    for name in inbound_from:
        try:
            found.extend(checker.check_foreign_keys(name, only_targets=check))
        except duckdb.Error as exc:
            found.append(_engine_failure(name, inputs[name].location, exc))
    order = {t.name: i for i, t in enumerate(TABLES)}
    found.sort(key=lambda p: order.get(p.table, len(order)))
    return found, rows


def _engine_failure(name: str, location: str, exc: duckdb.Error) -> Problem:
    # Only the kind of error: DuckDB messages may quote values, which can be personal data.
    logger.debug("checking %s failed: %s", name, type(exc).__name__)
    return Problem(
        name,
        None,
        "unreadable_file",
        1,
        f"the table could not be scanned ({type(exc).__name__}); rewrite its files with one consistent "
        "schema (文件无法读取)",
        location=location,
    )


def open_inputs(
    con: duckdb.DuckDBPyConnection,
    folder_tables: Mapping[str, SourceTable],
    names: Collection[str],
    prefix: str = "src",
) -> dict[str, TableInput]:
    """Open the canonical tables ``names`` of a scanned folder strictly (unreadable ones carry a problem)."""
    inputs: dict[str, TableInput] = {}
    for name in names:
        source = folder_tables[name]
        spec = TABLES_BY_NAME[name]
        try:
            opened = open_source(con, source, f"{prefix}_{name}")
        except SourceError as exc:
            inp = TableInput(spec, str(source.path), "", {}, 0, "NULL", None, readable=False)
            inp.findings.append(Finding(None, "unreadable_file", 1, f"{exc} (文件无法读取)"))
            inputs[name] = inp
            continue
        inputs[name] = warehouse_input(opened, spec)
    return inputs


def referenced_tables(names: Collection[str]) -> set[str]:
    """The tables that the tables ``names`` refer to by foreign key."""
    return {c.references[0] for n in names for c in TABLES_BY_NAME[n].columns if c.references}


def validate_warehouse(
    path: Path, *, as_of: date | None = None, tables: Sequence[str] | None = None
) -> ValidationReport:
    """Check a folder of tables (Parquet or CSV) against the canonical specs and report every problem.

    Parameters
    ----------
    path : Path
        A warehouse (``<table>/part-*.parquet``) or a folder of ``<table>.parquet`` / ``<table>.csv``. The
        ``truth/`` folder is ignored.
    as_of : date, optional
        Event dates and times after it are problems (``date_after_as_of``); None skips the rule.
    tables : sequence of str, optional
        Check only these tables (the tables they refer to are read for the foreign-key checks). Default: every
        canonical table present; other files that look like tables are ``unknown_table`` problems.

    Returns
    -------
    ValidationReport
        ``ok`` when clean; ``raise_if_failed()`` raises ``ValidationFailed`` otherwise.

    Raises
    ------
    SourceError
        When ``path`` is not a folder or ``tables`` names a table that is not canonical.

    Examples
    --------
    >>> report = validate_warehouse(Path("data/warehouse"), as_of=date(2025, 9, 30))  # doctest: +SKIP
    >>> report.raise_if_failed()  # doctest: +SKIP
    """
    root = Path(path)
    if tables is not None:
        unknown = [t for t in tables if t not in TABLES_BY_NAME]
        if unknown:
            raise SourceError(
                f"unknown table(s) {', '.join(unknown)}; canonical tables are: {', '.join(TABLES_BY_NAME)}"
            )
    folder = scan_folder(root)
    report = ValidationReport(root, as_of=as_of)
    problems: list[Problem] = []
    wanted = list(dict.fromkeys(tables)) if tables is not None else [t.name for t in TABLES]
    for name, paths in folder.ambiguous.items():
        if tables is None or name in wanted:
            listing = " and ".join(p.name + ("/" if p.is_dir() else "") for p in paths)
            problems.append(
                Problem(
                    name,
                    None,
                    "ambiguous_table",
                    len(paths),
                    f"both {listing} exist (表重复); keep one",
                    location=str(root),
                )
            )
    if tables is None:
        for name, source in folder.tables.items():
            if name not in TABLES_BY_NAME:
                close = difflib.get_close_matches(name, list(TABLES_BY_NAME), n=1)
                hint = f"did you mean {close[0]}? rename it" if close else "move it out of the folder"
                problems.append(
                    Problem(
                        name,
                        None,
                        "unknown_table",
                        1,
                        f"{source.path.name} is not a canonical table (未知表); {hint}",
                        location=str(source.path),
                    )
                )
    present = set(folder.tables) & set(TABLES_BY_NAME)
    check = [n for n in wanted if n in present]
    for name in wanted:
        if tables is not None and name not in present and name not in folder.ambiguous:
            problems.append(
                Problem(
                    name,
                    None,
                    "missing_table",
                    1,
                    f"table was asked for but is not in {root} (缺少表); add {name}/*.parquet, {name}.parquet "
                    f"or {name}.csv",
                    location=str(root),
                )
            )
    needed = set(check) | (referenced_tables(check) & present)
    with duckdb.connect() as con:
        inputs = open_inputs(con, folder.tables, sorted(needed))
        found, rows = check_tables(con, inputs, check=check, as_of=as_of, location=str(root))
    # Ambiguous tables cannot be checked, so tables referring to them must not also report them missing.
    found = [p for p in found if not (p.rule == "missing_table" and p.table in folder.ambiguous)]
    order = {t.name: i for i, t in enumerate(TABLES)}
    report.problems = sorted(problems + found, key=lambda p: order.get(p.table, len(order)))
    report.tables = rows
    report.absent = [
        t.name for t in TABLES if t.name not in present and t.name not in report.problem_tables()
    ]
    logger.info("validated %s: %d tables, %d problems", root, len(rows), len(report.problems))
    return report
