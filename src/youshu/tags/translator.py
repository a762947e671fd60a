"""Translation of a parsed tag expression into Ibis, node by node, refusing anything not whitelisted."""

from __future__ import annotations

import datetime as dtm
import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from sqlglot import exp

from youshu.tags.errors import ExpressionError

#: SQL dialect the expressions are read in (the language itself is described in youshu.tags.expressions).
DIALECT = "duckdb"

#: Functions an expression may call, as written in SQL.
ALLOWED_FUNCTIONS: tuple[str, ...] = (
    "ABS",
    "CLAMP",
    "COALESCE",
    "DAYS_BETWEEN",
    "GREATEST",
    "IF",
    "LEAST",
    "LN",
    "LOG10",
    "NULLIF",
    "ROUND",
)

ALLOWED_SYNTAX = (
    "columns, literals (numbers, 'strings', TRUE/FALSE, NULL, DATE 'YYYY-MM-DD'), + - * /, comparisons, "
    "AND/OR/NOT, IN (...), BETWEEN, IS [NOT] NULL, CASE WHEN ... END and the functions "
    + ", ".join(ALLOWED_FUNCTIONS)
)

_MAX_ROUND_DIGITS = 10
_INT64_MAX = 2**63 - 1


def suggest(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


# -- types ----------------------------------------------------------------------------------------------


def is_number(dtype: dt.DataType) -> bool:
    """Whether ``dtype`` is a number (booleans are not)."""
    return bool(dtype.is_numeric()) and not dtype.is_boolean()


def _family(dtype: dt.DataType) -> str:
    if dtype.is_null():
        return "null"
    if dtype.is_boolean():
        return "boolean"
    if is_number(dtype):
        return "number"
    if dtype.is_string():
        return "string"
    if dtype.is_date():
        return "date"
    return str(dtype)


def describe(dtype: dt.DataType) -> str:
    """``a number``, ``a string``, ... for messages."""
    family = _family(dtype)
    return {"null": "always NULL", "boolean": "a boolean", "number": "a number", "string": "a string"}.get(
        family, f"a {family}"
    )


def _sql(node: exp.Expr) -> str:
    text = node.sql(dialect=DIALECT)
    return text if len(text) <= 60 else text[:57] + "..."


def _show(node: exp.Expr) -> str:
    """SQL text of ``node`` for a message: bare for a column or literal, else in backticks."""
    text = _sql(node)
    return text if isinstance(node, exp.Column | exp.Literal | exp.Boolean | exp.Null) else f"`{text}`"


# -- translation ----------------------------------------------------------------------------------------


class Translator:
    """Turns a sqlglot tree into an Ibis value over ``table``, refusing any node it has no rule for.

    Use ``youshu.tags.expressions.translate``; ``visit`` raises ``ExpressionError`` naming what is wrong.
    """

    def __init__(self, table: ir.Table) -> None:
        self.table = table
        self.rules: dict[type[exp.Expr], Callable[[Any], ir.Value]] = {
            exp.Paren: lambda n: self.visit(n.this),
            exp.Column: self.column,
            exp.Literal: self.literal,
            exp.Boolean: lambda n: ibis.literal(bool(n.this), type="boolean"),
            exp.Null: lambda n: ibis.null(),
            exp.Cast: self.cast,
            exp.Neg: lambda n: -self.number(n.this, "unary -"),
            exp.Add: lambda n: self.arithmetic(n, lambda a, b: a + b),
            exp.Sub: lambda n: self.arithmetic(n, lambda a, b: a - b),
            exp.Mul: lambda n: self.arithmetic(n, lambda a, b: a * b),
            # Division by zero is null: DuckDB would give inf/NaN and Spark (ANSI) would raise.
            exp.Div: lambda n: self.arithmetic(n, lambda a, b: a / b.nullif(0)),
            exp.EQ: lambda n: self.compare(n, lambda a, b: a == b),
            exp.NEQ: lambda n: self.compare(n, lambda a, b: a != b),
            exp.LT: lambda n: self.compare(n, lambda a, b: a < b),
            exp.LTE: lambda n: self.compare(n, lambda a, b: a <= b),
            exp.GT: lambda n: self.compare(n, lambda a, b: a > b),
            exp.GTE: lambda n: self.compare(n, lambda a, b: a >= b),
            exp.And: lambda n: self.condition(n.left, "AND") & self.condition(n.right, "AND"),
            exp.Or: lambda n: self.condition(n.left, "OR") | self.condition(n.right, "OR"),
            exp.Not: lambda n: ~self.condition(n.this, "NOT"),
            exp.In: self.isin,
            exp.Between: self.between,
            exp.Is: self.is_null,
            exp.Case: self.case,
            exp.If: self.if_,
            exp.Coalesce: lambda n: self.same_type(self.args(n), "COALESCE", ibis.coalesce),
            exp.Least: lambda n: self.same_type(self.args(n), "LEAST", ibis.least, ordered=True),
            exp.Greatest: lambda n: self.same_type(self.args(n), "GREATEST", ibis.greatest, ordered=True),
            exp.Nullif: self.nullif,
            exp.Abs: lambda n: self.number(n.this, "ABS").abs(),
            exp.Round: self.round,
            exp.Ln: lambda n: _positive(self.number(n.this, "LN")).ln(),
            exp.Log: self.log10,
            exp.Anonymous: self.helper,
        }

    def visit(self, node: exp.Expr) -> ir.Value:
        rule = self.rules.get(type(node))
        if rule is None:
            raise ExpressionError(_refusal(node))
        return rule(node)

    def args(self, node: exp.Expr) -> list[exp.Expr]:
        return [node.this, *node.expressions]

    # -- leaves -------------------------------------------------------------------------------------
    def column(self, node: exp.Column) -> ir.Value:
        if node.table:
            raise ExpressionError(f"write column names without a table prefix: {_show(node)}")
        name = node.name
        if name not in self.table.columns:
            raise ExpressionError(f"unknown column {name!r}{suggest(name, self.table.columns)}")
        return self.table[name]

    def literal(self, node: exp.Literal) -> ir.Value:
        if node.is_string:
            return ibis.literal(node.this, type="string")
        text = node.this
        if text.isdigit():
            if int(text) > _INT64_MAX:
                raise ExpressionError(
                    f"{text} is too large for an integer; write it as a decimal, e.g. {float(text):.1e}"
                )
            return ibis.literal(int(text), type="int64")
        return _double(text)

    def cast(self, node: exp.Cast) -> ir.Value:
        target = node.args.get("to")
        inner = node.this
        is_date = isinstance(target, exp.DataType) and target.this == exp.DataType.Type.DATE
        if not (is_date and isinstance(inner, exp.Literal) and inner.is_string):
            raise ExpressionError(
                f"casts are not allowed ({_show(node)}); the only typed literal is DATE 'YYYY-MM-DD'"
            )
        try:
            value = dtm.date.fromisoformat(inner.this)
        except ValueError:
            raise ExpressionError(f"DATE {inner.this!r} is not a date; write DATE 'YYYY-MM-DD'") from None
        return ibis.literal(value, type="date")

    # -- operators ----------------------------------------------------------------------------------
    def number(self, node: exp.Expr, where: str) -> ir.NumericValue:
        value = self.visit(node)
        if not (is_number(value.type()) or value.type().is_null()):
            raise ExpressionError(f"{where} needs a number, but {_show(node)} is {describe(value.type())}")
        return value

    def condition(self, node: exp.Expr, where: str) -> ir.BooleanValue:
        value = self.visit(node)
        if not (value.type().is_boolean() or value.type().is_null()):
            raise ExpressionError(
                f"{where} needs a condition (boolean), but {_show(node)} is {describe(value.type())}"
            )
        return value

    def arithmetic(self, node: exp.Binary, op: Callable[[Any, Any], ir.Value]) -> ir.Value:
        symbol = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/"}[type(node)]
        return op(self.number(node.left, symbol), self.number(node.right, symbol))

    def compare(self, node: exp.Binary, op: Callable[[Any, Any], ir.Value]) -> ir.Value:
        if isinstance(node.left, exp.Null) or isinstance(node.right, exp.Null):
            raise ExpressionError(f"{_show(node)} is never true; write IS NULL or IS NOT NULL")
        left, right = self.visit(node.left), self.visit(node.right)
        _comparable([(node.left, left), (node.right, right)], "")
        return op(left, right)

    def isin(self, node: exp.In) -> ir.Value:
        if any(node.args.get(key) for key in ("query", "unnest", "field")):
            raise ExpressionError(f"IN takes a list of literal values, not a subquery: {_show(node)}")
        left = self.visit(node.this)
        items = node.expressions
        if not items:
            raise ExpressionError("IN needs at least one value")
        values = []
        for item in items:
            if not _is_literal(item):
                raise ExpressionError(f"IN takes literal values only; {_show(item)} is not a literal")
            values.append(self.visit(item))
        _comparable([(node.this, left), *zip(items, values, strict=True)], " in IN")
        return left.isin(values)

    def between(self, node: exp.Between) -> ir.Value:
        if node.args.get("symmetric"):
            raise ExpressionError("BETWEEN SYMMETRIC is not allowed; order the bounds")
        parts = [node.this, node.args["low"], node.args["high"]]
        values = [self.visit(p) for p in parts]
        _comparable(list(zip(parts, values, strict=True)), " in BETWEEN")
        return values[0].between(values[1], values[2])

    def is_null(self, node: exp.Is) -> ir.Value:
        if not isinstance(node.expression, exp.Null):
            raise ExpressionError(f"only IS NULL and IS NOT NULL are allowed, not {_show(node)}")
        return self.visit(node.this).isnull()

    # -- conditionals -------------------------------------------------------------------------------
    def case(self, node: exp.Case) -> ir.Value:
        subject = node.this
        branches: list[tuple[ir.Value, ir.Value]] = []
        results: list[tuple[exp.Expr, ir.Value]] = []
        for branch in node.args.get("ifs") or []:
            when, then = branch.this, branch.args["true"]
            if subject is None:
                cond = self.condition(when, "CASE WHEN")
            else:
                pair = [(subject, self.visit(subject)), (when, self.visit(when))]
                _comparable(pair, " in CASE")
                cond = pair[0][1] == pair[1][1]
            value = self.visit(then)
            branches.append((cond, value))
            results.append((then, value))
        default = node.args.get("default")
        else_ = self.visit(default) if default is not None else None
        if else_ is not None and default is not None:
            results.append((default, else_))
        _same_family(results, "CASE results")
        return ibis.cases(*branches, else_=else_)

    def if_(self, node: exp.If) -> ir.Value:
        cond = self.condition(node.this, "IF")
        then_node, else_node = node.args["true"], node.args.get("false")
        results = [(then_node, self.visit(then_node))]
        if else_node is not None:
            results.append((else_node, self.visit(else_node)))
        _same_family(results, "IF results")
        return ibis.cases((cond, results[0][1]), else_=results[1][1] if len(results) > 1 else None)

    # -- functions ----------------------------------------------------------------------------------
    def same_type(
        self,
        nodes: Sequence[exp.Expr],
        name: str,
        fn: Callable[..., ir.Value],
        *,
        ordered: bool = False,
    ) -> ir.Value:
        values = [(n, self.visit(n)) for n in nodes]
        family = _same_family(values, f"{name} arguments")
        if ordered and family == "boolean":
            raise ExpressionError(f"{name} needs numbers, strings or dates, not booleans")
        return fn(*(v for _, v in values))

    def nullif(self, node: exp.Nullif) -> ir.Value:
        pair = [(node.this, self.visit(node.this)), (node.expression, self.visit(node.expression))]
        _comparable(pair, " in NULLIF")
        return pair[0][1].nullif(pair[1][1])

    def round(self, node: exp.Round) -> ir.Value:
        value = self.number(node.this, "ROUND")
        digits_node = node.args.get("decimals")
        extra = [k for k in ("truncate", "casts_non_integer_decimals") if node.args.get(k)]
        if extra:
            raise ExpressionError("ROUND takes a number and optional digits only")
        digits = 0
        if digits_node is not None:
            if not (isinstance(digits_node, exp.Literal) and digits_node.this.isdigit()):
                raise ExpressionError(f"ROUND digits must be an integer literal 0-{_MAX_ROUND_DIGITS}")
            digits = int(digits_node.this)
            if digits > _MAX_ROUND_DIGITS:
                raise ExpressionError(f"ROUND digits must be between 0 and {_MAX_ROUND_DIGITS}")
        if digits == 0 or not value.type().is_floating():
            return value.round(0) if value.type().is_floating() else value
        return _round_half_away(value, digits)

    def log10(self, node: exp.Log) -> ir.Value:
        base, arg = node.this, node.args.get("expression")
        if arg is None or not (isinstance(base, exp.Literal) and base.this == "10"):
            raise ExpressionError("LOG is ambiguous across engines; use LN(x) or LOG10(x)")
        return _positive(self.number(arg, "LOG10")).log10()

    def helper(self, node: exp.Anonymous) -> ir.Value:
        name = node.name.upper()
        args = node.expressions
        if name == "CLAMP":
            _arity(name, args, 3, "CLAMP(x, lo, hi)")
            x, lo, hi = (self.number(a, "CLAMP") for a in args)
            return ibis.cases((x < lo, lo), (x > hi, hi), else_=x)
        if name == "DAYS_BETWEEN":
            _arity(name, args, 2, "DAYS_BETWEEN(start_date, end_date)")
            start, end = (self.visit(a) for a in args)
            for arg, value in zip(args, (start, end), strict=True):
                if not value.type().is_date():
                    raise ExpressionError(
                        f"DAYS_BETWEEN needs dates, but {_show(arg)} is {describe(value.type())}"
                    )
            return end.delta(start, unit="day")
        raise ExpressionError(
            f"unknown function {node.name!r}{suggest(name, ALLOWED_FUNCTIONS)}; "
            f"allowed functions: {', '.join(ALLOWED_FUNCTIONS)}"
        )


def _double(number: str | float) -> ir.FloatingValue:
    # An explicit cast to DOUBLE: a bare 3.0 is a DECIMAL to both engines, and Spark's decimal division
    # keeps only 6 digits (a / 3.0 = 0.333333) where DuckDB gives a double.
    text = number if isinstance(number, str) else repr(float(number))
    return ibis.literal(text, type="string").cast("float64")


def _round_half_away(value: ir.NumericValue, digits: int) -> ir.Value:
    # Engines' own ROUND(x, d) disagree on decimal ties (Spark: ROUND(0.285, 2) = 0.29, DuckDB: 0.28), so
    # round in double arithmetic, which is the same everywhere: sign(x) * floor(|x| * 10^d + 0.5) / 10^d.
    # From 2^52 on a double has no fraction left to round (and floor's BIGINT could overflow).
    x = value.cast("float64")
    factor = _double(10.0**digits)
    scaled = x.abs() * factor
    rounded = (scaled + _double(0.5)).floor().cast("float64") / factor
    signed = ibis.cases((x < _double(0.0), -rounded), else_=rounded)
    return ibis.cases((scaled < _double(2.0**52), signed), else_=x)


def _positive(value: ir.NumericValue) -> ir.NumericValue:
    # Logarithms of x <= 0 are null: DuckDB raises on them, Spark returns null.
    return ibis.cases((value > 0, value), else_=None)


def _arity(name: str, args: Sequence[exp.Expr], n: int, usage: str) -> None:
    if len(args) != n:
        raise ExpressionError(f"{name} takes {n} arguments, {usage}; got {len(args)}")


def _is_literal(node: exp.Expr) -> bool:
    if isinstance(node, exp.Neg):
        return _is_literal(node.this)
    if isinstance(node, exp.Cast):
        return isinstance(node.this, exp.Literal)
    return isinstance(node, exp.Literal | exp.Boolean | exp.Null)


def _same_family(values: Sequence[tuple[exp.Expr, ir.Value]], what: str) -> str:
    families = {_family(v.type()) for _, v in values} - {"null"}
    if len(families) > 1:
        shown = ", ".join(f"{_show(n)} is {describe(v.type())}" for n, v in values)
        raise ExpressionError(f"{what} must have one type: {shown}")
    if not families:
        raise ExpressionError(f"{what} are all NULL")
    return families.pop()


def _comparable(values: Sequence[tuple[exp.Expr, ir.Value]], where: str) -> None:
    typed = [(n, v) for n, v in values if _family(v.type()) != "null"]
    if not typed:
        return
    ref_node, ref = typed[0]
    for node, value in typed[1:]:
        families = {_family(ref.type()), _family(value.type())}
        if len(families) == 1:
            continue
        hint = ""
        if families == {"date", "string"}:
            hint = "; write dates as DATE 'YYYY-MM-DD'"
        elif families == {"number", "string"}:
            hint = "; quote both or neither"
        raise ExpressionError(
            f"cannot compare {_show(ref_node)} ({describe(ref.type())}) with {_show(node)} "
            f"({describe(value.type())}){where}{hint}"
        )


def _refusal(node: exp.Expr) -> str:
    if isinstance(node, exp.Window):
        return f"window functions are not allowed ({_show(node)}): a tag is computed from one row; put windows in the feature set"
    if isinstance(node, exp.AggFunc):
        return f"aggregate function {node.sql_name()} is not allowed: a tag is computed from one row; aggregate in the feature set"
    if isinstance(node, exp.Subquery | exp.Query):
        return f"subqueries are not allowed ({_show(node)}); a tag sees one row of features"
    if isinstance(node, exp.Func):
        name = node.sql_name()
        return (
            f"function {name} is not allowed{suggest(name, ALLOWED_FUNCTIONS)}; "
            f"allowed functions: {', '.join(ALLOWED_FUNCTIONS)}"
        )
    return f"{_show(node)} is not allowed; allowed: {ALLOWED_SYNTAX}"
