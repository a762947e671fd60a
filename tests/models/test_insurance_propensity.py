"""她经济: insurance propensity of female customers, out of time on a small province, labels from purchases only.

Features as of 2025-07-01 with insurance purchases in the next 90 days train the ranker on the 女性客群
segment (as of that date); it is tested on the segment as of 2025-09-30 against purchases in
(2025-09-30, 2025-12-29]. The planted propensity (truth/, read here only to measure) bounds what any model
can reach on these few positives.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from youshu.engine import connect
from youshu.models.baselines import LogisticBaseline, rank_by
from youshu.models.evaluation import compare, evaluate, roc_auc
from youshu.models.propensity import PropensityRanker
from youshu.models.segment import Segment, load_tagset
from youshu.models.store import ModelCard, load_model, save_model
from youshu.models.timesplit import TimeSplit
from youshu.models.training import RANKER, split_rows

from .conftest import TEST_AS_OF, TRAIN_AS_OF, bought_in_window, planted
from .test_segment import DEFINITIONS

Split = tuple[pa.Table, np.ndarray]
#: AUC floor of the test: ~110 positives among ~4,800 women; a random score stays far below it.
AUC_FLOOR = 0.70


@pytest.fixture(scope="module")
def splits(province: Path) -> tuple[Split, Split]:
    segment = Segment.parse("女性客群", load_tagset(DEFINITIONS))
    with connect("duckdb") as eng:
        train = split_rows(eng, province, "insurance_purchase", TimeSplit(TRAIN_AS_OF, 90), segment)
        test = split_rows(eng, province, "insurance_purchase", TimeSplit(TEST_AS_OF, 90), segment)
    return train, test


def test_rows_are_women_labelled_by_insurance_purchases_in_the_window(
    province: Path, splits: tuple[Split, Split]
) -> None:
    features, labels = splits[1]
    women = duckdb.sql(
        f"""
        SELECT customer_id FROM read_parquet('{province}/customers/*.parquet')
        WHERE gender = 'F' AND onboard_date <= DATE '{TEST_AS_OF}'
        """
    ).fetchall()
    expected = bought_in_window(province, "insurance", features.column("customer_id"), TEST_AS_OF)
    assert set(features.column("gender").to_pylist()) == {"F"}
    assert sorted(features.column("customer_id").to_pylist()) == sorted(w[0] for w in women)
    assert np.array_equal(labels.astype(bool), expected)
    assert 0.005 < labels.mean() < 0.1


def test_her_insurance_propensity_ranks_buyers_out_of_time_better_than_aum(
    province: Path, splits: tuple[Split, Split]
) -> None:
    (x_train, y_train), (x_test, y_test) = splits
    scores = PropensityRanker(**RANKER).fit(x_train, y_train).predict_proba(x_test)[:, 1]
    model = evaluate(y_test, scores, name="lightgbm", n_boot=0)
    by_aum = evaluate(y_test, rank_by(x_test, "aum_fen"), name="rank by AUM", n_boot=0)
    logistic = LogisticBaseline(C=0.1).fit(x_train, y_train).predict_proba(x_test)[:, 1]
    baseline = evaluate(y_test, logistic, name="logistic", n_boot=0)
    ceiling = evaluate(
        y_test,
        planted(province, "insurance_propensity_90d", x_test.column("customer_id")),
        name="truth",
        n_boot=0,
    )
    table = compare([model, by_aum, baseline, ceiling])[["name", "roc_auc", "top_decile_lift"]].to_string()
    random_auc = roc_auc(y_test, np.random.default_rng(0).random(len(y_test)))
    assert random_auc < AUC_FLOOR - 0.1, table  # the floor means something on these labels
    assert model.roc_auc >= AUC_FLOOR, table
    assert model.top_decile_lift >= 2.5, table
    assert model.roc_auc > by_aum.roc_auc, table
    assert model.roc_auc >= ceiling.roc_auc - 0.05, table


def test_a_saved_model_scores_and_explains_like_the_fitted_one(
    splits: tuple[Split, Split], tmp_path: Path
) -> None:
    (x_train, y_train), (x_test, _) = splits
    ranker = PropensityRanker(**RANKER).fit(x_train, y_train)
    card = ModelCard("insurance_purchase", TEST_AS_OF, 90, segment="女性客群", metrics={"roc_auc": 0.7})
    folder = tmp_path / "model"
    (folder / "old").mkdir(parents=True)  # a previous model's leftovers are replaced, not mixed in
    save_model(ranker, card, folder)
    saved = load_model(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.txt"]
    assert saved.card == card
    np.testing.assert_array_equal(saved.ranker.predict_proba(x_test), ranker.predict_proba(x_test))
    head = x_test.slice(0, 50)
    assert saved.ranker.reason_codes(head).equals(ranker.reason_codes(head))
    assert list(saved.ranker.feature_names_in_) == list(ranker.feature_names_in_)
