"""Balance trend: the least-squares slope of log month-end deposits per month, per customer, as Ibis."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["balance_slope"]


def balance_slope(engine: Engine, warehouse: Path, as_of: date, *, months: int = 9) -> ir.Table:
    """Per customer: slope of ln(1 + month-end deposits in yuan) per month over the last ``months`` month ends.

    A slope fitted over several month ends is steadier than a ratio of two of them (a growing customer's
    deposits rise by a few percent a month; seasonality and noise blur two-point ratios). Month ends are
    those on or before ``as_of``, summed over the customer's accounts.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``balance_months`` (month ends used) and ``balance_slope_9m`` (null with fewer than 3).
    """
    accounts = engine.table(warehouse, "accounts").select("account_id", "customer_id")
    balances = engine.table(warehouse, "balances").select("account_id", "month_end_date", "balance_fen")
    first_month = as_of.year * 12 + as_of.month - months  # month index (year*12+month) before the first kept
    joined = balances.join(accounts, "account_id")
    monthly = (
        joined.mutate(
            t=joined.month_end_date.year().cast("int64") * 12 + joined.month_end_date.month().cast("int64")
        )
        .filter(lambda t: (t.month_end_date <= as_of) & (t.t > first_month))
        .group_by(["customer_id", "t"])
        .aggregate(yuan=lambda t: t.balance_fen.sum().cast("float64") / 100.0)
    )
    monthly = monthly.mutate(t=(monthly.t - first_month).cast("float64"), y=(monthly.yuan + 1.0).ln())
    sums = monthly.group_by("customer_id").aggregate(
        n=monthly.t.count().cast("float64"),
        st=monthly.t.sum(),
        sy=monthly.y.sum(),
        sty=(monthly.t * monthly.y).sum(),
        stt=(monthly.t * monthly.t).sum(),
    )
    denominator = (sums.n * sums.stt - sums.st * sums.st).nullif(0)
    slope = (sums.n * sums.sty - sums.st * sums.sy) / denominator
    return sums.select(
        "customer_id",
        balance_months=sums.n.cast("int64"),
        balance_slope_9m=(sums.n >= 3).ifelse(slope, None),
    )
