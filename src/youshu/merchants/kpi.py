"""KPI report (考核): per outlet and sub-branch, what was achieved in a period, against ``kpi_targets``,
ranked within the city, with a monthly trend (definitions: ``youshu.merchants.kpi_actuals``).

Targets of the period are the ``kpi_targets`` rows overlapping it, each pro-rated by the share of its days
inside the period (a quarterly target counts in full for that quarter, about a third for one of its
months). Achievement is actual / target; the outlet's score is the mean achievement over the metrics that
have a positive target, each capped at ``ACHIEVEMENT_CAP`` so one runaway metric cannot hide the others;
outlets (and sub-branches) are ranked by score within their city (1 = best).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from youshu.config import MerchantKpiSettings
from youshu.engine import Tables
from youshu.errors import YoushuError
from youshu.features.common import month_ends
from youshu.merchants.kpi_actuals import KPI_METRICS, aum_by_outlet, counts_by_outlet
from youshu.merchants.periods import Period, month_end, months_back

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["ACHIEVEMENT_CAP", "KpiReport", "kpi_report", "period_targets"]

ACHIEVEMENT_CAP = 1.5


@dataclass(frozen=True)
class KpiReport:
    """KPIs of a period as of a date.

    Attributes
    ----------
    outlets, sub_branches : DataFrame
        ``city_name``, the unit's id and name (outlets: ``outlet_id, outlet_name, sub_branch_id``;
        sub-branches: ``sub_branch_id, outlets``), then per metric ``<metric>``, ``<metric>_target`` and
        ``<metric>_achievement``, then ``score``, ``rank_in_city`` and ``units_in_city``; by city and rank.
    trend : DataFrame
        ``outlet_id, month`` (``YYYY-MM``) and the four metrics per month, oldest first;
        ``assets_brought_in_fen`` is null for months without both month-end snapshots.
    """

    period: Period
    as_of: date
    elapsed: float
    outlets: pd.DataFrame
    sub_branches: pd.DataFrame
    trend: pd.DataFrame

    def trend_total(self) -> pd.DataFrame:
        """The trend summed over outlets, one row per month."""
        if self.trend.empty:
            return self.trend.drop(columns="outlet_id")
        return self.trend.groupby("month", as_index=False)[KPI_METRICS].sum(min_count=1)


def period_targets(engine: Engine, t: Tables, period: Period) -> pd.DataFrame:
    """Targets per outlet and metric for ``period``, pro-rated by overlap: ``outlet_id, metric, target``."""
    k = t.kpi_targets
    k = k.filter(k.period_start <= period.end, k.period_end >= period.start)
    df = engine.execute(k).reset_index(drop=True)
    if df.empty:
        return pd.DataFrame({"outlet_id": [], "metric": [], "target": []})
    starts = [pd.Timestamp(v).date() for v in df["period_start"]]
    ends = [pd.Timestamp(v).date() for v in df["period_end"]]
    share = [
        max((min(e, period.end) - max(s, period.start)).days + 1, 0) / ((e - s).days + 1)
        for s, e in zip(starts, ends, strict=True)
    ]
    df["target"] = df["target_value"].astype("float64") * np.array(share)
    return df.groupby(["outlet_id", "metric"], as_index=False)["target"].sum()


def _assets(engine: Engine, t: Tables, first: date, last: date) -> pd.Series:
    """AUM growth per outlet from the month end before ``first`` to the last month end up to ``last``."""
    before = first - timedelta(days=1)
    latest = month_ends(last, 0)[0]
    if latest < first:
        return pd.Series(dtype="float64")
    aum = aum_by_outlet(engine, t, [before, latest])
    if set(aum["month_end_date"]) != {before, latest}:
        return pd.Series(dtype="float64")
    wide = aum.pivot_table(index="outlet_id", columns="month_end_date", values="aum_fen", fill_value=0)
    return (wide[latest] - wide[before]).astype("float64")


def _score(frame: pd.DataFrame, city: str) -> pd.DataFrame:
    caps = []
    for m in KPI_METRICS:
        target = frame[f"{m}_target"]
        ach = frame[m].astype("float64") / target.where(target > 0)
        frame[f"{m}_achievement"] = ach
        caps.append(ach.clip(upper=ACHIEVEMENT_CAP))
    frame["score"] = pd.concat(caps, axis=1).mean(axis=1, skipna=True)
    frame["rank_in_city"] = frame.groupby(city)["score"].rank(method="min", ascending=False).astype("Int64")
    frame["units_in_city"] = frame.groupby(city)[city].transform("size").astype("int64")
    return frame


def _columns(ids: list[str]) -> list[str]:
    cols = ["city_name", *ids]
    for m in KPI_METRICS:
        cols += [m, f"{m}_target", f"{m}_achievement"]
    return [*cols, "score", "rank_in_city", "units_in_city"]


def kpi_report(
    engine: Engine,
    warehouse: Path,
    period: Period | str,
    *,
    as_of: date | None = None,
    settings: MerchantKpiSettings | None = None,
) -> KpiReport:
    """KPIs of every outlet and sub-branch for ``period`` as of ``as_of`` (default: the period's last day).

    Raises
    ------
    YoushuError
        When the period cannot be read or starts after ``as_of``.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     rep = kpi_report(eng, Path("data/warehouse"), "2025Q3", as_of=date(2025, 9, 30))
    ...     rep.outlets[["outlet_name", "new_effective_merchants", "score", "rank_in_city"]]
    """
    settings = settings or MerchantKpiSettings()
    period = Period.parse(period) if isinstance(period, str) else period
    as_of = as_of or period.end
    if as_of < period.start:
        raise YoushuError(f"the period {period.label} starts after the as-of date {as_of}; nothing to report")
    last = min(period.end, as_of)
    t = Tables(engine, warehouse)
    o, c = t.outlets, t.counties
    units = engine.execute(
        o.left_join(c, o.county_id == c.county_id).select(
            o.outlet_id, o.outlet_name, o.sub_branch_id, c.city_name
        )
    ).reset_index(drop=True)
    frame = units.merge(
        counts_by_outlet(
            engine,
            t,
            period.start,
            last,
            as_of,
            min_payments=settings.effective_min_payments,
            window_days=settings.effective_window_days,
        ),
        on="outlet_id",
        how="left",
    )
    frame["assets_brought_in_fen"] = frame["outlet_id"].map(_assets(engine, t, period.start, last))
    targets = period_targets(engine, t, period)
    for m in KPI_METRICS:
        per = targets[targets["metric"] == m].set_index("outlet_id")["target"]
        frame[f"{m}_target"] = frame["outlet_id"].map(per).astype("float64")
        if m != "assets_brought_in_fen":
            frame[m] = pd.to_numeric(frame[m]).fillna(0).astype("int64")
    outlets = _score(frame.copy(), "city_name")
    outlets = outlets.sort_values(["city_name", "rank_in_city", "outlet_id"]).reset_index(drop=True)
    sums = {m: (m, lambda s: s.sum(min_count=1)) for m in KPI_METRICS}
    sums |= {f"{m}_target": (f"{m}_target", lambda s: s.sum(min_count=1)) for m in KPI_METRICS}
    grouped = frame.groupby("sub_branch_id")
    sub = grouped.agg(outlets=("outlet_id", "size"), **sums).reset_index()
    # A sub-branch's city: the city of most of its outlets.
    sub["city_name"] = sub["sub_branch_id"].map(grouped["city_name"].agg(lambda s: s.mode().iloc[0]))
    sub = _score(sub, "city_name").sort_values(["city_name", "rank_in_city", "sub_branch_id"])
    trend = _trend(engine, t, last, as_of, settings)
    return KpiReport(
        period,
        as_of,
        period.elapsed(as_of),
        outlets[_columns(["outlet_id", "outlet_name", "sub_branch_id"])],
        sub[_columns(["sub_branch_id", "outlets"])].reset_index(drop=True),
        trend,
    )


def _trend(engine: Engine, t: Tables, last: date, as_of: date, settings: MerchantKpiSettings) -> pd.DataFrame:
    months = months_back(last, settings.trend_months)
    first = date(months[0][0], months[0][1], 1)
    counts = counts_by_outlet(
        engine,
        t,
        first,
        last,
        as_of,
        min_payments=settings.effective_min_payments,
        window_days=settings.effective_window_days,
        monthly=True,
    )
    ends = [month_end(y, m) for y, m in months]
    candidates = [first - timedelta(days=1)] + [e for e in ends if e <= as_of]
    aum = aum_by_outlet(engine, t, candidates)
    wide = aum.pivot_table(index="outlet_id", columns="month_end_date", values="aum_fen", fill_value=0)
    rows = []
    for (year, month), end in zip(months, ends, strict=True):
        prev = date(year, month, 1) - timedelta(days=1)
        if end in wide.columns and prev in wide.columns:
            for outlet, gain in (wide[end] - wide[prev]).items():
                rows.append(
                    {"outlet_id": outlet, "month": year * 100 + month, "assets_brought_in_fen": float(gain)}
                )
    assets = pd.DataFrame(rows, columns=["outlet_id", "month", "assets_brought_in_fen"])
    trend = counts.merge(assets, on=["outlet_id", "month"], how="outer")
    for m in KPI_METRICS:
        if m != "assets_brought_in_fen":
            trend[m] = pd.to_numeric(trend[m]).fillna(0).astype("int64")
    trend = trend.sort_values(["month", "outlet_id"]).reset_index(drop=True)
    trend["month"] = [f"{int(v) // 100}-{int(v) % 100:02d}" for v in trend["month"]]
    return trend[["outlet_id", "month", *KPI_METRICS]]
