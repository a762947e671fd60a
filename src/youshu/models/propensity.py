"""PropensityRanker: who is likely to do X soon — LightGBM behind the scikit-learn API, with zh reason codes.

It trains on any feature table (pandas or Arrow; e.g. ``compute_features(...)`` as of T) and 0/1 labels
(e.g. ``label_vector`` of purchases in (T, T+H]), and scores any table with the same columns, so outside
data can be scored too. Text columns are categories, ids and the as-of date are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from youshu import __version__
from youshu.errors import YoushuError
from youshu.models.encoding import DEFAULT_EXCLUDED, FeatureEncoder
from youshu.models.reasons import catalog_specs, top_reasons

__all__ = ["PropensityRanker"]

log = logging.getLogger(__name__)


def _labels(y: Any, rows: int, what: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != rows:
        raise YoushuError(f"{what}: {len(labels)} labels for {rows} feature rows; give one 0/1 label per row")
    if labels.dtype != np.bool_:
        bad = [v for v in pd.unique(labels) if not (v == 0 or v == 1)]
        if bad:
            raise YoushuError(f"{what}: labels must be 0/1 or boolean, found {bad[:5]}")
    labels = labels.astype(np.float64)
    if labels.min() == labels.max():
        raise YoushuError(
            f"{what}: every label is {int(labels[0])}; a propensity needs positives and negatives"
        )
    return labels


class PropensityRanker(ClassifierMixin, BaseEstimator):
    """Ranks entities by the probability of an event in the label window (LightGBM, binary log-loss).

    Parameters
    ----------
    n_estimators : int
        Boosting rounds (an upper bound with early stopping).
    learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda
        LightGBM's ``learning_rate``, ``num_leaves``, ``min_data_in_leaf``, ``bagging_fraction`` (every
        round), ``feature_fraction`` and ``lambda_l2``.
    early_stopping_rounds : int
        With an ``eval_set``, stop when its AUC has not improved for this many rounds and keep the best.
    max_categories : int
        Categories kept per text column (the most frequent); others score as missing.
    exclude : sequence of str
        Columns never used as features (ids, the as-of date).
    entity : str or None
        The feature catalog whose zh names and units the reason codes use (``"customer"``...).
    random_state : int
        Seed of bagging and feature sampling: the same data and seed give the same model.
    n_jobs : int
        LightGBM threads.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    encoder_ : FeatureEncoder
        How the feature table becomes the model's matrix.
    feature_names_in_ : numpy.ndarray
        Feature columns used, in matrix order.
    classes_ : numpy.ndarray
        ``[0, 1]``.
    best_iteration_ : int
        Rounds kept.
    validation_auc_ : float or None
        AUC on the eval set at the kept round.

    Examples
    --------
    >>> ranker = PropensityRanker(entity="customer").fit(X_train, y_train, eval_set=(X_valid, y_valid))  # doctest: +SKIP
    >>> scores = ranker.predict_proba(X_now)[:, 1]  # doctest: +SKIP
    >>> ranker.reason_codes(X_now.head(100))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 30,
        max_categories: int = 100,
        exclude: Sequence[str] = DEFAULT_EXCLUDED,
        entity: str | None = "customer",
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.max_categories = max_categories
        self.exclude = exclude
        self.entity = entity
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "metric": "auc",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.n_jobs,
            "verbose": -1,
        }

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        eval_set: tuple[Any, Any] | None = None,
        sample_weight: Any = None,
    ) -> PropensityRanker:
        """Train on a feature table and 0/1 labels.

        Parameters
        ----------
        X : pandas.DataFrame or pyarrow.Table
            One row per entity; every column but ``exclude`` is a feature.
        y : array-like
            1 when the event happened in the label window.
        eval_set : (X, y), optional
            An out-of-time validation slice (e.g. the split before the test split): early stopping on its AUC.
        sample_weight : array-like, optional
            Row weights.

        Returns
        -------
        PropensityRanker
            ``self``.
        """
        encoder = FeatureEncoder.learn(X, exclude=self.exclude, max_categories=self.max_categories)
        matrix = encoder.transform(X)
        labels = _labels(y, len(matrix), "training")
        categorical = encoder.categorical_indices
        train = lgb.Dataset(
            matrix,
            labels,
            weight=None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64),
            feature_name=[f"f{i}" for i in range(len(encoder.columns))],
            categorical_feature=categorical,
            free_raw_data=True,
        )
        callbacks: list[Any] = []
        valid_sets = []
        if eval_set is not None:
            valid_matrix = encoder.transform(eval_set[0])
            valid_labels = _labels(eval_set[1], len(valid_matrix), "eval_set")
            valid_sets = [lgb.Dataset(valid_matrix, valid_labels, reference=train)]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            self._params(),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        booster.free_dataset()  # keep no training data on the model
        self.encoder_ = encoder
        self.booster_ = booster
        self.feature_names_in_ = np.asarray(encoder.columns, dtype=object)
        self.n_features_in_ = len(encoder.columns)
        self.classes_ = np.array([0, 1])
        self.best_iteration_ = int(booster.best_iteration or booster.current_iteration())
        self.validation_auc_ = float(booster.best_score["valid_0"]["auc"]) if eval_set is not None else None
        self.youshu_version_ = __version__
        log.info(
            "PropensityRanker trained: %d rows, %d features, %d rounds",
            len(matrix),
            len(encoder.columns),
            self.best_iteration_,
        )
        return self

    # -- scoring ---------------------------------------------------------------------------------------
    def transform_features(self, X: Any) -> np.ndarray:
        """The model matrix of a feature table (what the booster and compiled scorers read)."""
        check_is_fitted(self, "booster_")
        return self.encoder_.transform(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of shape (n, 2): column 1 is the probability of the event."""
        p = np.asarray(self.booster_.predict(self.transform_features(X), num_iteration=self.best_iteration_))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """1 where the probability is at least 0.5 (rank with ``predict_proba`` instead for target lists)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def contributions(self, X: Any) -> pd.DataFrame:
        """Per-row contributions of each feature to the log-odds (LightGBM ``pred_contrib``; + ``bias``)."""
        matrix = self.transform_features(X)
        raw = self.booster_.predict(matrix, num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(raw, columns=[*self.encoder_.columns, "bias"])

    def reason_codes(self, X: Any, *, top: int = 3) -> pd.DataFrame:
        """The ``top`` features that raised each row's score most, in zh with values and units.

        Returns
        -------
        pandas.DataFrame
            ``reason_1`` .. ``reason_<top>`` (e.g. ``"近90天转他行理财 ¥52,000"``), with the feature names and
            log-odds contributions, one row per input row in order.
        """
        matrix = self.transform_features(X)
        raw = np.asarray(self.booster_.predict(matrix, num_iteration=self.best_iteration_, pred_contrib=True))
        names = self.encoder_.columns
        encoder = self.encoder_
        return top_reasons(
            raw[:, :-1],
            lambda row, j: encoder.decode(names[j], matrix[row, j]),
            names,
            catalog_specs(self.entity),
            top=top,
        )

    @property
    def feature_importances_(self) -> np.ndarray:
        """Total gain of each feature (in ``feature_names_in_`` order)."""
        check_is_fitted(self, "booster_")
        return np.asarray(self.booster_.feature_importance(importance_type="gain"), dtype=np.float64)

    def importance_frame(self) -> pd.DataFrame:
        """Features by gain share, largest first, with their zh names (for reports)."""
        specs = catalog_specs(self.entity)
        gain = self.feature_importances_
        frame = pd.DataFrame(
            {
                "feature": self.encoder_.columns,
                "zh": [specs[c].zh if c in specs else c for c in self.encoder_.columns],
                "gain_share": gain / gain.sum() if gain.sum() else gain,
            }
        )
        return frame.sort_values("gain_share", ascending=False, kind="stable").reset_index(drop=True)
