"""Account features hold the values a hand query gives, use nothing after the as-of date, and agree across engines."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import Engine
from youshu.features import FEATURES, feature_schema
from youshu.features.account import NIGHT_HOURS
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
    return features(duck, province, "account")


@pytest.fixture(scope="module")
def frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


# -- shape and types --------------------------------------------------------------------------------------


def test_every_catalog_feature_is_present_with_its_declared_dtype(table: pa.Table) -> None:
    assert_catalog_schema(table, "account")
    assert feature_schema("account")["is_settlement_account"] == "bool"
    assert feature_schema("account")["pass_through_ratio_30d"] == "float"


def test_one_row_per_account_opened_on_or_before_the_as_of_date_closed_ones_included(
    frame: pd.DataFrame, sql: Sql
) -> None:
    expected = sql(f"SELECT account_id FROM accounts WHERE open_date <= DATE '{AS_OF}'")
    assert frame["account_id"].is_unique
    assert sorted(frame["account_id"]) == sorted(expected["account_id"])
    assert (frame["as_of_date"] == AS_OF).all()
    assert (~frame["is_open"]).sum() >= 1


def test_counts_amounts_and_flags_are_never_null_and_shares_lie_in_0_1(frame: pd.DataFrame) -> None:
    assert_no_nulls_where_defaulted(frame, "account")
    counts = [s.name for s in FEATURES["account"] if s.unit in ("count", "fen") and s.dtype == "int"]
    assert (frame[counts] >= 0).all().all()
    share = frame["night_txn_share_90d"].dropna()
    assert ((share >= 0) & (share <= 1)).all()


# -- hand-checked values ------------------------------------------------------------------------------------


def test_owner_type_outlet_tenure_and_open_state_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT account_id, customer_id, account_type, outlet_id,
               DATE '{AS_OF}' - open_date AS tenure_days,
               (close_date IS NULL OR close_date > DATE '{AS_OF}') AS is_open
        FROM accounts WHERE open_date <= DATE '{AS_OF}'
        """
    )
    assert_matches(frame, expected, "account")


def test_settlement_accounts_are_those_of_merchants_signed_by_the_as_of_date(
    frame: pd.DataFrame, sql: Sql
) -> None:
    expected = sql(
        f"""
        SELECT DISTINCT settlement_account_id AS account_id, true AS is_settlement_account FROM merchants
        WHERE is_acquired AND onboard_date <= DATE '{AS_OF}' AND settlement_account_id IS NOT NULL
        """
    )
    assert_matches(frame, expected, "account")
    assert frame["is_settlement_account"].sum() >= 10


def test_balance_its_average_and_3_month_trend_match_the_month_end_balances(
    frame: pd.DataFrame, sql: Sql
) -> None:
    expected = sql(
        f"""
        WITH now AS (SELECT account_id, balance_fen, avg_balance_fen FROM balances
                     WHERE month_end_date = DATE '{AS_OF}'),
             before AS (SELECT account_id, balance_fen AS earlier FROM balances
                        WHERE month_end_date = DATE '2025-06-30')
        SELECT account_id, now.balance_fen, now.avg_balance_fen,
               COALESCE(now.balance_fen, 0) / NULLIF(before.earlier, 0) AS balance_trend_3m
        FROM now FULL JOIN before USING (account_id)
        """
    )
    aligned = assert_matches(frame, expected, "account")
    assert aligned["balance_trend_3m"].notna().sum() >= 100


def test_transaction_counts_amounts_and_recency_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT account_id,
               COUNT(*) FILTER (WHERE txn_at >= {_ts(D30)}) AS txn_count_30d,
               COUNT(*) FILTER (WHERE txn_at >= {_ts(D90)}) AS txn_count_90d,
               COUNT(*) AS txn_count_365d,
               SUM(amount_fen) FILTER (WHERE txn_at >= {_ts(D30)} AND direction = 'in') AS txn_amount_in_30d_fen,
               SUM(amount_fen) FILTER (WHERE txn_at >= {_ts(D90)} AND direction = 'in') AS txn_amount_in_90d_fen,
               SUM(amount_fen) FILTER (WHERE txn_at >= {_ts(D30)} AND direction = 'out')
                   AS txn_amount_out_30d_fen,
               SUM(amount_fen) FILTER (WHERE txn_at >= {_ts(D90)} AND direction = 'out')
                   AS txn_amount_out_90d_fen,
               MAX(amount_fen) FILTER (WHERE txn_at >= {_ts(D90)}) AS max_txn_amount_90d_fen,
               DATE '{AS_OF}' - CAST(MAX(txn_at) AS DATE) AS days_since_last_txn
        FROM transactions
        WHERE txn_at >= {_ts(D365)} AND txn_at < {_ts(END)}
        GROUP BY 1
        """
    )
    aligned = assert_matches(frame, expected, "account")
    assert (aligned["txn_count_30d"] > 0).sum() >= 500
    assert frame["days_since_last_txn"].isna().sum() >= 1  # accounts quiet for a year


def test_counterparties_internal_transfers_pass_through_and_night_share_match_a_hand_query(
    frame: pd.DataFrame, sql: Sql
) -> None:
    night = ", ".join(str(h) for h in NIGHT_HOURS)
    expected = sql(
        f"""
        SELECT account_id,
               COUNT(DISTINCT counterparty_id) FILTER (WHERE txn_at >= {_ts(D30)} AND direction = 'in')
                   AS counterparties_in_30d,
               COUNT(DISTINCT counterparty_id) FILTER (WHERE txn_at >= {_ts(D30)} AND direction = 'out')
                   AS counterparties_out_30d,
               COUNT(*) FILTER (WHERE txn_at >= {_ts(D30)} AND counterparty_account_id IS NOT NULL)
                   AS internal_transfer_count_30d,
               COALESCE(SUM(amount_fen) FILTER (WHERE txn_at >= {_ts(D30)} AND direction = 'out'), 0)
                   / SUM(amount_fen) FILTER (WHERE txn_at >= {_ts(D30)} AND direction = 'in')
                   AS pass_through_ratio_30d,
               COUNT(*) FILTER (WHERE hour(txn_at) IN ({night}))
                   / NULLIF(COUNT(*), 0) AS night_txn_share_90d
        FROM transactions
        WHERE txn_at >= {_ts(D90)} AND txn_at < {_ts(END)}
        GROUP BY 1
        """
    )
    aligned = assert_matches(frame, expected, "account")
    assert aligned["internal_transfer_count_30d"].sum() > 0
    assert (aligned["night_txn_share_90d"] > 0).sum() >= 10
    assert aligned["pass_through_ratio_30d"].notna().sum() >= 500
    assert NIGHT_HOURS == (22, 23, 0, 1, 2, 3, 4, 5)  # 22:00 to 05:59, as the catalog says


# -- as-of correctness --------------------------------------------------------------------------------------


def test_rows_dated_after_the_as_of_date_change_no_feature(
    duck: Engine, later_province: Path, frame: pd.DataFrame
) -> None:
    later = features(duck, later_province, "account").to_pandas()
    assert_same_frames(later, frame, "account_id")


def test_a_debit_in_the_last_second_of_the_as_of_date_counts(
    duck: Engine, province: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(province, copy, ignore=shutil.ignore_patterns(TRUTH_DIR))
    before = frame.set_index("account_id")
    quiet = before[before["days_since_last_txn"] > 0].index[0]
    txn = pq.read_table(next((province / "transactions").glob("*.parquet"))).slice(0, 1).to_pandas()
    txn["account_id"], txn["txn_id"], txn["direction"], txn["amount_fen"] = quiet, "LAST_SECOND", "out", 777
    txn["txn_at"] = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 23, 59, 59, 999_999)
    pq.write_table(
        pa.Table.from_pandas(txn, preserve_index=False), copy / "transactions" / "part-09999.parquet"
    )
    append_later_rows(copy, AS_OF)  # and midnight after it does not
    after = features(duck, copy, "account").to_pandas().set_index("account_id")
    assert after.at[quiet, "txn_count_30d"] == before.at[quiet, "txn_count_30d"] + 1
    assert after.at[quiet, "txn_amount_out_30d_fen"] == before.at[quiet, "txn_amount_out_30d_fen"] + 777
    assert after.at[quiet, "days_since_last_txn"] == 0
    assert after.at[quiet, "night_txn_share_90d"] > 0  # 23:59 is night
    assert_same_frames(
        after.drop(index=quiet).reset_index(), before.drop(index=quiet).reset_index(), "account_id"
    )


def test_an_account_closed_after_the_as_of_date_is_still_open_on_it(
    duck: Engine, province: Path, sql: Sql
) -> None:
    closed = sql(
        "SELECT account_id, close_date FROM accounts WHERE close_date IS NOT NULL ORDER BY 1 LIMIT 1"
    )
    account, day = closed.at[0, "account_id"], pd.Timestamp(closed.at[0, "close_date"]).date()
    eve = features(duck, province, "account", day - timedelta(days=1)).to_pandas().set_index("account_id")
    on = features(duck, province, "account", day).to_pandas().set_index("account_id")
    assert eve.at[account, "is_open"] and not on.at[account, "is_open"]


# -- engines ------------------------------------------------------------------------------------------------


@pytest.mark.spark
def test_account_features_are_identical_on_duckdb_and_spark(
    spark_engine: Engine, province: Path, frame: pd.DataFrame
) -> None:
    table = features(spark_engine, province, "account")
    assert_catalog_schema(table, "account")
    assert_same_frames(table.to_pandas(), frame, "account_id")
