"""潜在价值 Potential value: AUM 12 months ahead predicted by LightGBM, trained on observed balances."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from youshu.errors import YoushuError
from youshu.models.encoding import FeatureEncoder
from youshu.models.ivl.config import ValueConfig

__all__ = ["AumRegressor", "align_later_aum", "value_level"]


class AumRegressor(RegressorMixin, BaseEstimator):
    """Predicts a customer's AUM (fen) H days ahead from features as of a date; fits log1p(AUM) by LightGBM.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM hyperparameters.
    random_state : int
        Seed of LightGBM.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> AumRegressor:
        """Fit on a feature table ``X`` (pandas or Arrow) and the AUM in fen observed H days later ``y``."""
        target = np.asarray(y, dtype="float64")
        if len(target) != len(X) or np.isnan(target).any() or (target < 0).any():
            raise YoushuError("AumRegressor.fit needs one non-negative later AUM (fen) per feature row")
        self.encoder_ = FeatureEncoder.learn(X)
        self.feature_names_in_ = np.array(self.encoder_.columns, dtype=object)
        self.model_ = lgb.LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.random_state,
            n_jobs=1,
            verbose=-1,
        ).fit(self.encoder_.transform(X), np.log1p(target))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted AUM in fen, H days after the features' as-of date (>= 0)."""
        check_is_fitted(self, "model_")
        return np.clip(np.expm1(self.model_.predict(self.encoder_.transform(X))), 0.0, None)


def value_level(predicted_aum_fen: np.ndarray, config: ValueConfig) -> np.ndarray:
    """高 / 中 / 低 from predicted AUM (fen) against the cut points in yuan."""
    yuan = np.asarray(predicted_aum_fen, dtype="float64") / 100.0
    levels = config.levels
    return np.where(yuan >= levels.high_yuan, "高", np.where(yuan >= levels.medium_yuan, "中", "低")).astype(
        object
    )


def align_later_aum(features: pd.DataFrame, later: pd.DataFrame) -> np.ndarray:
    """The later ``aum_fen`` of each row of ``features`` (0 for customers absent later)."""
    got = later.set_index("customer_id")["aum_fen"]
    return features["customer_id"].map(got).fillna(0).to_numpy(dtype="float64")
