"""Risky-account features: hand-checked values on a small ledger, no data after the as-of date, both engines."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.features.risk import (
    LEDGER_COLUMNS,
    RISK_FEATURES,
    EdgeColumns,
    ledger_from_edges,
    read_edge_list,
    risk_feature_names,
    risk_features,
    risk_features_from_ledger,
)

AS_OF = date(2025, 9, 30)


def _ledger() -> pd.DataFrame:
    rows = [
        # account, time, direction, fen, counterparty, internal counterparty, category
        ("A", "2025-09-30 01:00", "in", 500_000, "X1", None, "p2p"),
        ("A", "2025-09-30 03:00", "out", 490_000, "X2", None, "p2p"),
        ("A", "2025-09-25 10:00", "in", 100_000, "B", "B", "p2p"),
        ("B", "2025-09-25 10:00", "out", 100_000, "A", "A", "p2p"),
        ("A", "2025-09-27 12:00", "out", 20_000, "MCH1", None, "merchant"),
        ("A", "2025-09-05 10:00", "in", 30_000, "X1", None, "p2p"),
        ("A", "2025-07-15 10:00", "out", 10_000, "X3", None, "p2p"),
        ("A", "2025-10-01 00:00", "in", 999, "X9", None, "p2p"),  # after the as-of date
        ("A", "2025-06-01 10:00", "in", 777, "X8", None, "p2p"),  # before the 90-day lookback
    ]
    frame = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
    frame["txn_at"] = pd.to_datetime(frame["txn_at"])
    return frame


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "opened_at": [date(2025, 9, 1), date(2020, 1, 1), date(2025, 1, 1)],
            "county_id": ["C1", "C2", "C1"],
        }
    )


@pytest.fixture
def features(engine: Engine) -> pd.DataFrame:
    expr = risk_features_from_ledger(ibis.memtable(_ledger()), AS_OF, ibis.memtable(_accounts()))
    return engine.execute(expr).set_index("account_id")


def test_one_row_per_account_with_every_catalog_feature_in_order(features: pd.DataFrame) -> None:
    assert sorted(features.index) == ["A", "B", "C"]
    assert list(features.columns) == ["as_of_date", *risk_feature_names()]
    assert len(set(risk_feature_names())) == len(RISK_FEATURES)


def test_windowed_flows_match_the_hand_count(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    expected = {
        "in_count_1d": 1, "out_count_1d": 1, "in_amount_1d_fen": 500_000, "out_amount_1d_fen": 490_000,
        "in_count_7d": 2, "out_count_7d": 2, "in_amount_7d_fen": 600_000, "out_amount_7d_fen": 510_000,
        "in_count_30d": 3, "out_count_30d": 2, "in_amount_30d_fen": 630_000, "out_amount_30d_fen": 510_000,
        "max_amount_30d_fen": 500_000, "active_days_30d": 4,
    }  # fmt: skip
    assert {k: int(a[k]) for k in expected} == expected


def test_fan_in_and_out_count_transfer_counterparties_not_merchants(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    got = {k: int(a[k]) for k in ("fan_in_1d", "fan_out_1d", "counterparties_1d", "fan_in_7d", "fan_out_7d")}
    assert got == {"fan_in_1d": 1, "fan_out_1d": 1, "counterparties_1d": 2, "fan_in_7d": 2, "fan_out_7d": 1}
    assert int(a["counterparties_30d"]) == 3  # X1, B and X2; the merchant is a platform, not a peer


def test_night_and_round_shares_use_local_hours_and_whole_thousands(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    assert a["night_share_1d"] == 1.0
    assert a["night_share_7d"] == 0.5
    assert a["night_share_30d"] == pytest.approx(2 / 5)
    assert a["round_share_1d"] == 0.5  # 5,000 yuan is round, 4,900 is not
    assert a["round_share_30d"] == pytest.approx(2 / 5)


def test_pass_through_counts_money_out_within_24_hours_of_money_in(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    assert int(a["rapid_out_1d_fen"]) == 490_000
    assert int(a["rapid_out_7d_fen"]) == 490_000  # the merchant payment came 50 h after a credit
    assert a["pass_through_share_1d"] == pytest.approx(0.98)
    assert a["pass_through_share_30d"] == pytest.approx(490_000 / 630_000)


def test_new_counterparties_velocity_and_dormancy(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    assert int(a["new_counterparties_7d"]) == 2  # B and X2; X1 was first seen on 09-05
    assert int(a["new_counterparties_30d"]) == 3
    assert a["new_counterparty_share_30d"] == 1.0
    assert int(a["tenure_days"]) == 29 and bool(a["is_new_account"])
    assert int(a["daily_flow_30d_fen"]) == (630_000 + 510_000) // 30
    assert int(a["idle_days_before_7d"]) == 18  # quiet from 09-06 to 09-23
    assert a["burst_ratio_7d"] == pytest.approx(4 / (2 * 7 / 83 + 1))
    assert a["out_in_ratio_30d"] == pytest.approx(510_000 / 630_000)


def test_cross_county_counterparties_compare_the_holders_counties(features: pd.DataFrame) -> None:
    a, b = features.loc["A"], features.loc["B"]
    assert (int(a["internal_counterparties_30d"]), int(a["cross_county_counterparties_30d"])) == (1, 1)
    assert a["cross_county_share_30d"] == 1.0 and b["cross_county_share_30d"] == 1.0


def test_an_account_without_postings_has_zeros_and_null_shares(features: pd.DataFrame) -> None:
    c = features.loc["C"]
    assert int(c["in_count_30d"]) == 0 and int(c["fan_in_30d"]) == 0
    assert int(c["idle_days_before_7d"]) == 83
    assert math.isnan(c["night_share_30d"]) and math.isnan(c["pass_through_share_30d"])
    assert not bool(c["is_new_account"])


def test_postings_after_the_as_of_date_change_nothing(duck: Engine) -> None:
    ledger = _ledger()
    later = ledger.copy()
    later["txn_at"] = later["txn_at"] + pd.Timedelta(days=200)
    both = pd.concat([ledger, later], ignore_index=True)
    accounts = ibis.memtable(_accounts())
    base = duck.execute(risk_features_from_ledger(ibis.memtable(ledger), AS_OF, accounts))
    more = duck.execute(risk_features_from_ledger(ibis.memtable(both), AS_OF, accounts))
    pd.testing.assert_frame_equal(base, more)


def test_an_edge_list_csv_gives_the_same_features_as_its_ledger(duck: Engine, tmp_path: Path) -> None:
    edges = pd.DataFrame(
        {
            "payer": ["P", "Q", "R", "P"],
            "payee": ["M", "M", "M", "Q"],
            "amt": [1000.0, 2000.0, 3000.5, 10.0],  # yuan
            "ts": [
                "2025-09-30 23:10:00",
                "2025-09-29 12:00:00",
                "2025-09-30 02:00:00",
                "2025-08-01 09:00:00",
            ],
        }
    )
    path = tmp_path / "edges.csv"
    edges.to_csv(path, index=False)
    columns = EdgeColumns("payer", "payee", "amt", "ts")
    table = duck.execute(
        risk_features_from_ledger(ledger_from_edges(read_edge_list(duck, path, columns)), AS_OF)
    )
    m = table.set_index("account_id").loc["M"]
    assert (int(m["fan_in_7d"]), int(m["in_amount_7d_fen"]), int(m["in_count_1d"])) == (3, 600_050, 2)
    assert m["night_share_7d"] == pytest.approx(2 / 3)
    assert (
        int(table.set_index("account_id").loc["Q", "internal_counterparties_30d"]) == 1
    )  # M (P paid it in August)
    assert sorted(table["account_id"]) == ["M", "P", "Q", "R"]


def test_an_edge_list_without_the_named_columns_is_refused(duck: Engine, tmp_path: Path) -> None:
    path = tmp_path / "edges.csv"
    pd.DataFrame({"a": ["x"], "b": ["y"]}).to_csv(path, index=False)
    with pytest.raises(YoushuError, match="lacks column"):
        read_edge_list(duck, path)
    with pytest.raises(YoushuError, match="does not exist"):
        read_edge_list(duck, tmp_path / "missing.csv")


def test_warehouse_features_agree_with_a_hand_query(duck: Engine, tiny_province: Path) -> None:
    import duckdb

    table = duck.execute(risk_features(duck, tiny_province, AS_OF)).set_index("account_id")
    con = duckdb.connect()
    got = (
        con.execute(
            f"""
        select account_id, count(*) filter (where direction = 'in') n_in,
               sum(amount_fen) filter (where direction = 'out') out_fen,
               count(distinct counterparty_id) filter (where direction = 'in'
                     and (counterparty_category in ('p2p', 'other') or counterparty_account_id is not null)) fan_in,
               avg(case when hour(txn_at) >= 22 or hour(txn_at) < 6 then 1.0 else 0.0 end) night
        from read_parquet('{tiny_province}/transactions/*.parquet')
        where txn_at >= TIMESTAMP '2025-09-01' and txn_at < TIMESTAMP '2025-10-01' group by 1"""
        )
        .df()
        .set_index("account_id")
    )
    joined = got.join(table, how="left")
    assert len(joined) > 500
    assert (joined["n_in"] == joined["in_count_30d"]).all()
    assert np.allclose(joined["out_fen"].fillna(0), joined["out_amount_30d_fen"])
    assert (joined["fan_in"] == joined["fan_in_30d"]).all()
    assert np.allclose(joined["night"], joined["night_share_30d"])


@pytest.mark.spark
def test_spark_and_duckdb_give_the_same_features_on_a_province(
    duck: Engine, spark_engine: Engine, tiny_province: Path
) -> None:
    from tests.features.conftest import assert_same_frames

    left = duck.execute(risk_features(duck, tiny_province, AS_OF))
    right = spark_engine.execute(risk_features(spark_engine, tiny_province, AS_OF))
    assert_same_frames(left, right, "account_id")


def test_a_datetime_is_refused_as_the_as_of_date(duck: Engine, tiny_province: Path) -> None:
    with pytest.raises(YoushuError, match="must be a date"):
        risk_features(duck, tiny_province, datetime(2025, 9, 30))  # type: ignore[arg-type]


@pytest.mark.spark
def test_spark_and_duckdb_give_the_same_transfer_edges(
    duck: Engine, spark_engine: Engine, tiny_province: Path
) -> None:
    from youshu.engine import Tables
    from youshu.features.graph import transfer_edges
    from youshu.features.risk import ledger_from_transactions

    def edges(eng: Engine) -> pd.DataFrame:
        table = eng.execute(transfer_edges(ledger_from_transactions(Tables(eng, tiny_province)), AS_OF))
        return table.sort_values(["src", "dst"]).reset_index(drop=True)

    left, right = edges(duck), edges(spark_engine)
    assert len(left) > 100
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
