"""Rural selection: top N by eligibility, risky and homeless customers excluded, lists per outlet, PII masked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from youshu.engine import connect
from youshu.rural.eligibility import eligibility_scores
from youshu.rural.select import default_top, rural_selection, select_top, write_selection

AS_OF = date(2025, 9, 30)


def test_select_top_skips_risky_and_homeless_and_breaks_ties_by_id() -> None:
    ids = pa.array(["c5", "c4", "c3", "c2", "c1", "c0"])
    score = np.array([9.0, 8.0, 7.0, 7.0, 7.0, 1.0])
    has_outlet = np.array([True, False, True, True, True, True])
    rows, excluded = select_top(ids, score, has_outlet, pa.array(["c5"]), 2)
    assert ids.take(pa.array(rows)).to_pylist() == ["c1", "c2"]
    assert excluded == {"risky_account": 1, "no_home_outlet": 1}
    rows, _ = select_top(ids, score, has_outlet, None, 10)
    assert ids.take(pa.array(rows)).to_pylist() == ["c5", "c1", "c2", "c3", "c0"]


def test_default_n_scales_200k_to_the_province() -> None:
    assert default_top(16_000_000) == 200_000
    assert default_top(4_000_000) == 50_000
    assert default_top(5_000) == 100


@pytest.fixture(scope="module")
def scores(rural_province: Path) -> pd.DataFrame:
    with connect("duckdb") as eng:
        return eligibility_scores(eng, rural_province, AS_OF)


def test_selection_respects_n_excludes_risky_and_ranks_within_outlets(
    rural_province: Path, scores: pd.DataFrame, tmp_path: Path
) -> None:
    risky = scores["customer_id"].head(5).tolist()  # the five best scores are flagged 风险账户
    with connect("duckdb") as eng:
        result = rural_selection(eng, rural_province, AS_OF, top=40, risky=risky, scores=scores)
    lists = result.lists
    assert len(lists) == 40 and lists["customer_id"].is_unique
    assert set(risky).isdisjoint(lists["customer_id"])
    assert result.excluded["risky_account"] == 5
    expected = scores[~scores["customer_id"].isin(risky)].head(40)["customer_id"]
    assert set(lists["customer_id"]) == set(expected)
    assert lists["home_outlet_id"].notna().all()
    for _, g in lists.groupby("home_outlet_id"):
        assert g["rank_in_outlet"].tolist() == list(range(1, len(g) + 1))
        assert g["eligibility_score"].is_monotonic_decreasing
    assert result.summary["selected"].sum() == 40
    listed, summary = write_selection(result, tmp_path / "sel.parquet", rural_province)
    written = pd.read_parquet(listed)
    raw = pd.read_parquet(rural_province / "customers", columns=["customer_id", "name", "phone"])
    raw = raw.set_index("customer_id").loc[written["customer_id"]]
    assert (written["name"].to_numpy() != raw["name"].to_numpy()).all()
    assert (written["phone"].dropna().str.contains(r"\*")).all()
    assert pd.read_parquet(summary)["selected"].sum() == 40


def test_default_n_on_a_small_province_is_at_least_100(rural_province: Path, scores: pd.DataFrame) -> None:
    with connect("duckdb") as eng:
        result = rural_selection(eng, rural_province, AS_OF, scores=scores)
    assert result.top == 100
    assert len(result.lists) == min(100, len(scores))
