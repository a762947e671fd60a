"""What every summary query shares: lazy tables, day bounds, running an expression and shaping its small result."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from youshu.engine import Engine, Tables

__all__ = [
    "TXN_WINDOW_DAYS",
    "Tables",
    "as_date",
    "dates",
    "end_of",
    "execute",
    "execute_one",
    "ints",
    "labelled",
    "labels",
    "ratio",
    "start_of",
    "within_days",
]

TXN_WINDOW_DAYS = 90  # the "recent" window of money flows and QR payments, in days


def labels(text: str) -> dict[str, str]:
    """Parse ``"key=名称 key2=名称2"`` into a dict (keeps the long label tables compact)."""
    return dict(item.split("=", 1) for item in text.split())


def end_of(day: date) -> datetime:
    """Midnight after ``day``: timestamps strictly before it fall on or before ``day``."""
    return datetime.combine(day + timedelta(days=1), time())


def start_of(day: date) -> datetime:
    return datetime.combine(day, time())


def within_days(table: ir.Table, column: str, first: date, last: date) -> ir.Table:
    """Rows whose timestamp ``column`` falls on a local day from ``first`` to ``last``, both inclusive."""
    at = table[column]
    return table.filter(at >= start_of(first), at < end_of(last))


def ratio(num: float | int | None, den: float | int | None) -> float | None:
    """``num / den``, or None when the denominator is zero or missing (never inf or NaN)."""
    if num is None or den is None or den == 0:
        return None
    value = float(num) / float(den)
    return None if math.isnan(value) else value


def execute(engine: Engine, expr: ir.Table) -> pd.DataFrame:
    return engine.execute(expr).reset_index(drop=True)


def execute_one(engine: Engine, expr: ir.Table) -> dict[str, Any]:
    """Run a one-row aggregate; nulls (sums over no rows) become 0."""
    row = execute(engine, expr).iloc[0].to_dict()
    return {k: (0 if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()}


def ints(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Cast count and fen columns to int64 (nulls from empty sums become 0) so both engines agree."""
    for c in columns:
        df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
    return df


def dates(values: pd.Series) -> pd.Series:
    """A column of ``datetime.date`` whatever the engine returned (datetime64, Timestamp or date)."""
    return pd.Series(
        [None if pd.isna(v) else pd.Timestamp(v).date() for v in values], index=values.index, dtype=object
    )


def as_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def labelled(
    df: pd.DataFrame,
    key: str,
    names: Mapping[str, str],
    order: Sequence[str],
    value_columns: Sequence[str],
) -> pd.DataFrame:
    """Rename ``key`` to ``key``, add ``name_zh``, add zero rows for missing keys and sort in ``order``."""
    df = df.rename(columns={key: "key"})
    df["key"] = df["key"].fillna("unknown").astype(str)
    known = list(order) + sorted(set(df["key"]) - set(order))
    full = pd.DataFrame({"key": pd.Series(known, dtype=object)}).merge(df, on="key", how="left")
    full = ints(full, value_columns)
    full.insert(1, "name_zh", [names.get(k, k) for k in full["key"]])
    return full.reset_index(drop=True)
