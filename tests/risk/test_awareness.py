"""Risk situational awareness: PSI, alert marking, distributions, trends, rising outlets and customer flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from youshu.errors import YoushuError
from youshu.models.risk.awareness import (
    awareness_summary,
    customer_risk_flags,
    drift_status,
    feature_drift,
    mark_alerts,
    psi,
    rising_outlets,
    score_distribution,
    write_customer_flags,
)

D1, D2 = date(2025, 6, 30), date(2025, 9, 30)


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for day, hot in ((D1, "O2"), (D2, "O1")):
        for i in range(300):
            outlet = ["O1", "O2", "O3"][i % 3]
            score = rng.random() * 0.1 + (0.8 if outlet == hot and i < 60 else 0.0)
            rows.append((f"A{i:04d}", day, f"C{i // 2:04d}", outlet, f"CTY{i % 2}", score))
    return pd.DataFrame(
        rows, columns=["account_id", "as_of_date", "customer_id", "outlet_id", "county_id", "score"]
    )


def test_psi_is_zero_for_the_same_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 20_000)
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)
    assert psi(a, rng.normal(0, 1, 20_000)) < 0.01
    small, large = psi(a, rng.normal(0.3, 1, 20_000)), psi(a, rng.normal(1.0, 1, 20_000))
    assert 0.05 < small < large and large > 0.25
    # the textbook value: 50/50 becomes 80/20 in two bins
    assert psi([0] * 50 + [1] * 50, [0] * 80 + [1] * 20, bins=2) == pytest.approx(
        0.3 * np.log(0.8 / 0.5) - 0.3 * np.log(0.2 / 0.5)
    )


def test_missing_values_are_a_bin_of_their_own() -> None:
    base = np.r_[np.arange(100.0), [np.nan] * 10]
    assert psi(base, np.r_[np.arange(100.0), [np.nan] * 60]) > 0.1


def test_drift_status_uses_the_usual_thresholds() -> None:
    assert [drift_status(v) for v in (0.05, 0.1, 0.2, 0.25, 0.3)] == [
        "stable 稳定",
        "watch 关注",
        "watch 关注",
        "watch 关注",
        "drift 显著漂移",
    ]
    with pytest.raises(YoushuError, match="empty"):
        psi([], [1.0])


def test_feature_drift_lists_the_most_drifted_feature_first() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"night_share_7d": rng.random(5000), "fan_in_7d": rng.poisson(2, 5000)})
    cur = pd.DataFrame({"night_share_7d": rng.random(5000) ** 3, "fan_in_7d": rng.poisson(2, 5000)})
    table = feature_drift(ref, cur)
    assert table["feature"].tolist() == ["night_share_7d", "fan_in_7d"]
    assert table.loc[0, "name_zh"] == "近7天夜间交易占比" and table.loc[0, "status"] == "drift 显著漂移"
    assert table.loc[1, "status"] == "stable 稳定"


def test_alerts_are_the_top_scores_of_each_day_and_counted_per_outlet() -> None:
    marked = mark_alerts(_scores(), budget=50)
    assert marked.groupby("as_of_date")["is_alert"].sum().tolist() == [50, 50]
    top = marked[marked["as_of_date"] == D1].nlargest(50, "score")
    assert marked.loc[top.index, "is_alert"].all()
    dist = score_distribution(mark_alerts(_scores(), budget=20), "outlet_id")
    hot = dist[(dist["as_of_date"] == D1) & (dist["outlet_id"] == "O2")].iloc[0]
    assert hot["alerts"] == 20 and hot["accounts"] == 100 and hot["p99"] > 0.8
    with pytest.raises(YoushuError, match="mark alerts first"):
        score_distribution(_scores())


def test_rising_outlets_put_the_outlet_with_the_new_alerts_first() -> None:
    marked = mark_alerts(_scores(), budget=20)
    rising = rising_outlets(marked, D1, D2)
    assert rising.loc[0, "outlet_id"] == "O1"
    assert rising.loc[0, "alerts_change"] == 20
    assert rising.iloc[-1]["outlet_id"] == "O2"
    with pytest.raises(YoushuError, match="no scores"):
        rising_outlets(marked, date(2020, 1, 1), D2)


def test_customer_flags_mark_holders_of_alerted_accounts_and_are_written_per_date(tmp_path: Path) -> None:
    marked = mark_alerts(_scores(), budget=10)
    flags = customer_risk_flags(marked)
    assert list(flags.columns) == [
        "customer_id",
        "as_of_date",
        "is_risky_account",
        "alerted_accounts",
        "max_score",
    ]
    alerted = set(marked.loc[marked["is_alert"] & (marked["as_of_date"] == D2), "customer_id"])
    flagged = set(flags.loc[flags["is_risky_account"] & (flags["as_of_date"] == D2), "customer_id"])
    assert flagged == alerted and len(flagged) >= 5
    written = write_customer_flags(flags, tmp_path)
    assert [p.name for p in written] == [f"as_of_date={D1}", f"as_of_date={D2}"]
    table = pq.read_table(written[1] / "part-00000.parquet")
    assert table.schema.field("is_risky_account").metadata == {b"zh": "风险账户".encode()}
    assert table.num_rows == len(flags[flags["as_of_date"] == D2])


def test_the_summary_holds_every_table() -> None:
    scores = _scores()
    frames = [
        pd.DataFrame({"fan_in_7d": np.arange(100) % 7}),
        pd.DataFrame({"fan_in_7d": np.arange(100) % 3}),
    ]
    summary = awareness_summary(scores, budget=30, reference_frame=frames[0], current_frame=frames[1])
    assert summary.dates == [str(D1), str(D2)]
    assert summary.trend["alerts"].tolist() == [30, 30]
    assert set(summary.by_county["county_id"]) == {"CTY0", "CTY1"}
    assert summary.drift is not None and summary.drift.loc[0, "feature"] in {"score", "fan_in_7d"}
    assert "score" in set(summary.drift["feature"])
    assert summary.rising_outlets is not None and summary.rising_outlets.loc[0, "outlet_id"] == "O1"
