"""Customer features hold the values a hand query gives, use nothing after the as-of date, and agree across engines."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.features import (
    FEATURES,
    compute_features,
    customer_features,
    feature_names,
    feature_schema,
    get_feature,
)
from youshu.schema.storage import TRUTH_DIR

from .conftest import (
    AS_OF,
    Sql,
    append_later_rows,
    assert_catalog_schema,
    assert_no_nulls_where_defaulted,
    assert_same_frames,
    features,
)

D30, D90, D365 = (AS_OF - timedelta(days=d - 1) for d in (30, 90, 365))
END = AS_OF + timedelta(days=1)  # events strictly before midnight after the as-of date


@pytest.fixture(scope="module")
def table(duck: Engine, province: Path) -> pa.Table:
    return features(duck, province, "customer")


@pytest.fixture(scope="module")
def frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


def _expected(frame: pd.DataFrame, expected: pd.DataFrame, column: str) -> pd.DataFrame:
    """The feature next to the expected value per customer (0 where the hand query has no row)."""
    merged = frame[["customer_id", column]].merge(expected, on="customer_id", how="left")
    merged["expected"] = merged["expected"].fillna(0)
    return merged


# -- shape and types --------------------------------------------------------------------------------------


def test_every_catalog_feature_is_present_with_its_declared_dtype(table: pa.Table) -> None:
    assert_catalog_schema(table, "customer")
    assert feature_schema("customer")["aum_fen"] == "int"
    assert feature_schema("customer")["has_payroll_90d"] == "bool"


def test_one_row_per_customer_onboarded_on_or_before_the_as_of_date(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(f"SELECT customer_id FROM customers WHERE onboard_date <= DATE '{AS_OF}'")
    assert frame["customer_id"].is_unique
    assert sorted(frame["customer_id"]) == sorted(expected["customer_id"])
    assert (frame["as_of_date"] == AS_OF).all()


def test_counts_amounts_and_flags_are_never_null(frame: pd.DataFrame) -> None:
    assert_no_nulls_where_defaulted(frame, "customer")
    counts = [s.name for s in FEATURES["customer"] if s.unit in ("count", "fen") and s.dtype == "int"]
    assert (frame[counts] >= 0).all().all()


def test_ratios_are_null_rather_than_infinite_when_the_denominator_is_zero(frame: pd.DataFrame) -> None:
    quiet = frame[frame["txn_count_90d"] == 0]
    assert not quiet.empty
    assert quiet["channel_share_mobile_90d"].isna().all()
    floats = [s.name for s in FEATURES["customer"] if s.dtype == "float"]
    assert not frame[floats].isin([float("inf"), float("-inf")]).any().any()


def test_the_catalog_names_are_unique_snake_case_with_descriptions() -> None:
    for entity, specs in FEATURES.items():
        names = feature_names(entity)
        assert len(set(names)) == len(names)
        for spec in specs:
            assert spec.name == spec.name.lower() and " " not in spec.name, spec.name
            assert spec.zh and spec.en and spec.entity == entity
    assert get_feature("merchant", "retention_30d").unit == "share"
    with pytest.raises(KeyError, match="did you mean aum_fen"):
        get_feature("customer", "aum_fem")


# -- hand-checked values ------------------------------------------------------------------------------------


def test_payroll_received_over_90_days_matches_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT a.customer_id, SUM(t.amount_fen) AS expected
        FROM transactions t JOIN accounts a USING (account_id)
        WHERE t.counterparty_category = 'payroll' AND t.direction = 'in'
          AND t.txn_at >= TIMESTAMP '{D90} 00:00:00' AND t.txn_at < TIMESTAMP '{END} 00:00:00'
        GROUP BY 1
        """
    )
    merged = _expected(frame, expected, "payroll_amount_90d_fen")
    assert (merged["payroll_amount_90d_fen"] == merged["expected"]).all()
    assert (frame["has_payroll_90d"] == (frame["payroll_amount_90d_fen"] > 0)).all()
    assert frame["has_payroll_90d"].sum() > 50


def test_aum_is_deposits_at_the_latest_month_end_plus_holdings(frame: pd.DataFrame, sql: Sql) -> None:
    def aum_at(month_end: date) -> pd.DataFrame:
        return sql(
            f"""
            WITH dep AS (
                SELECT a.customer_id, SUM(b.balance_fen) AS deposit
                FROM balances b JOIN accounts a USING (account_id)
                WHERE b.month_end_date = DATE '{month_end}' GROUP BY 1),
            hold AS (
                SELECT customer_id, SUM(value_fen) AS holding
                FROM holdings WHERE month_end_date = DATE '{month_end}' GROUP BY 1)
            SELECT c.customer_id, COALESCE(deposit, 0) AS deposit, COALESCE(holding, 0) AS holding
            FROM customers c LEFT JOIN dep USING (customer_id) LEFT JOIN hold USING (customer_id)
            """
        ).set_index("customer_id")

    now, before = aum_at(AS_OF), aum_at(date(2025, 6, 30))
    f = frame.set_index("customer_id")
    now = now.loc[f.index]
    assert (f["deposit_fen"] == now["deposit"]).all()
    assert (f["holding_fen"] == now["holding"]).all()
    assert (f["aum_fen"] == now["deposit"] + now["holding"]).all()
    earlier = (before["deposit"] + before["holding"]).loc[f.index]
    trend = (now["deposit"] + now["holding"]) / earlier.where(earlier > 0)
    pd.testing.assert_series_equal(f["aum_trend_3m"], trend, check_names=False)
    assert (f["aum_max_12m_fen"] >= f["aum_fen"]).all()


def test_other_bank_wealth_outflows_over_365_days_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT a.customer_id, SUM(t.amount_fen) AS expected, COUNT(*) AS n
        FROM transactions t JOIN accounts a USING (account_id)
        WHERE t.counterparty_category = 'other_bank_wealth' AND t.direction = 'out'
          AND t.txn_at >= TIMESTAMP '{D365} 00:00:00' AND t.txn_at < TIMESTAMP '{END} 00:00:00'
        GROUP BY 1
        """
    )
    merged = _expected(frame, expected, "other_bank_wealth_out_365d_fen")
    assert (merged["other_bank_wealth_out_365d_fen"] == merged["expected"]).all()
    counts = frame.merge(expected, on="customer_id", how="left").fillna({"n": 0})
    assert (counts["other_bank_wealth_out_count_365d"] == counts["n"]).all()
    assert (merged["expected"] > 0).sum() > 50


def test_recency_frequency_and_channel_mix_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT a.customer_id,
               COUNT(*) FILTER (WHERE t.txn_at >= TIMESTAMP '{D90} 00:00:00') AS txn_count_90d,
               COALESCE(SUM(t.amount_fen) FILTER (
                   WHERE t.txn_at >= TIMESTAMP '{D30} 00:00:00' AND t.direction = 'in'), 0)
                   AS txn_amount_in_30d_fen,
               DATE '{AS_OF}' - CAST(MAX(t.txn_at) AS DATE) AS days_since_last_txn,
               COUNT(*) FILTER (WHERE t.txn_at >= TIMESTAMP '{D90} 00:00:00' AND t.channel = 'mobile')
                 / NULLIF(COUNT(*) FILTER (WHERE t.txn_at >= TIMESTAMP '{D90} 00:00:00'
                                          AND t.channel <> 'auto'), 0) AS channel_share_mobile_90d
        FROM transactions t JOIN accounts a USING (account_id)
        WHERE t.txn_at >= TIMESTAMP '{D365} 00:00:00' AND t.txn_at < TIMESTAMP '{END} 00:00:00'
        GROUP BY 1
        """
    ).set_index("customer_id")
    f = frame.set_index("customer_id").loc[expected.index]
    for column in ("txn_count_90d", "txn_amount_in_30d_fen", "days_since_last_txn"):
        assert (f[column] == expected[column]).all(), column
    pd.testing.assert_series_equal(
        f["channel_share_mobile_90d"], expected["channel_share_mobile_90d"].astype(float), check_names=False
    )
    never = frame[~frame["customer_id"].isin(expected.index)]
    assert never["days_since_last_txn"].isna().all() and (never["txn_count_365d"] == 0).all()


def test_products_held_by_category_match_the_latest_holdings(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT h.customer_id, COUNT(*) AS n, SUM(h.value_fen) AS expected
        FROM holdings h JOIN products p USING (product_id)
        WHERE h.month_end_date = DATE '{AS_OF}' AND p.category = 'wealth' AND h.value_fen > 0
        GROUP BY 1
        """
    )
    merged = _expected(frame, expected, "holding_wealth_fen").fillna({"n": 0})
    merged = merged.merge(frame[["customer_id", "products_held_wealth"]], on="customer_id")
    assert (merged["holding_wealth_fen"] == merged["expected"]).all()
    assert (merged["products_held_wealth"] == merged["n"]).all()
    assert merged["n"].sum() > 20


def test_age_band_and_tenure_are_counted_to_the_as_of_date(frame: pd.DataFrame, sql: Sql) -> None:
    people = sql("SELECT customer_id, birth_date, onboard_date FROM customers").set_index("customer_id")
    f = frame.set_index("customer_id")
    people = people.loc[f.index]
    for cid, row in people.iterrows():
        birth = row["birth_date"]
        if pd.isna(birth):
            assert pd.isna(f.at[cid, "age"]) and f.at[cid, "age_band"] is None
            continue
        birth = pd.Timestamp(birth).date()
        age = AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))
        assert f.at[cid, "age"] == age
        low = max(b for b in (0, 25, 35, 45, 55, 65) if age >= b)
        band = {0: "under_25", 65: "65_plus"}.get(low, f"{low}_{low + 9}")
        assert f.at[cid, "age_band"] == band
        assert f.at[cid, "tenure_days"] == (AS_OF - pd.Timestamp(row["onboard_date"]).date()).days


def test_county_specialty_follows_observed_activity_and_finds_the_planted_one(
    frame: pd.DataFrame, sql: Sql, province: Path
) -> None:
    scores = sql(
        f"""
        WITH sellers AS (
            SELECT c.county_id, s.industry, COUNT(*) AS n FROM (
                SELECT DISTINCT a.customer_id, t.counterparty_industry AS industry
                FROM transactions t JOIN accounts a USING (account_id)
                WHERE t.counterparty_category = 'agri_buyer' AND t.direction = 'in'
                  AND t.counterparty_industry IS NOT NULL AND a.open_date <= DATE '{AS_OF}'
                  AND t.txn_at >= TIMESTAMP '{D365} 00:00:00' AND t.txn_at < TIMESTAMP '{END} 00:00:00'
            ) s JOIN customers c USING (customer_id)
            WHERE c.onboard_date <= DATE '{AS_OF}' GROUP BY 1, 2),
        shops AS (
            SELECT county_id, specialty_industry AS industry, COUNT(*) AS n FROM merchants
            WHERE specialty_industry IS NOT NULL GROUP BY 1, 2),
        borrowers AS (
            SELECT c.county_id, l.industry, COUNT(*) AS n FROM (
                SELECT DISTINCT customer_id, purpose_industry AS industry FROM loans
                WHERE purpose_industry IS NOT NULL AND issue_date <= DATE '{AS_OF}'
            ) l JOIN customers c USING (customer_id)
            WHERE c.onboard_date <= DATE '{AS_OF}' GROUP BY 1, 2)
        SELECT county_id, industry, SUM(n) AS score
        FROM (SELECT * FROM sellers UNION ALL SELECT * FROM shops UNION ALL SELECT * FROM borrowers)
        GROUP BY 1, 2
        """
    )
    top = scores.sort_values(["county_id", "score", "industry"], ascending=[True, False, True])
    expected = top.groupby("county_id")["industry"].first()
    observed = frame.groupby("county_id")["county_specialty"].agg(lambda s: set(s.dropna()))
    assert {c: s for c, s in observed.items() if s} == {
        c: {expected[c]} for c in observed.index if c in expected
    }
    # Evaluation only (the features never read truth/): the observed specialty is the planted first one.
    planted = pq.read_table(province / TRUTH_DIR / "county_specialties").to_pandas()
    first = planted[planted["rank"] == 1].set_index("county_id")["industry"]
    assert all(expected[c] == industry for c, industry in first.items())


def test_loan_overdue_now_counts_instalments_unpaid_on_the_as_of_date(
    duck: Engine, province: Path, sql: Sql
) -> None:
    as_of = date(2025, 11, 20)
    expected = sql(
        f"""
        SELECT l.customer_id, DATE '{as_of}' - MIN(r.due_date) AS expected
        FROM loan_repayments r JOIN loans l USING (loan_id)
        WHERE l.issue_date <= DATE '{as_of}' AND r.due_date < DATE '{as_of}'
          AND NOT (r.paid_date IS NOT NULL AND r.paid_date <= DATE '{as_of}'
                   AND r.amount_paid_fen >= r.amount_due_fen)
        GROUP BY 1
        """
    )
    assert len(expected) >= 1
    frame = features(duck, province, "customer", as_of).to_pandas()
    merged = _expected(frame, expected, "loan_days_past_due")
    assert (merged["loan_days_past_due"] == merged["expected"]).all()
    assert (frame["loan_overdue_now"] == (frame["loan_days_past_due"] > 0)).all()
    assert set(frame.loc[frame["loan_overdue_now"], "customer_id"]) == set(expected["customer_id"])


# -- as-of correctness --------------------------------------------------------------------------------------


def test_rows_dated_after_the_as_of_date_change_no_feature(
    duck: Engine, later_province: Path, frame: pd.DataFrame
) -> None:
    later = features(duck, later_province, "customer").to_pandas()
    assert_same_frames(later, frame, "customer_id")


def test_a_transaction_in_the_last_second_of_the_as_of_date_counts(
    duck: Engine, province: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(province, copy, ignore=shutil.ignore_patterns(TRUTH_DIR))
    txn = pq.read_table(next((province / "transactions").glob("*.parquet"))).slice(0, 1).to_pandas()
    owner = frame[frame["txn_count_30d"] > 0]["customer_id"].iloc[0]
    account = pq.read_table(province / "accounts").to_pandas()
    txn["account_id"] = account.loc[account["customer_id"] == owner, "account_id"].iloc[0]
    txn["txn_id"] = "LAST_SECOND"
    txn["txn_at"] = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 23, 59, 59, 999_999)
    txn["direction"], txn["counterparty_category"], txn["amount_fen"] = "in", "payroll", 12_345
    pq.write_table(
        pa.Table.from_pandas(txn, preserve_index=False), copy / "transactions" / "part-09999.parquet"
    )
    append_later_rows(copy, AS_OF)  # and midnight after it does not
    after = features(duck, copy, "customer").to_pandas().set_index("customer_id")
    before = frame.set_index("customer_id")
    assert after.at[owner, "txn_count_30d"] == before.at[owner, "txn_count_30d"] + 1
    assert after.at[owner, "payroll_amount_90d_fen"] == before.at[owner, "payroll_amount_90d_fen"] + 12_345
    assert after.at[owner, "days_since_last_txn"] == 0
    others = after.drop(index=owner)
    assert_same_frames(others.reset_index(), before.drop(index=owner).reset_index(), "customer_id")


# -- entry points and engines -------------------------------------------------------------------------------


def test_compute_features_dispatches_by_entity_and_refuses_bad_input(duck: Engine, province: Path) -> None:
    expr = compute_features(duck, province, "customer", AS_OF)
    assert expr.columns == customer_features(duck, province, AS_OF).columns
    with pytest.raises(KeyError, match="unknown entity"):
        compute_features(duck, province, "branch", AS_OF)
    with pytest.raises(YoushuError, match="as-of date"):
        compute_features(duck, province, "customer", datetime(2025, 9, 30))  # type: ignore[arg-type]


@pytest.mark.spark
def test_customer_features_are_identical_on_duckdb_and_spark(
    spark_engine: Engine, province: Path, frame: pd.DataFrame
) -> None:
    table = features(spark_engine, province, "customer")
    assert_catalog_schema(table, "customer")
    assert_same_frames(table.to_pandas(), frame, "customer_id")
