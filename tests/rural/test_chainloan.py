"""产业e贷: the capped credit-line formula, and upstream/downstream customers recomputed from transactions."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from youshu.engine import connect
from youshu.errors import YoushuError
from youshu.rural.chainloan import CHAINLOAN_COLUMNS, credit_lines, load_chainloan, suggest_credit_lines

AS_OF = date(2025, 9, 30)


def test_credit_line_is_k_times_median_times_active_share_capped_and_cut_for_late_payers() -> None:
    cfg = load_chainloan()
    assert (cfg.k, cfg.cap_fen, cfg.min_active_months) == (3.0, 50_000_000, 3)
    trades = pd.DataFrame(
        {
            "median_monthly_fen": [1_000_000, 50_000_000, 1_000_000, 1_000_000, 1_000_000, 1_234_567],
            "months_active": [12, 12, 12, 12, 2, 6],
            "due_count": [0, 0, 10, 10, 0, 0],
            "on_time_count": [0, 0, 8, 9, 0, 0],
            "overdue_30_count": [0, 0, 0, 1, 0, 0],
        }
    )
    got = credit_lines(trades, cfg)
    # 3 x 10,000 yuan x 12/12; 3 x 500,000 x 12/12 capped at 500,000; late: x (1 - 0.5 x 0.2);
    # > 30 days late: 0; 2 active months: 0; 3 x 12,345.67 x 6/12 = 18,518.5 rounded down to 1,000 yuan
    assert got["suggested_line_fen"].tolist() == [3_000_000, 50_000_000, 2_700_000, 0, 0, 1_800_000]
    assert got["is_capped"].tolist() == [False, True, False, False, False, False]
    assert got["repayment_factor"].tolist() == [1.0, 1.0, 0.9, 0.0, 1.0, 1.0]
    assert (got["suggested_line_fen"] <= cfg.cap_fen).all()


def _transactions(warehouse: Path) -> pd.DataFrame:
    x = pd.read_parquet(warehouse / "transactions")
    accounts = pd.read_parquet(warehouse / "accounts", columns=["account_id", "customer_id"])
    return x.merge(accounts, on="account_id")


def test_suppliers_and_buyers_of_a_core_firm_match_the_transactions(rural_province: Path) -> None:
    x = _transactions(rural_province)
    x = x[
        (x["txn_at"] >= pd.Timestamp(AS_OF - timedelta(days=364)))
        & (x["txn_at"] < pd.Timestamp(AS_OF + timedelta(days=1)))
    ]
    buyers = x[x["counterparty_category"] == "agri_buyer"]
    core = buyers["counterparty_id"].value_counts().index[0]
    with connect("duckdb") as eng:
        got = suggest_credit_lines(eng, rural_province, core, AS_OF)
    assert list(got.columns) == list(CHAINLOAN_COLUMNS)
    mine = x[x["counterparty_id"] == core]
    expected = mine.groupby("customer_id")["amount_fen"].agg(["sum", "size"])
    got = got.set_index("customer_id")
    assert set(got.index) == set(expected.index)
    assert (got["trade_fen"] == expected["sum"].reindex(got.index)).all()
    assert (got["trade_count"] == expected["size"].reindex(got.index)).all()
    # the buyer pays the farmers: they are upstream
    assert (got["relation"] == "upstream").all() and (got["relation_zh"] == "上游").all()
    first = got.iloc[0]
    assert first["suggested_line_fen"] > 0 and first["evidence"].startswith(f"近365天与核心企业{core}交易")
    assert "建议额度 = min(¥500,000, 3 × " in first["evidence"]


def test_an_unknown_core_is_a_clear_error(rural_province: Path) -> None:
    with connect("duckdb") as eng, pytest.raises(YoushuError, match="no transactions with core 'NOPE'"):
        suggest_credit_lines(eng, rural_province, "NOPE", AS_OF)
