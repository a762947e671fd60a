"""What each outlet achieved on the KPI metrics, over a range of days and month by month.

Attribution: merchants count for their acquiring outlet, customers and their assets for their home outlet
(``customers.home_outlet_id``), sales for the selling outlet (``purchases.outlet_id``).

- ``new_effective_merchants`` (新增有效收单商户): merchants signed in the range that received at least
  ``min_payments`` QR payments within ``window_days`` days from signing (day 0 = the signing day), counting
  payments up to the as-of date only; ``window_days=None`` counts every payment up to the as-of date.
- ``assets_brought_in_fen`` (新增资产): growth of the AUM (month-end deposits plus product holdings) of the
  outlet's customers, from the last month end before the range to the last month end in it.
- ``new_customers`` (新增客户): customers whose relationship began in the range.
- ``wealth_sales_fen`` (理财类销售): purchases of wealth-type products (everything but time deposits).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from youshu.engine import Tables
from youshu.features.common import end_of, start_of
from youshu.merchants.home import acquired_by

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "KPI_METRICS",
    "KPI_METRIC_ZH",
    "WEALTH_SALES_CATEGORIES",
    "aum_by_outlet",
    "counts_by_outlet",
    "new_effective_merchants",
]

KPI_METRIC_ZH = {
    "new_effective_merchants": "新增有效收单商户",
    "assets_brought_in_fen": "新增资产(万元)",
    "new_customers": "新增客户",
    "wealth_sales_fen": "理财类销售(万元)",
}
KPI_METRICS = list(KPI_METRIC_ZH)
#: Products that count as wealth-type sales (理财类) for ``wealth_sales_fen``: everything but deposits.
WEALTH_SALES_CATEGORIES = ("wealth", "fund", "insurance", "treasury_bond", "precious_metal")


def new_effective_merchants(
    t: Tables, first: date, last: date, as_of: date, *, min_payments: int, window_days: int | None
) -> ir.Table:
    """Merchants signed from ``first`` to ``last`` that became effective by ``as_of``.

    Returns
    -------
    ibis.Table
        ``merchant_id, outlet_id, onboard_date, payments`` (payments counted towards the rule).
    """
    m = t.merchants
    signed = m.filter(acquired_by(m, as_of), m.onboard_date >= first, m.onboard_date <= last).select(
        "merchant_id", "onboard_date", outlet_id=m.acquiring_outlet_id
    )
    a = t.acquiring_transactions
    a = a.filter(a.paid_at >= start_of(first), a.paid_at < end_of(as_of)).select("merchant_id", "paid_at")
    j = signed.join(a, "merchant_id")
    since = j.paid_at.date().delta(j.onboard_date, unit="day")
    counted = since >= 0 if window_days is None else (since >= 0) & (since < window_days)
    per = (
        j.filter(counted)
        .group_by(["merchant_id", "outlet_id", "onboard_date"])
        .aggregate(payments=ibis._.count())
    )
    return per.filter(per.payments >= min_payments)


def _month_key(day: ir.Value) -> ir.IntegerValue:
    """``year * 100 + month`` of a date or timestamp (portable month bucket)."""
    return day.year() * 100 + day.month()


def counts_by_outlet(
    engine: Engine,
    t: Tables,
    first: date,
    last: date,
    as_of: date,
    *,
    min_payments: int,
    window_days: int | None,
    monthly: bool = False,
) -> pd.DataFrame:
    """New effective merchants, new customers and wealth sales per outlet from ``first`` to ``last``.

    Returns
    -------
    DataFrame
        ``outlet_id`` (and ``month`` as ``YYYYMM`` when ``monthly``), ``new_effective_merchants``,
        ``new_customers``, ``wealth_sales_fen``; outlets without any are absent.
    """
    eff = new_effective_merchants(t, first, last, as_of, min_payments=min_payments, window_days=window_days)
    c = t.customers
    c = c.filter(c.onboard_date >= first, c.onboard_date <= last, c.onboard_date <= as_of)
    p = t.purchases
    p = p.filter(p.purchase_date >= first, p.purchase_date <= last, p.purchase_date <= as_of)
    wealth = t.products.filter(t.products.category.isin(WEALTH_SALES_CATEGORIES)).select("product_id")
    p = p.semi_join(wealth, "product_id")
    parts = {
        "new_effective_merchants": (eff, eff.outlet_id, eff.onboard_date, eff.count()),
        "new_customers": (c, c.home_outlet_id, c.onboard_date, c.count()),
        "wealth_sales_fen": (p, p.outlet_id, p.purchase_date, p.amount_fen.sum()),
    }
    keys = ["outlet_id", "month"] if monthly else ["outlet_id"]
    frame: pd.DataFrame | None = None
    for name, (table, outlet, day, value) in parts.items():
        groups = [outlet.name("outlet_id")] + ([_month_key(day).name("month")] if monthly else [])
        df = engine.execute(table.group_by(groups).aggregate(**{name: value})).reset_index(drop=True)
        frame = df if frame is None else frame.merge(df, on=keys, how="outer")
    assert frame is not None
    for name in parts:
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype("int64")
    if monthly:
        frame["month"] = frame["month"].astype("int64")
    return frame


def aum_by_outlet(engine: Engine, t: Tables, month_ends: Sequence[date]) -> pd.DataFrame:
    """AUM (deposits plus holdings) of each outlet's customers at the given month ends that have balances.

    Returns
    -------
    DataFrame
        ``outlet_id, month_end_date, aum_fen``; month ends without any balance rows are absent.
    """
    wanted = sorted(set(month_ends))
    if not wanted:
        return pd.DataFrame({"outlet_id": [], "month_end_date": [], "aum_fen": []})
    home = t.customers.select("customer_id", outlet_id=t.customers.home_outlet_id)
    accounts = t.accounts.select("account_id", "customer_id")
    b = t.balances.filter(t.balances.month_end_date.isin(wanted))
    dep = b.join(accounts, "account_id").join(home, "customer_id")
    dep = dep.group_by(["outlet_id", "month_end_date"]).aggregate(fen=dep.balance_fen.sum())
    h = t.holdings.filter(t.holdings.month_end_date.isin(wanted)).join(home, "customer_id")
    hold = h.group_by(["outlet_id", "month_end_date"]).aggregate(fen=h.value_fen.sum())
    snapshots = b.select("month_end_date").distinct()
    both = ibis.union(dep, hold).semi_join(snapshots, "month_end_date")
    aum = both.group_by(["outlet_id", "month_end_date"]).aggregate(aum_fen=both.fen.sum())
    frame = engine.execute(aum).reset_index(drop=True)
    frame["month_end_date"] = [pd.Timestamp(v).date() for v in frame["month_end_date"]]
    frame["aum_fen"] = pd.to_numeric(frame["aum_fen"]).astype("int64")
    return frame
