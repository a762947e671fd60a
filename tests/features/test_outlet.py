"""Outlet features hold the values a hand query gives, use nothing after the as-of date, and agree across engines."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import Engine
from youshu.features import FEATURES, feature_schema
from youshu.schema.storage import TRUTH_DIR

from .conftest import (
    AS_OF,
    Sql,
    append_later_rows,
    assert_catalog_schema,
    assert_matches,
    assert_no_nulls_where_defaulted,
    assert_same_frames,
    features,
)

D30, D90, D365 = (AS_OF - timedelta(days=d - 1) for d in (30, 90, 365))
END = AS_OF + timedelta(days=1)  # events strictly before midnight after the as-of date


def _ts(day: date) -> str:
    return f"TIMESTAMP '{day} 00:00:00'"


@pytest.fixture(scope="module")
def table(duck: Engine, province: Path) -> pa.Table:
    return features(duck, province, "outlet")


@pytest.fixture(scope="module")
def frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


# -- shape and types --------------------------------------------------------------------------------------


def test_every_catalog_feature_is_present_with_its_declared_dtype(table: pa.Table) -> None:
    assert_catalog_schema(table, "outlet")
    assert feature_schema("outlet")["aum_fen"] == "int"


def test_one_row_per_outlet_opened_on_or_before_the_as_of_date(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(f"SELECT outlet_id FROM outlets WHERE opened_date <= DATE '{AS_OF}'")
    assert frame["outlet_id"].is_unique
    assert sorted(frame["outlet_id"]) == sorted(expected["outlet_id"])
    assert (frame["as_of_date"] == AS_OF).all()


def test_counts_and_amounts_are_never_null_or_negative(frame: pd.DataFrame) -> None:
    assert_no_nulls_where_defaulted(frame, "outlet")
    counts = [s.name for s in FEATURES["outlet"] if s.unit in ("count", "fen")]
    assert (frame[counts] >= 0).all().all()


# -- hand-checked values ------------------------------------------------------------------------------------


def test_profile_and_tenure_match_the_outlets_table(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT outlet_id, outlet_type, county_id, sub_branch_id, DATE '{AS_OF}' - opened_date AS tenure_days
        FROM outlets WHERE opened_date <= DATE '{AS_OF}'
        """
    )
    assert_matches(frame, expected, "outlet")


def test_customers_new_customers_and_accounts_opened_match_a_hand_query(
    frame: pd.DataFrame, sql: Sql
) -> None:
    expected = sql(
        f"""
        WITH c AS (
            SELECT home_outlet_id AS outlet_id, COUNT(*) AS customers,
                   COUNT(*) FILTER (WHERE onboard_date >= DATE '{D90}') AS new_customers_90d
            FROM customers WHERE onboard_date <= DATE '{AS_OF}' GROUP BY 1),
        a AS (
            SELECT outlet_id, COUNT(*) AS accounts_opened_90d FROM accounts
            WHERE open_date BETWEEN DATE '{D90}' AND DATE '{AS_OF}' GROUP BY 1)
        SELECT * FROM c FULL JOIN a USING (outlet_id)
        """
    )
    aligned = assert_matches(frame, expected, "outlet")
    assert aligned["customers"].sum() >= 2_000 and aligned["new_customers_90d"].sum() > 0
    assert aligned["accounts_opened_90d"].sum() > 0


def test_deposits_holdings_and_aum_of_its_customers_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        WITH c AS (SELECT customer_id, home_outlet_id AS outlet_id FROM customers
                   WHERE onboard_date <= DATE '{AS_OF}'),
        dep AS (
            SELECT c.outlet_id, SUM(b.balance_fen) AS deposit_fen
            FROM balances b JOIN accounts a USING (account_id) JOIN c USING (customer_id)
            WHERE b.month_end_date = DATE '{AS_OF}' AND a.open_date <= DATE '{AS_OF}' GROUP BY 1),
        hold AS (
            SELECT c.outlet_id, SUM(h.value_fen) AS holding_fen
            FROM holdings h JOIN c USING (customer_id)
            WHERE h.month_end_date = DATE '{AS_OF}' GROUP BY 1)
        SELECT outlet_id, deposit_fen, holding_fen,
               COALESCE(deposit_fen, 0) + COALESCE(holding_fen, 0) AS aum_fen
        FROM dep FULL JOIN hold USING (outlet_id)
        """
    )
    aligned = assert_matches(frame, expected, "outlet")
    assert (aligned["holding_fen"] > 0).sum() >= 5


def test_counter_atm_crm_sales_and_loans_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        WITH traffic AS (
            SELECT outlet_id,
                   COUNT(*) FILTER (WHERE channel = 'counter') AS counter_txn_count_90d,
                   COUNT(*) FILTER (WHERE channel = 'atm') AS atm_txn_count_90d
            FROM transactions
            WHERE outlet_id IS NOT NULL AND txn_at >= {_ts(D90)} AND txn_at < {_ts(END)} GROUP BY 1),
        crm AS (
            SELECT outlet_id, COUNT(*) AS crm_contacts_90d FROM crm_contacts
            WHERE contact_at >= {_ts(D90)} AND contact_at < {_ts(END)} GROUP BY 1),
        sales AS (
            SELECT s.outlet_id, SUM(s.amount_fen) AS product_sales_90d_fen,
                   SUM(s.amount_fen) FILTER (WHERE p.category = 'wealth') AS wealth_sales_90d_fen
            FROM purchases s JOIN products p USING (product_id)
            WHERE s.purchase_date BETWEEN DATE '{D90}' AND DATE '{AS_OF}' GROUP BY 1),
        lending AS (
            SELECT outlet_id, COUNT(*) AS loans_issued_365d, SUM(principal_fen) AS loan_principal_issued_365d_fen
            FROM loans WHERE issue_date BETWEEN DATE '{D365}' AND DATE '{AS_OF}' GROUP BY 1)
        SELECT * FROM traffic FULL JOIN crm USING (outlet_id) FULL JOIN sales USING (outlet_id)
                 FULL JOIN lending USING (outlet_id)
        """
    )
    aligned = assert_matches(frame, expected, "outlet")
    for column in ("counter_txn_count_90d", "atm_txn_count_90d", "crm_contacts_90d", "loans_issued_365d"):
        assert aligned[column].sum() > 0, column
    assert aligned["wealth_sales_90d_fen"].sum() > 0


def test_acquired_merchants_and_their_qr_takings_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        WITH m AS (SELECT merchant_id, acquiring_outlet_id AS outlet_id, onboard_date FROM merchants
                   WHERE is_acquired AND onboard_date <= DATE '{AS_OF}'),
        signed AS (
            SELECT outlet_id, COUNT(*) AS acquired_merchants,
                   COUNT(*) FILTER (WHERE onboard_date >= DATE '{D90}') AS new_acquired_merchants_90d
            FROM m GROUP BY 1),
        qr AS (
            SELECT m.outlet_id, SUM(q.amount_fen) AS qr_amount_30d_fen
            FROM acquiring_transactions q JOIN m USING (merchant_id)
            WHERE q.paid_at >= {_ts(D30)} AND q.paid_at < {_ts(END)} GROUP BY 1)
        SELECT * FROM signed FULL JOIN qr USING (outlet_id)
        """
    )
    aligned = assert_matches(frame, expected, "outlet")
    assert aligned["acquired_merchants"].sum() >= 10 and aligned["qr_amount_30d_fen"].sum() > 0


def test_county_specialty_matches_the_customers_and_merchants_of_its_county(
    frame: pd.DataFrame, duck: Engine, province: Path
) -> None:
    merchants = features(duck, province, "merchant").to_pandas()
    by_county = merchants.groupby("county_id")["county_specialty"].first()
    shared = frame[frame["county_id"].isin(by_county.index)]
    assert len(shared) >= 5
    assert (shared["county_specialty"] == shared["county_id"].map(by_county)).all()


# -- as-of correctness --------------------------------------------------------------------------------------


def test_rows_dated_after_the_as_of_date_change_no_feature(
    duck: Engine, later_province: Path, frame: pd.DataFrame
) -> None:
    later = features(duck, later_province, "outlet").to_pandas()
    assert_same_frames(later, frame, "outlet_id")


def test_an_outlet_opened_on_the_as_of_date_counts_with_its_first_day(
    duck: Engine, province: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(province, copy, ignore=shutil.ignore_patterns(TRUTH_DIR))
    outlet = pq.read_table(province / "outlets").slice(0, 1).to_pandas()
    outlet["outlet_id"], outlet["opened_date"] = "OASOF", AS_OF
    pq.write_table(
        pa.Table.from_pandas(outlet, preserve_index=False), copy / "outlets" / "part-09999.parquet"
    )
    append_later_rows(copy, AS_OF)  # adds OLATER, opened the day after
    after = features(duck, copy, "outlet").to_pandas().set_index("outlet_id")
    assert "OLATER" not in after.index
    assert after.at["OASOF", "tenure_days"] == 0 and after.at["OASOF", "customers"] == 0
    assert_same_frames(after.drop(index="OASOF").reset_index(), frame, "outlet_id")


# -- engines ------------------------------------------------------------------------------------------------


@pytest.mark.spark
def test_outlet_features_are_identical_on_duckdb_and_spark(
    spark_engine: Engine, province: Path, frame: pd.DataFrame
) -> None:
    table = features(spark_engine, province, "outlet")
    assert_catalog_schema(table, "outlet")
    assert_same_frames(table.to_pandas(), frame, "outlet_id")
