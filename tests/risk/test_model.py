"""The risk model: scikit-learn behaviour, explanations, saving, and honest quality on a small province.

Quality is measured out of time: trained on as-of dates up to June 2025, tested on August-December 2025,
the top 100 and 1,000 accounts of each test day alerted. The thresholds are what a 10,000-customer province
supports (about 25 risky accounts active per day, so precision at 100 alerts cannot pass 0.25);
``benchmarks/eval_risk.py`` measures larger provinces.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from youshu.engine import Engine, connect
from youshu.errors import YoushuError
from youshu.models.risk import RiskModel, RiskyAccountClassifier, fit_risk_model
from youshu.models.risk.evaluate import RiskEvaluation, date_range, evaluate_time_split
from youshu.models.risk.frames import FEATURE_COLUMNS, GRAPH_COLUMNS, account_frame
from youshu.models.risk.labels import label_accounts, read_cases
from youshu.models.risk.scorer import MIN_RULE_PRECISION

TRAIN = date_range(date(2024, 10, 31), date(2025, 6, 30), 30)
TEST = date_range(date(2025, 8, 15), date(2025, 12, 15), 30)


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evaluation(risk_province: Path, cases: pd.DataFrame) -> RiskEvaluation:
    """Trained on what the bank knew (cases reported before the test period), measured on every planted mule."""
    known = read_cases(risk_province / "risk_cases")
    known = known[known["reported_on"] < TEST[0]]
    assert 0 < len(known) < len(cases)
    with connect("duckdb") as eng:
        return evaluate_time_split(eng, risk_province, cases, TRAIN, TEST, train_cases=known)


@pytest.fixture(scope="module")
def reported(risk_province: Path) -> pd.DataFrame:
    """Every case the province reported (the bank's labels)."""
    return read_cases(risk_province / "risk_cases")


@pytest.fixture(scope="module")
def frame(risk_province: Path) -> pd.DataFrame:
    with connect("duckdb") as eng:
        return account_frame(eng, risk_province, date(2025, 9, 30))


def test_the_model_ranks_risky_accounts_far_above_chance(evaluation: RiskEvaluation) -> None:
    m = evaluation.metrics
    base = m.loc["model", "base_rate"]
    assert base < 0.01
    assert m.loc["model", "positives"] >= 80
    assert m.loc["model", "pr_auc"] >= 0.6  # chance is the base rate, about 0.003
    assert m.loc["combined", "pr_auc"] >= 0.6
    assert m.loc["model", "roc_auc"] >= 0.9
    # 100 alerts a day catch most active mules; 1,000 catch more of them at a lower precision.
    assert m.loc["combined", "recall_at_100"] >= 0.6
    assert m.loc["combined", "precision_at_100"] >= 0.15
    assert m.loc["combined", "recall_at_1000"] >= m.loc["combined", "recall_at_100"]
    assert m.loc["combined", "precision_at_1000"] <= m.loc["combined", "precision_at_100"]


def test_rules_alone_are_weaker_than_the_model_but_better_than_chance(evaluation: RiskEvaluation) -> None:
    m = evaluation.metrics
    assert m.loc["model", "base_rate"] * 5 < m.loc["rules", "pr_auc"] < m.loc["model", "pr_auc"]


def test_the_split_is_out_of_time_and_graph_features_are_used(evaluation: RiskEvaluation) -> None:
    assert max(evaluation.train_dates) < min(evaluation.test_dates)
    assert evaluation.model.uses_graph
    importance = evaluation.model.classifier.feature_importance()
    assert importance[list(GRAPH_COLUMNS)].sum() > 0
    assert set(evaluation.test_scores["as_of_date"].astype(str)) == {str(d) for d in TEST}


def test_a_test_date_inside_the_training_window_is_refused(
    duck: Engine, risk_province: Path, cases: pd.DataFrame
) -> None:
    with pytest.raises(YoushuError, match="feature windows would overlap"):
        evaluate_time_split(duck, risk_province, cases, [date(2025, 6, 30)], [date(2025, 7, 15)])


def test_combined_score_never_lowers_the_model_score(evaluation: RiskEvaluation, frame: pd.DataFrame) -> None:
    scored = evaluation.model.score(frame)
    assert (scored["score"] >= scored["model_score"] - 1e-12).all()
    quiet = scored["rule_score"] == 0
    assert (scored.loc[quiet, "score"] == scored.loc[quiet, "model_score"]).all()
    assert scored.loc[~quiet, "rules_hit"].str.len().gt(0).all()
    weak = [r for r, p in evaluation.model.rule_precision.items() if p < MIN_RULE_PRECISION]
    for rule_id in weak:  # weak rules are shown, not counted
        only = scored["rules_hit"] == rule_id
        assert (scored.loc[only, "rule_score"] == 0).all()


def test_classifier_follows_the_scikit_learn_conventions(frame: pd.DataFrame, reported: pd.DataFrame) -> None:
    y = label_accounts(frame["account_id"], frame["as_of_date"], reported).astype(int)
    clf = RiskyAccountClassifier(n_estimators=20)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.predict_proba(frame)
    assert clf.fit(frame[list(FEATURE_COLUMNS)], y) is clf
    assert list(clf.feature_names_in_) == list(FEATURE_COLUMNS)
    p = clf.predict_proba(frame)  # extra columns are ignored, features picked by name
    assert p.shape == (len(frame), 2) and np.allclose(p.sum(axis=1), 1)
    logit = np.log(p[:, 1] / p[:, 0])
    assert np.allclose(clf.contributions(frame).sum(axis=1), logit, atol=1e-6)
    with pytest.raises(YoushuError, match="risky and ordinary"):
        RiskyAccountClassifier().fit(frame[list(FEATURE_COLUMNS)], np.zeros(len(frame)))


def test_training_twice_gives_the_same_model_whatever_the_row_order(
    frame: pd.DataFrame, reported: pd.DataFrame
) -> None:
    y = label_accounts(frame["account_id"], frame["as_of_date"], reported).astype(int)
    a = fit_risk_model(frame, y, n_estimators=30)
    shuffled = np.random.default_rng(0).permutation(len(frame))
    b = fit_risk_model(frame.iloc[shuffled], y[shuffled], n_estimators=30)
    assert np.allclose(a.score(frame)["score"], b.score(frame)["score"])


def test_a_saved_model_scores_the_same_after_loading(
    evaluation: RiskEvaluation, frame: pd.DataFrame, tmp_path: Path
) -> None:
    folder = evaluation.model.save(tmp_path / "model")
    loaded = RiskModel.load(folder)
    before, after = evaluation.model.score(frame), loaded.score(frame)
    assert np.allclose(before["score"], after["score"])
    assert (before["rules_hit"] == after["rules_hit"]).all()
    assert loaded.rule_precision == evaluation.model.rule_precision
    with pytest.raises(YoushuError, match="not a risk model"):
        RiskModel.load(tmp_path)
