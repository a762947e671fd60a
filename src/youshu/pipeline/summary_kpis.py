"""KPI progress of the summary: targets of the periods containing the as-of date and what was achieved so far."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from ibis import _

from youshu.merchants.kpi_actuals import WEALTH_SALES_CATEGORIES, new_effective_merchants
from youshu.pipeline.summary_query import (
    Tables,
    dates,
    execute,
    execute_one,
    ints,
    labels,
    ratio,
)

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["KPI_METRIC_ZH", "WEALTH_SALES_CATEGORIES", "kpi_progress"]

KPI_METRIC_ZH = labels(
    "new_customers=新增客户 new_effective_merchants=新增有效收单商户 assets_brought_in_fen=新增资产(万元) "
    "wealth_sales_fen=理财类销售(万元)"
)
_COLUMNS = [
    "period_start",
    "period_end",
    "metric",
    "name_zh",
    "outlets",
    "target_value",
    "actual_value",
    "achievement",
    "period_elapsed",
]


def kpi_progress(engine: Engine, t: Tables, as_of: date, monthly: pd.DataFrame) -> pd.DataFrame:
    """Targets of the periods containing ``as_of`` (summed over outlets) with what was achieved so far.

    ``monthly`` is the AUM per month end (see :func:`youshu.pipeline.summary_aum.monthly_aum`).
    """
    k = t.kpi_targets.filter(t.kpi_targets.period_start <= as_of, t.kpi_targets.period_end >= as_of)
    targets = execute(
        engine,
        k.group_by(["period_start", "period_end", "metric"]).aggregate(
            target_value=k.target_value.sum(), outlets=k.count()
        ),
    )
    if targets.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _COLUMNS})
    targets["period_start"] = dates(targets["period_start"])
    targets["period_end"] = dates(targets["period_end"])
    targets = ints(targets, ["target_value", "outlets"])
    actuals: dict[tuple[date, str], int | None] = {}
    for start in sorted(set(targets["period_start"])):
        for metric, value in _kpi_actuals(engine, t, start, as_of, monthly).items():
            actuals[(start, metric)] = value
    targets["actual_value"] = pd.array(
        [actuals.get((s, m)) for s, m in zip(targets["period_start"], targets["metric"], strict=True)],
        dtype="Int64",
    )
    targets["achievement"] = pd.Series(
        [
            None if pd.isna(a) else ratio(int(a), tv)
            for a, tv in zip(targets["actual_value"], targets["target_value"], strict=True)
        ],
        dtype="float64",
    )
    targets["period_elapsed"] = [
        ratio((as_of - s).days + 1, (e - s).days + 1)
        for s, e in zip(targets["period_start"], targets["period_end"], strict=True)
    ]
    targets["name_zh"] = [KPI_METRIC_ZH.get(m, m) for m in targets["metric"]]
    order = {m: i for i, m in enumerate(KPI_METRIC_ZH)}
    targets["_order"] = [order.get(m, len(order)) for m in targets["metric"]]
    targets = targets.sort_values(["period_start", "period_end", "_order", "metric"]).reset_index(drop=True)
    return targets[_COLUMNS]


def _kpi_actuals(
    engine: Engine, t: Tables, start: date, as_of: date, monthly: pd.DataFrame
) -> dict[str, int | None]:
    """What each KPI metric achieved from ``start`` to ``as_of`` inclusive."""
    c = t.customers
    new_customers = execute_one(
        engine, c.filter(c.onboard_date >= start, c.onboard_date <= as_of).aggregate(n=_.count())
    )
    # The summary's lenient reading: signed in the period with a QR payment by the as-of date (the KPI
    # report applies the configured rule, default 5 payments within 30 days of signing).
    effective = new_effective_merchants(t, start, as_of, as_of, min_payments=1, window_days=None)
    new_merchants = execute_one(engine, effective.aggregate(n=effective.count()))
    p = t.purchases.filter(t.purchases.purchase_date >= start, t.purchases.purchase_date <= as_of)
    wealth = t.products.filter(t.products.category.isin(WEALTH_SALES_CATEGORIES)).select("product_id")
    sales = p.semi_join(wealth, "product_id")
    wealth_sales = execute_one(engine, sales.aggregate(n=sales.amount_fen.sum()))
    # Assets brought in: AUM growth from the last month end before the period to the latest month end.
    before = monthly[monthly["month_end_date"] < start]
    growth = (
        None
        if before.empty or monthly.empty
        else int(monthly["aum_fen"].iloc[-1] - before["aum_fen"].iloc[-1])
    )
    return {
        "new_customers": int(new_customers["n"]),
        "new_effective_merchants": int(new_merchants["n"]),
        "wealth_sales_fen": int(wealth_sales["n"]),
        "assets_brought_in_fen": growth,
    }
