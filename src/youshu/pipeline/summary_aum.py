"""Assets under management (AUM) of the summary: month-end deposits and holdings, the trend and the top counties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from youshu.pipeline.summary_query import Tables, dates, execute, ints, ratio

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["REST_ID", "TOP_COUNTIES", "TREND_MONTHS", "Aum", "aum", "monthly_aum"]

REST_ID = "_rest"
TREND_MONTHS = 12
TOP_COUNTIES = 10


@dataclass(frozen=True)
class Aum:
    """Assets under management (AUM) at the latest month end on or before the as-of date.

    Attributes
    ----------
    month_end : date or None
        The month end used (None when no balances exist yet).
    deposits_fen, holdings_fen : int
        Month-end deposit balances and product holdings, in fen.
    by_county : DataFrame
        ``county_id, county_name, city_name, customers, deposits_fen, holdings_fen, aum_fen, aum_share``:
        the top counties by AUM and one ``rest`` row (``county_id`` ``"_rest"``).
    trend : DataFrame
        ``month_end_date, deposits_fen, holdings_fen, aum_fen`` for up to 12 month ends.
    """

    month_end: date | None
    deposits_fen: int
    holdings_fen: int
    by_county: pd.DataFrame
    trend: pd.DataFrame

    @property
    def total_fen(self) -> int:
        """Deposits plus holdings, in fen."""
        return self.deposits_fen + self.holdings_fen


def monthly_aum(engine: Engine, t: Tables, as_of: date) -> pd.DataFrame:
    """Deposits and holdings per month end up to ``as_of``, oldest first, over all month ends with balances."""
    b = t.balances.filter(t.balances.month_end_date <= as_of)
    h = t.holdings.filter(t.holdings.month_end_date <= as_of)
    dep = execute(engine, b.group_by("month_end_date").aggregate(deposits_fen=b.balance_fen.sum()))
    hold = execute(engine, h.group_by("month_end_date").aggregate(holdings_fen=h.value_fen.sum()))
    dep["month_end_date"] = dates(dep["month_end_date"])
    hold["month_end_date"] = dates(hold["month_end_date"])
    # Month ends are those with deposit balances; holdings alone do not define a snapshot.
    out = dep.merge(hold, on="month_end_date", how="left")
    out = ints(out, ["deposits_fen", "holdings_fen"])
    out["aum_fen"] = out["deposits_fen"] + out["holdings_fen"]
    return out.sort_values("month_end_date").reset_index(drop=True)


def aum(engine: Engine, t: Tables, monthly: pd.DataFrame, month_end: date | None) -> Aum:
    """AUM at ``month_end`` (the last row of ``monthly``, see :func:`monthly_aum`) with its county breakdown."""
    trend = monthly.tail(TREND_MONTHS).reset_index(drop=True)
    columns = [
        "county_id",
        "county_name",
        "city_name",
        "customers",
        "deposits_fen",
        "holdings_fen",
        "aum_fen",
    ]
    if month_end is None:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        empty["aum_share"] = pd.Series(dtype="float64")
        return Aum(None, 0, 0, empty, trend)
    last = monthly.iloc[-1]
    cust = t.customers.select("customer_id", "county_id")
    b = t.balances.filter(t.balances.month_end_date == month_end)
    acc = t.accounts.select("account_id", "customer_id")
    dep = b.join(acc, "account_id").join(cust, "customer_id")
    dep_by = execute(engine, dep.group_by("county_id").aggregate(deposits_fen=dep.balance_fen.sum()))
    h = t.holdings.filter(t.holdings.month_end_date == month_end)
    hold = h.join(cust, "customer_id")
    hold_by = execute(engine, hold.group_by("county_id").aggregate(holdings_fen=hold.value_fen.sum()))
    c = t.customers.filter(t.customers.onboard_date <= month_end)
    cust_by = execute(engine, c.group_by("county_id").aggregate(customers=c.count()))
    counties = execute(engine, t.counties.select("county_id", "county_name", "city_name"))
    frame = counties.merge(cust_by, on="county_id", how="left")
    frame = frame.merge(dep_by, on="county_id", how="left").merge(hold_by, on="county_id", how="left")
    frame = ints(frame, ["customers", "deposits_fen", "holdings_fen"])
    frame["aum_fen"] = frame["deposits_fen"] + frame["holdings_fen"]
    frame = frame.sort_values(["aum_fen", "county_id"], ascending=[False, True]).reset_index(drop=True)
    top, rest = frame.head(TOP_COUNTIES), frame.iloc[TOP_COUNTIES:]
    if not rest.empty:
        rest_row = {
            "county_id": REST_ID,
            "county_name": f"其余{len(rest)}个区县",
            "city_name": "",
            **{k: int(rest[k].sum()) for k in ["customers", "deposits_fen", "holdings_fen", "aum_fen"]},
        }
        top = pd.concat([top, pd.DataFrame([rest_row])], ignore_index=True)
    top = ints(top[columns].copy(), ["customers", "deposits_fen", "holdings_fen", "aum_fen"])
    total = int(last["aum_fen"])
    top["aum_share"] = [ratio(v, total) for v in top["aum_fen"]]
    top["aum_share"] = top["aum_share"].astype("float64")
    return Aum(month_end, int(last["deposits_fen"]), int(last["holdings_fen"]), top, trend)
