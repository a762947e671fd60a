"""PropensityRanker learns from any feature table (pandas or Arrow), is seeded, stops early and explains itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone

from youshu.errors import YoushuError
from youshu.models.evaluation import roc_auc
from youshu.models.propensity import PropensityRanker

#: The true logit of each generated data set, by seed.
CEILING: dict[int, np.ndarray] = {}


def make_features(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Customer-like features; the label follows outflows to other banks' wealth platforms and payroll."""
    rng = np.random.default_rng(seed)
    outflow = np.where(rng.random(n) < 0.3, np.round(rng.lognormal(13, 1.0, n)), 0).astype(np.int64)
    payroll = rng.random(n) < 0.3
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{seed}{i:06d}" for i in range(n)],
            "as_of_date": pd.Timestamp("2025-09-30").date(),
            "other_bank_wealth_out_90d_fen": outflow,
            "has_payroll_90d": payroll,
            "occupation": rng.choice(["farmer", "worker", "retiree", None], n),
            "channel_share_mobile_90d": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "noise_count": rng.poisson(5, n),
        }
    )
    logit = -3.2 + 1.4 * (outflow > 0) + 0.8 * payroll + 0.6 * (frame["occupation"] == "retiree")
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    CEILING[seed] = logit.to_numpy()  # the best possible ranking, for comparison
    return frame, labels


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    train, y_train = make_features(8000, seed=1)
    test, y_test = make_features(4000, seed=2)
    return train, y_train, test, y_test


@pytest.fixture(scope="module")
def ranker(data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]) -> PropensityRanker:
    train, y_train, _, _ = data
    return PropensityRanker(n_estimators=60, num_leaves=7, min_child_samples=50).fit(train, y_train)


def test_ranker_learns_the_signal_out_of_sample(
    ranker: PropensityRanker, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]
) -> None:
    _, _, test, y_test = data
    probability = ranker.predict_proba(test)
    assert probability.shape == (len(test), 2)
    assert np.allclose(probability.sum(axis=1), 1.0)
    ceiling = roc_auc(y_test, CEILING[2])
    assert roc_auc(y_test, probability[:, 1]) > ceiling - 0.02
    assert set(ranker.predict(test)) <= {0, 1}


def test_ids_and_the_as_of_date_are_not_features_and_text_is_categorical(ranker: PropensityRanker) -> None:
    assert "customer_id" not in ranker.feature_names_in_
    assert "as_of_date" not in ranker.feature_names_in_
    assert ranker.encoder_.kinds["occupation"] == "category"
    assert set(ranker.encoder_.categories["occupation"]) == {"farmer", "worker", "retiree"}
    assert ranker.importance_frame()["feature"].iloc[0] == "other_bank_wealth_out_90d_fen"


def test_pandas_and_arrow_inputs_score_identically(
    ranker: PropensityRanker, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]
) -> None:
    _, _, test, _ = data
    from_pandas = ranker.predict_proba(test)[:, 1]
    from_arrow = ranker.predict_proba(pa.Table.from_pandas(test, preserve_index=False))[:, 1]
    assert np.array_equal(from_pandas, from_arrow)


def test_an_unseen_category_scores_like_a_missing_one(ranker: PropensityRanker) -> None:
    rows, _ = make_features(5, seed=3)
    unseen = rows.assign(occupation="astronaut")
    missing = rows.assign(occupation=None)
    assert np.array_equal(ranker.predict_proba(unseen), ranker.predict_proba(missing))


def test_the_same_seed_gives_the_same_model_and_another_seed_another(
    data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray],
) -> None:
    train, y_train, test, _ = data
    params = {"n_estimators": 30, "num_leaves": 7, "subsample": 0.7, "colsample_bytree": 0.7}
    first = PropensityRanker(random_state=3, **params).fit(train, y_train).predict_proba(test)
    again = PropensityRanker(random_state=3, **params).fit(train, y_train).predict_proba(test)
    other = PropensityRanker(random_state=4, **params).fit(train, y_train).predict_proba(test)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_early_stopping_on_an_out_of_time_slice_keeps_the_best_round(
    data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray],
) -> None:
    train, y_train, test, y_test = data
    shuffled = np.random.default_rng(0).permutation(y_test)  # a slice where nothing generalises
    model = PropensityRanker(n_estimators=400, early_stopping_rounds=10).fit(
        train, y_train, eval_set=(test, shuffled)
    )
    assert model.best_iteration_ < 100
    assert model.validation_auc_ is not None and model.validation_auc_ < 0.6
    assert model.booster_.current_iteration() >= model.best_iteration_
    honest = PropensityRanker(n_estimators=400, early_stopping_rounds=10).fit(
        train, y_train, eval_set=(test, y_test)
    )
    assert honest.validation_auc_ is not None
    assert honest.validation_auc_ > roc_auc(y_test, CEILING[2]) - 0.02


def test_the_model_keeps_no_training_data(ranker: PropensityRanker) -> None:
    assert not hasattr(ranker.booster_, "train_set")
    assert not any(
        isinstance(v, pd.DataFrame | pa.Table | np.ndarray) and len(v) > 100 for v in vars(ranker).values()
    )


def test_it_behaves_as_a_scikit_learn_estimator(ranker: PropensityRanker) -> None:
    copy = clone(ranker)
    assert copy.get_params() == ranker.get_params()
    assert not hasattr(copy, "booster_")
    assert list(ranker.classes_) == [0, 1]


@pytest.mark.parametrize(
    ("labels", "message"),
    [(np.zeros(8000), "every label is 0"), (np.ones(10), "10 labels for 8000"), (np.full(8000, 2), "0/1")],
)
def test_bad_labels_are_refused(
    data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray], labels: np.ndarray, message: str
) -> None:
    with pytest.raises(YoushuError, match=message):
        PropensityRanker(n_estimators=5).fit(data[0], labels)


def test_scoring_a_table_without_a_trained_column_names_it(ranker: PropensityRanker) -> None:
    rows, _ = make_features(5, seed=4)
    with pytest.raises(YoushuError, match="noise_count"):
        ranker.predict_proba(rows.drop(columns=["noise_count"]))


def test_reason_codes_name_the_driving_feature_in_zh_with_its_value_in_yuan(
    ranker: PropensityRanker, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]
) -> None:
    _, _, test, _ = data
    scores = ranker.predict_proba(test)[:, 1]
    top = test.iloc[np.argsort(-scores)[:20]].reset_index(drop=True)
    reasons = ranker.reason_codes(top, top=3)
    assert list(reasons.columns[:3]) == ["reason_1", "reason_feature_1", "reason_contribution_1"]
    assert len(reasons) == 20
    row = int(np.flatnonzero(reasons["reason_feature_1"] == "other_bank_wealth_out_90d_fen")[0])
    yuan = top.loc[row, "other_bank_wealth_out_90d_fen"] / 100
    assert reasons.loc[row, "reason_1"] == f"近90天转他行理财 ¥{round(yuan):,}"
    assert reasons["reason_contribution_1"].dropna().gt(0).all()
    payroll = reasons[reasons["reason_feature_2"] == "has_payroll_90d"]["reason_2"]
    assert set(payroll) <= {"代发工资客户"}


def test_contributions_add_up_to_the_log_odds(
    ranker: PropensityRanker, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]
) -> None:
    _, _, test, _ = data
    contributions = ranker.contributions(test.head(50))
    probability = ranker.predict_proba(test.head(50))[:, 1]
    assert np.allclose(1 / (1 + np.exp(-contributions.sum(axis=1))), probability)
