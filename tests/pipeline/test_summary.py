"""The province summary reports exactly what a hand-made warehouse holds as of a date, on every engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from youshu.engine import Engine, connect
from youshu.pipeline import summary as summary_module
from youshu.pipeline import summary_aum
from youshu.pipeline.summary import ProvinceSummary, province_summary, warehouse_row_counts

from . import AS_OF, EXPECTED, TINY, write_tiny_warehouse

_CACHE: dict[tuple[str, date], ProvinceSummary] = {}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")


@pytest.fixture
def summary(engine: Engine, tiny: Path) -> ProvinceSummary:
    # One summary per engine for the module: Spark needs a few seconds for the ~30 queries.
    key = (engine.name, AS_OF)
    if key not in _CACHE:
        _CACHE[key] = province_summary(engine, tiny, AS_OF)
    return _CACHE[key]


def _by(frame: pd.DataFrame, key: str, *values: str) -> dict[str, tuple[int, ...] | int]:
    rows = frame.set_index(key)[list(values)]
    return {k: (tuple(int(x) for x in v) if len(values) > 1 else int(v.iloc[0])) for k, v in rows.iterrows()}


def test_counts_use_only_rows_on_or_before_the_as_of_date(summary: ProvinceSummary) -> None:
    assert vars(summary.counts) == EXPECTED["counts"]


def test_aum_is_latest_month_end_deposits_plus_holdings(summary: ProvinceSummary) -> None:
    aum = summary.aum
    assert aum.month_end == EXPECTED["month_end"]
    assert (aum.deposits_fen, aum.holdings_fen) == (EXPECTED["deposits_fen"], EXPECTED["holdings_fen"])
    assert aum.total_fen == 40_000_000  # 40 万元


def test_aum_by_county_ranks_counties_and_shares_add_up(summary: ProvinceSummary) -> None:
    frame = summary.aum.by_county
    assert list(frame["county_id"]) == ["C2", "C1", "C3"]
    assert dict(zip(frame["county_id"], frame["aum_fen"], strict=True)) == EXPECTED["aum_by_county"]
    assert frame["aum_share"].sum() == pytest.approx(1.0)
    assert summary.headline()["top_county"] == "乙区"


def test_aum_trend_lists_month_ends_up_to_the_as_of_date(summary: ProvinceSummary) -> None:
    trend = summary.aum.trend
    assert dict(zip(trend["month_end_date"], trend["aum_fen"], strict=True)) == EXPECTED["aum_trend"]


def test_transactions_cover_the_90_days_ending_on_the_as_of_date(summary: ProvinceSummary) -> None:
    flows = summary.flows
    assert (flows.window_start, flows.window_end) == (date(2025, 7, 3), AS_OF)
    assert (flows.txn_count, flows.amount_fen) == (EXPECTED["txn_count"], EXPECTED["txn_amount_fen"])
    by_cat = _by(flows.by_category, "key", "txn_count", "amount_fen")
    assert by_cat == EXPECTED["txn_by_category"]
    assert flows.by_category["key"].iloc[0] == "payroll"  # largest amount first
    by_chan = {
        k: v for k, v in _by(flows.by_channel, "key", "txn_count", "amount_fen").items() if v != (0, 0)
    }
    assert by_chan == EXPECTED["txn_by_channel"]
    wealth = flows.by_category.set_index("key").loc["other_bank_wealth"]
    assert (wealth["name_zh"], wealth["out_fen"], wealth["in_fen"]) == ("他行理财平台", 20_000, 0)


def test_data_window_ends_at_the_as_of_date(summary: ProvinceSummary) -> None:
    assert (summary.data_start, summary.data_end) == EXPECTED["data_window"]


def test_customer_mix_counts_ages_on_the_as_of_date(summary: ProvinceSummary) -> None:
    mix = summary.customers
    ages = {k: v for k, v in _by(mix.by_age_band, "key", "customers").items() if v}
    assert ages == EXPECTED["age_bands"]
    assert _by(mix.by_gender, "key", "customers") == EXPECTED["gender"]
    occupations = {k: v for k, v in _by(mix.by_occupation, "key", "customers").items() if v}
    assert occupations == EXPECTED["occupation"]
    assert mix.by_occupation.set_index("key").loc["farmer", "name_zh"] == "农户"


def test_merchants_signed_after_the_as_of_date_count_as_prospects(summary: ProvinceSummary) -> None:
    cats = summary.merchants.by_category
    got = _by(cats, "category", "acquired", "prospects", "qr_payments_90d", "qr_amount_fen_90d")
    assert {k: v for k, v in got.items() if any(v)} == EXPECTED["merchants_by_category"]
    assert cats.set_index("category").loc["specialty_market", "name_zh"] == "特色市场"


def test_qr_payments_per_week_and_over_the_last_30_days(summary: ProvinceSummary) -> None:
    m = summary.merchants
    assert (m.qr_30d_payments, m.qr_30d_amount_fen, m.qr_30d_active_merchants) == EXPECTED["qr_30d"]
    weekly = m.qr_weekly
    assert len(weekly) == 12
    assert weekly["week_end"].iloc[-1] == AS_OF and weekly["week_start"].iloc[0] == date(2025, 7, 9)
    busy = _by(
        weekly[weekly["payments"] > 0],
        "week_end",
        "payments",
        "amount_fen",
        "active_merchants",
        "paying_customers",
    )
    assert busy == EXPECTED["qr_weekly"]


def test_campaign_rates_are_raw_per_group(summary: ProvinceSummary) -> None:
    c = summary.campaigns
    assert list(c.by_campaign["campaign_id"]) == ["G1"]  # G2 starts after the as-of date
    row = c.by_campaign.iloc[0].to_dict()
    assert {k: row[k] for k in EXPECTED["campaign"]} == EXPECTED["campaign"]
    assert (c.redemption_rate, c.referral_rate_treatment, c.referral_rate_control) == (0.5, 0.5, 1.0)


def test_loan_arrears_are_judged_from_repayments_made_by_the_as_of_date(summary: ProvinceSummary) -> None:
    loans = summary.loans
    got = {k: getattr(loans, k) for k in EXPECTED["loans"]}
    assert got == EXPECTED["loans"]
    assert loans.overdue_share == pytest.approx(0.6)
    assert loans.defaulted_share == pytest.approx(2 / 11.25)


def test_kpi_targets_of_the_periods_containing_the_as_of_date(summary: ProvinceSummary) -> None:
    k = summary.kpis
    quarter = k[k["period_start"] == date(2025, 7, 1)]
    got = {
        m: (int(t), int(a))
        for m, t, a in zip(quarter["metric"], quarter["target_value"], quarter["actual_value"], strict=True)
    }
    assert got == EXPECTED["kpi_q3"]
    year = k[k["period_start"] == date(2025, 1, 1)]
    assert {
        m: (int(t), int(a))
        for m, t, a in zip(year["metric"], year["target_value"], year["actual_value"], strict=True)
    } == EXPECTED["kpi_year"]
    assert quarter.set_index("metric").loc["new_customers", "achievement"] == pytest.approx(1 / 15)
    assert date(2025, 10, 1) not in set(k["period_start"])


def test_an_earlier_as_of_date_moves_every_window(engine: Engine, tiny: Path) -> None:
    s = province_summary(engine, tiny, date(2025, 8, 31))
    assert s.aum.month_end == date(2025, 8, 31)
    assert s.aum.total_fen == 35_000_000
    assert s.counts.customers == 4  # U5 onboarded on 2025-08-20
    assert s.counts.merchants_acquired == 2
    assert s.merchants.qr_30d_payments == 1  # only Q6 (2025-08-31 12:00)
    assert s.campaigns.coupons_redeemed == 0
    assert s.data_end == date(2025, 8, 15)


def test_counties_beyond_the_top_ten_fold_into_one_rest_row(
    engine: Engine, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.name != "duckdb":
        pytest.skip("pandas shaping; one engine is enough")
    monkeypatch.setattr(summary_aum, "TOP_COUNTIES", 1)
    frame = province_summary(engine, tiny, AS_OF).aum.by_county
    assert list(frame["county_id"]) == ["C2", summary_module.REST_ID]
    assert frame["county_name"].iloc[1] == "其余2个区县"
    assert frame["aum_fen"].iloc[1] == 18_000_000


def test_an_empty_warehouse_gives_zeros_not_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with connect("duckdb") as eng:
        s = province_summary(eng, tmp_path / "empty", AS_OF)
    assert s.counts.customers == 0 and s.aum.total_fen == 0 and s.aum.month_end is None
    assert s.loans.overdue_share is None and s.campaigns.redemption_rate is None
    assert s.headline()["top_county"] is None
    assert s.to_dict()["headline"]["aum_fen"] == 0


def test_row_counts_come_from_parquet_footers(tiny: Path) -> None:
    counts = warehouse_row_counts(tiny)
    assert counts == {name: len(rows) for name, rows in TINY.items()}


def test_summary_dict_is_plain_json(summary: ProvinceSummary) -> None:
    import json

    text = json.dumps(summary.to_dict(), ensure_ascii=False)
    assert '"aum_fen": 40000000' in text
    assert "NaN" not in text


@pytest.mark.spark
def test_summary_is_identical_on_duckdb_and_spark(spark_engine: Engine, tiny: Path) -> None:
    with connect("duckdb") as duck:
        expected = province_summary(duck, tiny, AS_OF)
    got = province_summary(spark_engine, tiny, AS_OF)
    assert got.to_dict() == expected.to_dict()
    for name, frame in expected.tables().items():
        pd.testing.assert_frame_equal(got.tables()[name], frame, obj=name)
