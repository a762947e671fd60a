"""The tag expression language: a whitelisted SQL subset, parsed with sqlglot and translated to Ibis.

A tag's ``expression`` is a SQL scalar expression over one row: the entity's feature columns and the ids of
other tags of the same entity. Only what is listed below is accepted; anything else is refused when the
definitions are loaded, never when an engine runs them.

Allowed syntax
    column names (unqualified), literals (``12``, ``1.5``, ``'text'``, ``TRUE``/``FALSE``, ``NULL``,
    ``DATE 'YYYY-MM-DD'``), parentheses, ``+ - * /`` and unary minus on numbers (``/`` is null where the
    divisor is 0, on every engine), ``= <> != < <= > >=``, ``AND OR NOT``, ``IN (literal, ...)``,
    ``NOT IN``, ``BETWEEN lo AND hi``, ``IS NULL``, ``IS NOT NULL``,
    ``CASE WHEN cond THEN value ... ELSE value END`` and ``CASE x WHEN v THEN ... END``.

Allowed functions
    ``COALESCE(a, b, ...)`` (also ``IFNULL``/``NVL``), ``LEAST``/``GREATEST`` (nulls are skipped), ``ABS``,
    ``ROUND(x[, digits])`` (``digits`` an integer literal 0-10, halves away from zero in double
    arithmetic so every engine agrees; without digits the result is an integer),
    ``LN(x)`` and ``LOG10(x)`` (null where ``x <= 0``), ``NULLIF(a, b)``, and the tag helpers
    ``IF(cond, then[, else])``, ``CLAMP(x, lo, hi)`` (``x`` limited to ``[lo, hi]``, null stays null) and
    ``DAYS_BETWEEN(start_date, end_date)`` (whole days, ``end - start``).

Numbers with a decimal point are doubles (not SQL decimals) on every engine. Types are checked: arithmetic needs numbers, comparisons need two values of one type (number, string, date,
boolean), ``AND``/``OR``/``NOT`` and ``CASE WHEN`` conditions need booleans, and the result must fit the
tag's kind (boolean, string for categorical, number for score).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from youshu.tags.errors import ExpressionError
from youshu.tags.translator import (
    ALLOWED_FUNCTIONS,
    ALLOWED_SYNTAX,
    DIALECT,
    Translator,
    describe,
    is_number,
    suggest,
)

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_SYNTAX",
    "DIALECT",
    "KIND_DTYPES",
    "ExpressionError",
    "ParsedExpression",
    "check_kind",
    "parse_expression",
    "result_literals",
    "suggest",
    "translate",
]

#: The Ibis type a tag of each kind produces.
KIND_DTYPES: dict[str, dt.DataType] = {
    "boolean": dt.boolean,
    "categorical": dt.string,
    "score": dt.float64,
}


@dataclass(frozen=True)
class ParsedExpression:
    """A syntactically valid expression and the names it refers to.

    Attributes
    ----------
    source : str
        The text as written.
    tree : sqlglot.exp.Expr
        The parsed syntax tree.
    names : tuple of str
        Column names the expression refers to (features or tag ids), in order of first use.
    """

    source: str
    tree: exp.Expr
    names: tuple[str, ...]

    @property
    def normalized(self) -> str:
        """The expression re-printed canonically (keywords upper case, one space), for change detection."""
        return self.tree.sql(dialect=DIALECT)


def parse_expression(text: str) -> ParsedExpression:
    """Parse ``text`` as one SQL scalar expression.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"aum_fen >= 5000000 AND NOT is_dormant"``.

    Returns
    -------
    ParsedExpression

    Raises
    ------
    ExpressionError
        When ``text`` is empty or not valid SQL.

    Examples
    --------
    >>> parse_expression("aum_fen / NULLIF(n_accounts, 0) > 100").names
    ('aum_fen', 'n_accounts')
    """
    if not text or not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = sqlglot.parse_one(text, read=DIALECT)
    except (ParseError, TokenError) as exc:
        raise ExpressionError(f"invalid SQL: {_parse_message(exc)}") from None
    if isinstance(tree, exp.Block):
        raise ExpressionError("write one expression, not several separated by ';'")
    names: dict[str, None] = {}
    for column in tree.find_all(exp.Column, bfs=False):
        names.setdefault(column.name, None)
    return ParsedExpression(text, tree, tuple(names))


def _parse_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        where = f" (line {first.get('line')}, column {first.get('col')})" if first.get("line") else ""
        return f"{first.get('description')}{where}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def translate(parsed: ParsedExpression, table: ir.Table) -> ir.Value:
    """Translate a parsed expression into an Ibis value over ``table``.

    Parameters
    ----------
    parsed : ParsedExpression
        From ``parse_expression``.
    table : ibis.Table
        The row the expression sees: feature columns and already computed tags. At load time an unbound
        ``ibis.table(schema)`` is enough to check the expression.

    Returns
    -------
    ibis.Value

    Raises
    ------
    ExpressionError
        For syntax or functions outside the whitelist, unknown columns (with the closest known name) and
        type mismatches.
    """
    return Translator(table).visit(parsed.tree)


def check_kind(value: ir.Value, kind: str) -> None:
    """Check that ``value`` can be the result of a tag of ``kind`` (boolean, categorical or score).

    Raises
    ------
    ExpressionError
        Naming the kind and the type the expression has.
    """
    dtype = value.type()
    ok = {
        "boolean": dtype.is_boolean(),
        "categorical": dtype.is_string(),
        "score": is_number(dtype),
    }[kind]
    if not ok:
        wanted = {"boolean": "a boolean (a condition)", "categorical": "a string", "score": "a number"}
        raise ExpressionError(
            f"a {kind} tag needs {wanted[kind]}, but the expression gives {describe(dtype)}"
        )


def result_literals(parsed: ParsedExpression) -> list[str]:
    """String literals the expression can return directly (CASE/IF branches, COALESCE arguments).

    Used to check a categorical tag's results against its declared ``values`` at load time.
    """
    found: list[str] = []

    def walk(node: exp.Expr | None) -> None:
        if node is None:
            return
        if isinstance(node, exp.Paren):
            walk(node.this)
        elif isinstance(node, exp.Literal) and node.is_string:
            found.append(node.this)
        elif isinstance(node, exp.Case):
            for branch in node.args.get("ifs") or []:
                walk(branch.args.get("true"))
            walk(node.args.get("default"))
        elif isinstance(node, exp.If):
            walk(node.args.get("true"))
            walk(node.args.get("false"))
        elif isinstance(node, exp.Coalesce):
            walk(node.this)
            for arg in node.expressions:
                walk(arg)

    walk(parsed.tree)
    return found
