"""Honest check on a small synthetic province: wealth-product propensity out of time, labels from purchases only.

Features as of 2025-07-01 with purchases in the next 90 days train the ranker; it is tested on features as
of 2025-09-30 against purchases in (2025-09-30, 2025-12-29]. The planted 90-day propensity (truth/, read here
only to measure) gives the best AUC any model could reach.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from youshu.engine import connect
from youshu.models.baselines import LogisticBaseline, rank_by
from youshu.models.evaluation import compare, evaluate
from youshu.models.propensity import PropensityRanker
from youshu.models.targets import labelled_features
from youshu.models.timesplit import TimeSplit

from .conftest import TEST_AS_OF, TRAIN_AS_OF, bought_in_window, planted

Split = tuple[pa.Table, np.ndarray]


@pytest.fixture(scope="module")
def splits(province: Path) -> tuple[Split, Split]:
    with connect("duckdb") as eng:
        train = labelled_features(eng, province, "wealth_purchase", TimeSplit(TRAIN_AS_OF, 90))
        test = labelled_features(eng, province, "wealth_purchase", TimeSplit(TEST_AS_OF, 90))
    return train, test


def test_labels_are_wealth_purchases_in_the_90_days_after_the_as_of_date(
    province: Path, splits: tuple[Split, Split]
) -> None:
    features, labels = splits[1]
    expected = bought_in_window(province, "wealth", features.column("customer_id"), TEST_AS_OF)
    assert labels.dtype == np.int8
    assert np.array_equal(labels.astype(bool), expected)
    assert 0.01 < labels.mean() < 0.2
    assert set(features.column("as_of_date").to_pylist()) == {TEST_AS_OF}


def test_wealth_propensity_ranks_buyers_out_of_time_near_the_planted_ceiling(
    province: Path, splits: tuple[Split, Split]
) -> None:
    (x_train, y_train), (x_test, y_test) = splits
    ranker = PropensityRanker(n_estimators=150, learning_rate=0.03, num_leaves=7, min_child_samples=100)
    model = evaluate(
        y_test, ranker.fit(x_train, y_train).predict_proba(x_test)[:, 1], name="lightgbm", n_boot=0
    )
    logistic = LogisticBaseline(C=0.1).fit(x_train, y_train).predict_proba(x_test)[:, 1]
    baseline = evaluate(y_test, logistic, name="logistic", n_boot=0)
    by_aum = evaluate(y_test, rank_by(x_test, "aum_fen"), name="rank by AUM", n_boot=0)
    ceiling = evaluate(
        y_test,
        planted(province, "wealth_propensity_90d", x_test.column("customer_id")),
        name="truth",
        n_boot=0,
    )
    table = compare([model, baseline, by_aum, ceiling])[["name", "roc_auc", "top_decile_lift"]].to_string()
    # 10,000 customers give ~350 test positives: floors below the 0.80 / 4 (met at 100k, see
    # benchmarks/eval_wealth.py) but far above chance, and close to what the planted propensity allows.
    assert model.roc_auc >= 0.78, table
    assert model.top_decile_lift >= 3.5, table
    assert model.roc_auc >= ceiling.roc_auc - 0.05, table
    assert baseline.roc_auc >= 0.75 and by_aum.roc_auc > 0.7, table
