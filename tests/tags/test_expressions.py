"""The tag expression language: what it computes (on DuckDB) and what it refuses, with the reason."""

from __future__ import annotations

import datetime as dtm
from collections.abc import Iterator
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest

from youshu.engine import Engine, connect
from youshu.tags.compiler import unbound_table
from youshu.tags.expressions import (
    ExpressionError,
    check_kind,
    parse_expression,
    result_literals,
    translate,
)

SCHEMA = {
    "aum_fen": "int",
    "txn_count": "int",
    "rate": "float",
    "segment_code": "string",
    "open_date": "date",
    "last_txn_date": "date",
    "is_payroll": "bool",
}

ROWS = {
    "aum_fen": [5000, 0, None, -10],
    "txn_count": [10, 0, 3, None],
    "rate": [0.25, 1.5, None, 100.0],
    "segment_code": ["A", "B", None, "C"],
    "open_date": [dtm.date(2026, 1, 1), dtm.date(2025, 12, 1), None, dtm.date(2026, 3, 1)],
    "last_txn_date": [dtm.date(2026, 1, 31), dtm.date(2026, 3, 1), dtm.date(2026, 1, 1), None],
    "is_payroll": [True, False, None, True],
}


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


@pytest.fixture(scope="module")
def rows() -> ir.Table:
    return ibis.memtable(ROWS, schema=unbound_table(SCHEMA).schema())


def evaluate(duck: Engine, rows: ir.Table, expression: str) -> list[Any]:
    value = translate(parse_expression(expression), rows)
    frame = duck.to_pyarrow(rows.select(value=value))
    return frame.column("value").to_pylist()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("aum_fen / txn_count", [500.0, None, None, None]),  # 0 divisor -> null, not inf or an error
        ("aum_fen * 2 - 1 + -txn_count", [9989, -1, None, None]),
        ("rate > 1 AND NOT is_payroll", [False, True, None, False]),
        ("aum_fen > 0 OR is_payroll", [True, False, None, True]),
        ("segment_code IN ('A', 'C')", [True, False, None, True]),
        ("segment_code NOT IN ('A', 'C')", [False, True, None, False]),
        ("txn_count BETWEEN 1 AND 10", [True, False, True, None]),
        ("segment_code IS NULL", [False, False, True, False]),
        ("aum_fen IS NOT NULL", [True, True, False, True]),
        (
            "CASE WHEN aum_fen > 100 THEN 'rich' WHEN aum_fen >= 0 THEN 'some' ELSE 'none' END",
            ["rich", "some", "none", "none"],
        ),
        ("CASE segment_code WHEN 'A' THEN 1 WHEN 'B' THEN 2 END", [1, 2, None, None]),
        ("IF(is_payroll, 'payroll', 'other')", ["payroll", "other", "other", "payroll"]),
        ("COALESCE(aum_fen, txn_count, 0)", [5000, 0, 3, -10]),
        ("IFNULL(segment_code, 'none')", ["A", "B", "none", "C"]),
        ("LEAST(aum_fen, txn_count)", [10, 0, 3, -10]),  # nulls are skipped
        (
            "GREATEST(open_date, last_txn_date)",
            [dtm.date(2026, 1, 31), dtm.date(2026, 3, 1), dtm.date(2026, 1, 1), dtm.date(2026, 3, 1)],
        ),
        ("ABS(aum_fen)", [5000, 0, None, 10]),
        ("ROUND(rate * 3, 1)", [0.8, 4.5, None, 300.0]),
        ("LN(aum_fen)", [pytest.approx(8.517193), None, None, None]),  # x <= 0 -> null
        ("LOG10(rate * 4)", [0.0, pytest.approx(0.778151), None, pytest.approx(2.60206)]),
        ("NULLIF(txn_count, 0)", [10, None, 3, None]),
        ("CLAMP(rate, 0.5, 10)", [0.5, 1.5, None, 10.0]),
        ("DAYS_BETWEEN(open_date, last_txn_date)", [30, 90, None, None]),
        ("open_date >= DATE '2026-01-01'", [True, False, None, True]),
        ("is_payroll = TRUE", [True, False, None, True]),
    ],
)
def test_expression_computes(duck: Engine, rows: ir.Table, expression: str, expected: list[Any]) -> None:
    assert evaluate(duck, rows, expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("aum_fenn > 1", "unknown column 'aum_fenn' (did you mean 'aum_fen'?)"),
        ("nothing_like_it > 1", "unknown column 'nothing_like_it'"),
        (
            "foo(aum_fen) > 1",
            "unknown function 'foo'; allowed functions: ABS, CLAMP, COALESCE, DAYS_BETWEEN, ",
        ),
        ("UPPER(segment_code) = 'A'", "function UPPER is not allowed; allowed functions: ABS,"),
        ("SUM(aum_fen) > 1", "aggregate function SUM is not allowed: a tag is computed from one row"),
        ("ROW_NUMBER() OVER (ORDER BY aum_fen) = 1", "window functions are not allowed"),
        ("aum_fen > (SELECT 1)", "subqueries are not allowed"),
        ("aum_fen IN (SELECT 1)", "IN takes a list of literal values, not a subquery"),
        ("aum_fen IN (txn_count)", "IN takes literal values only; txn_count is not a literal"),
        (
            "segment_code = 1",
            "cannot compare segment_code (a string) with 1 (a number); quote both or neither",
        ),
        ("open_date < '2026-01-01'", "write dates as DATE 'YYYY-MM-DD'"),
        ("segment_code + 1", "+ needs a number, but segment_code is a string"),
        ("is_payroll AND aum_fen", "AND needs a condition (boolean), but aum_fen is a number"),
        (
            "CASE WHEN is_payroll THEN 'a' ELSE 1 END",
            "CASE results must have one type: 'a' is a string, 1 is a number",
        ),
        ("aum_fen = NULL", "`aum_fen = NULL` is never true; write IS NULL or IS NOT NULL"),
        ("CAST(aum_fen AS DOUBLE)", "casts are not allowed"),
        ("DATE '2026-02-30'", "DATE '2026-02-30' is not a date"),
        ("aum_fen % 2", "`aum_fen % 2` is not allowed; allowed: columns, literals"),
        ("segment_code || 'x'", "is not allowed; allowed: columns"),
        ("LOG(aum_fen)", "LOG is ambiguous across engines; use LN(x) or LOG10(x)"),
        ("ROUND(rate, txn_count)", "ROUND digits must be an integer literal"),
        ("CLAMP(rate, 1)", "CLAMP takes 3 arguments, CLAMP(x, lo, hi); got 2"),
        ("DAYS_BETWEEN(open_date, 3)", "DAYS_BETWEEN needs dates, but 3 is a number"),
        ("t.aum_fen > 1", "write column names without a table prefix: t.aum_fen"),
        ("aum_fen > 1; rate > 1", "write one expression"),
        ("aum_fen >", "invalid SQL:"),
        ("   ", "the expression is empty"),
        ("CURRENT_DATE > open_date", "function CURRENT_DATE is not allowed"),
        ("COALESCE(NULL, NULL)", "COALESCE arguments are all NULL"),
    ],
)
def test_expression_is_refused_with_a_reason(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        translate(parse_expression(expression), unbound_table(SCHEMA))

    assert message in str(info.value)


def test_names_are_the_columns_used_in_order() -> None:
    parsed = parse_expression("CASE WHEN rich AND aum_fen > 1 THEN rate ELSE aum_fen END")

    assert parsed.names == ("rich", "aum_fen", "rate")


def test_normalized_form_ignores_spacing_and_keyword_case() -> None:
    one = parse_expression("aum_fen>1   and not is_payroll")
    two = parse_expression("aum_fen > 1 AND NOT is_payroll")

    assert one.normalized == two.normalized == "aum_fen > 1 AND NOT is_payroll"


@pytest.mark.parametrize(
    ("expression", "kind", "ok"),
    [
        ("aum_fen > 1", "boolean", True),
        ("aum_fen", "boolean", False),
        ("aum_fen", "score", True),
        ("is_payroll", "score", False),
        ("segment_code", "categorical", True),
        ("NULL", "categorical", False),
    ],
)
def test_check_kind(expression: str, kind: str, ok: bool) -> None:
    value = translate(parse_expression(expression), unbound_table(SCHEMA))
    if ok:
        check_kind(value, kind)
    else:
        with pytest.raises(ExpressionError, match=f"a {kind} tag needs"):
            check_kind(value, kind)


def test_result_literals_are_the_strings_a_categorical_can_return() -> None:
    parsed = parse_expression(
        "CASE WHEN a THEN 'x' WHEN b THEN (IF(c, 'y', COALESCE(segment_code, 'z'))) ELSE 'w' END"
    )

    assert result_literals(parsed) == ["x", "y", "z", "w"]
