"""Loan eligibility: each input on hand-built flows, the scorecard's components, later outcomes, province AUC."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from youshu.engine import Tables, connect
from youshu.rural.eligibility import (
    eligibility_inputs,
    eligibility_scores,
    repayment_outcomes,
    score_eligibility,
)

from .tiny import AS_OF


@pytest.fixture(scope="module")
def inputs(tiny_chain_warehouse: Path) -> pd.DataFrame:
    who = ibis.memtable(pd.DataFrame({"customer_id": ["a1", "b1", "S1"]}))
    with connect("duckdb") as eng:
        frame = eng.execute(eligibility_inputs(Tables(eng, tiny_chain_warehouse), AS_OF, who))
    return frame.set_index("customer_id")


def test_inflows_of_the_last_360_days_give_the_monthly_cv(inputs: pd.DataFrame) -> None:
    # a1: 10,000 (09-01, period 0), 30,000 (05-10, period 4), 10,000 (01-10, period 8); 2024-09-01 and
    # 2025-10-05 fall outside the window
    months = np.zeros(12)
    months[[0, 4, 8]] = [10_000, 30_000, 10_000]
    assert inputs.loc["a1", "inflow_total_fen"] == 50_000
    assert inputs.loc["a1", "inflow_active_periods"] == 3
    assert inputs.loc["a1", "inflow_cv"] == pytest.approx(months.std() / months.mean())


def test_repayment_history_counts_on_time_and_days_late_up_to_the_as_of_date(inputs: pd.DataFrame) -> None:
    a1, b1 = inputs.loc["a1"], inputs.loc["b1"]
    # a1: 3 of 4 paid on their due date, the one due 2025-06-01 unpaid: 121 days late on 2025-09-30
    assert (a1["due_count"], a1["on_time_count"], a1["overdue_30_count"]) == (4, 3, 1)
    assert a1["late_days_max"] == 121 and a1["late_days_mean"] == pytest.approx(121 / 4)
    # b1: two instalments paid 3 days late; the one due 2025-12-01 is after the as-of date
    assert (b1["due_count"], b1["on_time_count"], b1["late_days_mean"]) == (2, 0, 3)
    # S1 has no loan
    assert inputs.loc["S1", "due_count"] == 0 and pd.isna(inputs.loc["S1", "late_days_mean"])


def test_aum_is_balances_plus_holdings_at_the_last_month_end(inputs: pd.DataFrame) -> None:
    assert inputs.loc["a1", "aum_fen"] == 150_000
    assert inputs.loc["b1", "aum_fen"] == 0


def _row(**values: object) -> dict[str, object]:
    base = {
        "customer_id": "X",
        "chain_stage": "production",
        "probability": 1.0,
        "inflow_total_fen": 0,
        "inflow_cv": np.nan,
        "due_count": 0,
        "on_time_count": 0,
        "late_days_mean": np.nan,
        "overdue_30_count": 0,
        "aum_fen": 0,
    }
    return {**base, **values}


def test_scorecard_components_follow_the_documented_formulas() -> None:
    frame = pd.DataFrame(
        [
            _row(customer_id="none"),
            _row(customer_id="good", due_count=10, on_time_count=10, late_days_mean=0.0),
            _row(customer_id="late", due_count=10, on_time_count=8, late_days_mean=1.0),
            _row(customer_id="bad", due_count=10, on_time_count=9, late_days_mean=12.0, overdue_30_count=1),
            _row(customer_id="rich", inflow_cv=1.0, aum_fen=100_000_000, inflow_total_fen=1_000_000_000),
        ]
    )
    got = score_eligibility(frame).set_index("customer_id")
    assert got.loc["none", "repayment"] == 0.5  # no loan: neutral
    assert got.loc["good", "repayment"] == pytest.approx(11 / 12, abs=1e-4)
    assert got.loc["late", "repayment"] == pytest.approx(9 / 12 / 2, abs=1e-4)
    assert got.loc["bad", "repayment"] == 0
    assert got.loc["rich", "stability"] == 0.5 and got.loc["none", "stability"] == 0
    assert got.loc["rich", "assets"] == 1.0  # 10^6 yuan
    # potential: 0.3 x 10,000,000 yuan inflows - 1,000,000 yuan AUM = 2,000,000 yuan
    assert got.loc["rich", "aum_potential_fen"] == 200_000_000
    # score = 100 x (50 repayment + 20 stability + 15 assets + 15 chain) / 100
    assert got.loc["good", "eligibility_score"] == pytest.approx(50 * 11 / 12 + 15, abs=0.01)
    assert (
        got.loc["good", "eligibility_score"]
        > got.loc["late", "eligibility_score"]
        > got.loc["bad", "eligibility_score"]
    )
    assert got.loc["bad", "reasons"].startswith("有 1 期逾期超30天")
    assert "资产提升潜力 ¥2,000,000" in got.loc["rich", "reasons"]


def test_outcomes_judge_only_instalments_due_after_the_as_of_date_with_30_days_observed(
    tiny_chain_warehouse: Path,
) -> None:
    with connect("duckdb") as eng:
        t = Tables(eng, tiny_chain_warehouse)
        later = eng.execute(repayment_outcomes(t, AS_OF, 90, date(2026, 1, 31)))
        short = eng.execute(repayment_outcomes(t, AS_OF, 90, date(2025, 12, 15)))
    # b1's instalment due 2025-12-01 is unpaid; a1's missed instalment was due before the as-of date
    assert later.to_dict("records") == [
        {"customer_id": "b1", "due_in_window": 1, "late_30_in_window": 1, "is_bad": True}
    ]
    assert short.empty  # 2025-12-01 + 30 days is past the data


TRAIN_AS_OF = date(2025, 6, 30)


def test_eligibility_ranks_later_repayment_above_a_bound_random_scores_fail(lending_province: Path) -> None:
    with connect("duckdb") as eng:
        scores = eligibility_scores(eng, lending_province, TRAIN_AS_OF)
        outcomes = eng.execute(
            repayment_outcomes(Tables(eng, lending_province), TRAIN_AS_OF, 180, date(2025, 12, 31))
        )
    d = scores.merge(outcomes, on="customer_id")
    assert d["is_bad"].sum() >= 10, "too few later defaults to judge the ranking"
    auc = roc_auc_score(d["is_bad"], -d["eligibility_score"])
    random = [roc_auc_score(d["is_bad"], np.random.default_rng(s).random(len(d))) for s in range(20)]
    bound = 0.75
    assert auc >= bound
    assert max(random) < bound
