"""KPIs per outlet and sub-branch: known answers on the tiny warehouse, hand SQL on a synthetic province."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from youshu.config import MerchantKpiSettings
from youshu.engine import Engine, Tables
from youshu.errors import YoushuError
from youshu.merchants import KpiReport, Period, kpi_report, new_effective_merchants

from .conftest import Sql
from .tiny import AS_OF, tiny_rows

_CACHE: dict[tuple[Path, str], KpiReport] = {}


def _report(engine: Engine, warehouse: Path, period: str = "2025Q3") -> KpiReport:
    if (warehouse, period) not in _CACHE:
        _CACHE[(warehouse, period)] = kpi_report(engine, warehouse, period, as_of=AS_OF)
    return _CACHE[(warehouse, period)]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025Q3", date(2025, 7, 1), date(2025, 9, 30)),
        ("2025-q1", date(2025, 1, 1), date(2025, 3, 31)),
        ("2025-09", date(2025, 9, 1), date(2025, 9, 30)),
        ("2024-2", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025H2", date(2025, 7, 1), date(2025, 12, 31)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_periods_are_read_from_their_usual_spellings(text: str, start: date, end: date) -> None:
    p = Period.parse(text)
    assert (p.start, p.end) == (start, end)


def test_an_unreadable_period_says_what_is_accepted() -> None:
    with pytest.raises(YoushuError, match=r"e\.g\. 2025, 2025H1, 2025Q3 or 2025-09"):
        Period.parse("2025Q5")


def test_new_effective_merchants_need_five_payments_within_30_days(duck: Engine, tiny: Path) -> None:
    t = Tables(duck, tiny)
    strict = new_effective_merchants(t, date(2025, 7, 1), AS_OF, AS_OF, min_payments=5, window_days=30)
    # M11: daily from signing; M13: 5 in its first 5 days; M12: 4 in 30 days; M09: none; M10 signed later
    assert sorted(duck.execute(strict)["merchant_id"]) == ["M11", "M13"]
    lenient = new_effective_merchants(t, date(2025, 7, 1), AS_OF, AS_OF, min_payments=5, window_days=None)
    assert sorted(duck.execute(lenient)["merchant_id"]) == ["M11", "M12", "M13"]


def _hand_assets(first_end: date, last_end: date) -> dict[str, int]:
    rows = tiny_rows()
    home = {c["customer_id"]: c["home_outlet_id"] for c in rows["customers"]}
    owner = {a["account_id"]: a["customer_id"] for a in rows["accounts"]}
    out: dict[str, int] = {}
    for sign, day in ((-1, first_end), (1, last_end)):
        for b in rows["balances"]:
            if b["month_end_date"] == day:
                o = home[owner[b["account_id"]]]
                out[o] = out.get(o, 0) + sign * b["balance_fen"]
        for h in rows["holdings"]:
            if h["month_end_date"] == day:
                out[home[h["customer_id"]]] = out.get(home[h["customer_id"]], 0) + sign * h["value_fen"]
    return out


def test_outlet_kpis_match_the_tiny_warehouse(duck: Engine, tiny: Path) -> None:
    o = _report(duck, tiny).outlets.set_index("outlet_id")
    assert o["new_effective_merchants"].to_dict() == {"O1": 2, "O2": 0, "O3": 0}
    assert o["new_customers"].to_dict() == {"O1": 0, "O2": 1, "O3": 0}  # K40; K41 joins after the as-of date
    assert o["wealth_sales_fen"].to_dict() == {"O1": 0, "O2": 500_000, "O3": 0}  # not the time deposit
    assets = _hand_assets(date(2025, 6, 30), date(2025, 9, 30))
    assert assets == {"O1": 500_000, "O2": 900_000, "O3": 0}
    assert o["assets_brought_in_fen"].to_dict() == pytest.approx(assets)


def test_progress_against_targets_and_ranking_within_the_city(duck: Engine, tiny: Path) -> None:
    o = _report(duck, tiny).outlets.set_index("outlet_id")
    assert o.loc["O1", "new_effective_merchants_target"] == 2
    assert o.loc["O1", "new_effective_merchants_achievement"] == pytest.approx(1.0)
    assert o.loc["O2", "assets_brought_in_fen_achievement"] == pytest.approx(0.9)
    # O2: (0 + 0.9 + 1 + 0.5) / 4 = 0.6; O1: (1 + 0.5 + 0 + 0) / 4 = 0.375
    assert o.loc["O2", "score"] == pytest.approx(0.6) and o.loc["O1", "score"] == pytest.approx(0.375)
    assert o.loc[["O2", "O1", "O3"], "rank_in_city"].tolist() == [1, 2, 1]
    assert o.loc[["O2", "O3"], "units_in_city"].tolist() == [2, 1]


def test_sub_branches_roll_up_their_outlets(duck: Engine, tiny: Path) -> None:
    s = _report(duck, tiny).sub_branches.set_index("sub_branch_id")
    assert s.loc["SB1", ["outlets", "new_effective_merchants", "new_customers"]].tolist() == [2, 2, 1]
    assert s.loc["SB1", "assets_brought_in_fen"] == pytest.approx(1_400_000)
    assert s.loc["SB1", "new_effective_merchants_target"] == 4
    assert s.loc["SB1", "city_name"] == "甲市" and s.loc["SB2", "city_name"] == "乙市"


def test_a_month_gets_its_share_of_the_quarterly_target(duck: Engine, tiny: Path) -> None:
    o = _report(duck, tiny, "2025-09").outlets.set_index("outlet_id")
    assert o.loc["O1", "new_effective_merchants_target"] == pytest.approx(2 * 30 / 92)
    assert o.loc["O1", "new_effective_merchants"] == 1  # M13 only; M11 was signed in July


def test_the_monthly_trend(duck: Engine, tiny: Path) -> None:
    trend = _report(duck, tiny).trend.set_index(["outlet_id", "month"])
    assert trend.loc[("O1", "2025-07"), "new_effective_merchants"] == 1
    assert trend.loc[("O1", "2025-09"), "new_effective_merchants"] == 1
    assert trend.loc[("O1", "2025-08"), "assets_brought_in_fen"] == pytest.approx(500_000)
    assert trend.loc[("O2", "2025-07"), "assets_brought_in_fen"] == pytest.approx(800_000)
    total = _report(duck, tiny).trend_total().set_index("month")
    assert total.loc["2025-08", "wealth_sales_fen"] == 500_000


def test_a_period_after_the_as_of_date_is_refused(duck: Engine, tiny: Path) -> None:
    with pytest.raises(YoushuError, match="starts after the as-of date"):
        kpi_report(duck, tiny, "2025Q4", as_of=AS_OF)


def test_outlet_kpis_match_hand_sql_on_a_province(duck: Engine, province: Path, province_sql: Sql) -> None:
    rep = kpi_report(duck, province, "2025", as_of=AS_OF, settings=MerchantKpiSettings())
    got = rep.outlets.set_index("outlet_id")
    eff = province_sql(
        """
        select m.acquiring_outlet_id as outlet_id, count(*) as n from merchants m
        where m.is_acquired and m.onboard_date between date '2025-01-01' and date '2025-09-30'
          and (select count(*) from acquiring_transactions a where a.merchant_id = m.merchant_id
               and a.paid_at::date >= m.onboard_date and a.paid_at::date < m.onboard_date + 30
               and a.paid_at < date '2025-10-01') >= 5
        group by all
        """
    ).set_index("outlet_id")["n"]
    assert eff.sum() > 0
    assert got["new_effective_merchants"][got["new_effective_merchants"] > 0].to_dict() == eff.to_dict()
    sales = province_sql(
        """
        select outlet_id, sum(amount_fen) as fen from purchases join products using (product_id)
        where category <> 'time_deposit' and purchase_date between date '2025-01-01' and date '2025-09-30'
        group by all
        """
    ).set_index("outlet_id")["fen"]
    assert got.loc[sales.index, "wealth_sales_fen"].tolist() == sales.astype("int64").tolist()
    aum = province_sql(
        """
        with dep as (select c.home_outlet_id o, b.month_end_date d, b.balance_fen v from balances b
                     join accounts a using (account_id) join customers c using (customer_id)),
             hold as (select c.home_outlet_id o, h.month_end_date d, h.value_fen v from holdings h
                      join customers c using (customer_id)),
             both_ as (select * from dep union all select * from hold)
        select o as outlet_id,
               sum(v) filter (where d = date '2025-09-30') - sum(v) filter (where d = date '2024-12-31') as gain
        from both_ group by o
        """
    ).set_index("outlet_id")["gain"]
    assert got.loc[aum.index, "assets_brought_in_fen"].to_numpy() == pytest.approx(aum.to_numpy())
    ranks = got.groupby("city_name")["rank_in_city"].min()
    assert (ranks == 1).all()
    assert rep.trend_total()["month"].tolist()[-1] == "2025-09"
    assert isinstance(rep.trend, pd.DataFrame) and len(rep.trend_total()) == 12
